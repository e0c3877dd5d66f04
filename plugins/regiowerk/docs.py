"""``regiowerk docs [--out DIR] [--serve]``: dbt's documentation site, lineage from the partner sources to the
dashboards (the exposures in ``dbt_project/models/exposures.yml`` point at the Superset dashboards' URLs,
``REGIOWERK_BI_URL``, default the local ``regiowerk bi up``).

``dbt docs generate`` runs with a target path of its own (the manifest the DAG files render from stays as it
is) and needs the warehouse for the catalog (column types, row counts): run it after ``regiowerk demo``. The
folder holds ``index.html`` with ``manifest.json`` and ``catalog.json`` (served: ``--serve``) and
``static_index.html`` (everything in one file, opens without a server).
"""

from __future__ import annotations

import argparse
import functools
import shutil
import tempfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SITE_FILES = ("index.html", "manifest.json", "catalog.json", "static_index.html")


def build(out: Path) -> Path:
    from regiowerk.dbt_runner import run_dbt

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="regiowerk-docs-") as target:
        run_dbt(["docs", "generate", "--static", "--target-path", target])
        for name in SITE_FILES:
            shutil.copy2(Path(target) / name, out / name)
    return out


def server(folder: Path, port: int = 8080) -> ThreadingHTTPServer:
    """An HTTP server for ``folder`` on 127.0.0.1 (port 0: any free port); call ``serve_forever()``."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Quiet, directory=str(folder)))


def _cmd(args: argparse.Namespace) -> int:
    out = build(Path(args.out))
    print(f"dbt docs written to {out}/ (open {out / 'static_index.html'} directly, or serve it with --serve)")
    if args.serve:
        httpd = server(out, args.port)
        print(f"serving on http://127.0.0.1:{httpd.server_address[1]}/ (Ctrl-C stops)")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            httpd.server_close()
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("docs", help="build dbt's documentation site (lineage up to the dashboards) into a folder",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="docs/site", help="folder for the site (default: docs/site)")
    p.add_argument("--serve", action="store_true", help="serve the folder on 127.0.0.1 afterwards")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(func=_cmd)
