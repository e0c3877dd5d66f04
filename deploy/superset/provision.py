"""Provision Superset with regiowerk's dashboards: import a bundle (idempotent: same UUIDs, overwritten) and point
the ``regiowerk`` database at the warehouse. Runs inside the Superset environment (deploy/superset), locally from
``regiowerk bi up`` and in docker-compose's ``superset-init``.

    python provision.py BUNDLE.zip [--admin USERNAME]

The warehouse URI comes from the environment (REGIOWERK_BI_DATABASE_URI), so a password never lands in the bundle
or on a command line; without it, the URI in the bundle stays.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import zipfile


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("bundle")
    parser.add_argument("--admin", default="admin")
    args = parser.parse_args()

    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from flask import g
        from superset import db, security_manager
        from superset.commands.chart.importers.v1 import ImportChartsCommand
        from superset.commands.dashboard.importers.v1 import ImportDashboardsCommand
        from superset.commands.dataset.importers.v1 import ImportDatasetsCommand
        from superset.commands.importers.v1.utils import get_contents_from_bundle
        from superset.models.core import Database

        g.user = security_manager.find_user(username=args.admin)
        if g.user is None:
            print(f"provision: no Superset user {args.admin!r}", file=sys.stderr)
            return 1
        with zipfile.ZipFile(args.bundle) as bundle:
            contents = get_contents_from_bundle(bundle)
        # a dashboard import never overwrites its charts and datasets: import each kind with overwrite, so a
        # changed definition replaces the old one (same UUID) and nothing is duplicated
        for command, kind in ((ImportDatasetsCommand, "SqlaTable"), (ImportChartsCommand, "Slice"),
                              (ImportDashboardsCommand, "Dashboard")):
            typed = dict(contents, **{"metadata.yaml": re.sub(r"(?m)^type: .*$", f"type: {kind}",
                                                               contents["metadata.yaml"])})
            command(typed, overwrite=True).run()
        uri = os.environ.get("REGIOWERK_BI_DATABASE_URI")
        if uri:
            database = db.session.query(Database).filter_by(database_name="regiowerk").one()
            database.set_sqlalchemy_uri(uri)
            db.session.commit()
        dashboards = sum(1 for name in contents if name.startswith("dashboards/"))
        print(f"provision: {dashboards} dashboard(s) imported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
