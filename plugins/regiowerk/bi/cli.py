"""``regiowerk bi up|down|check``: the region's dashboards in Apache Superset (see :mod:`regiowerk.bi`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _up(args: argparse.Namespace) -> int:
    from regiowerk.bi import server

    s = server.up(args.port)
    print(f"Superset: {s.url}  (login {s.user} / {s.password})")
    print(f"  reads {s.source.display} ({len(s.source.tables)} bi views)")
    for slug, title in sorted(s.dashboards.items()):
        print(f"  {title}: {s.url}/superset/dashboard/{slug}/")
    print("  stop with: uv run regiowerk bi down")
    return 0


def _down(args: argparse.Namespace) -> int:
    from regiowerk.bi import server

    print("Superset stopped" if server.down() else "Superset was not running")
    return 0


def _check(args: argparse.Namespace) -> int:
    from regiowerk.bi import check, server

    h = server.home()
    url_file = h / "superset.url"
    if server._pid(h) is None or not url_file.exists():
        print("bi check: Superset is not running; start it with `uv run regiowerk bi up`")
        return 2
    results = check.check(url_file.read_text().strip(), server.ADMIN, server.admin_password(), Path(args.out))
    failed = 0
    for r in results:
        state = "ok" if not r.problems else "FAILED"
        print(f"{state:<7} {r.title} ({r.charts} charts) -> {r.png}")
        for p in r.problems:
            print(f"        {p}")
        failed += bool(r.problems)
    if not results:
        print("bi check: no dashboards")
        return 1
    return 1 if failed else 0


def _bundle(args: argparse.Namespace) -> int:
    from regiowerk.bi import bundle, server

    src = server.bi_source(server.home())
    defs = bundle.build_bundle(Path(args.out), src.display, src.tables, engine=src.engine)
    print(f"{args.out}: {len(defs.dashboards)} dashboard(s), {len(defs.charts)} chart(s) over {src.display}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("bi", help="the dashboards in Apache Superset: up, down, check",
                       description="Apache Superset over the suppressed bi views, dashboards from deploy/superset/.")
    bsub = p.add_subparsers(dest="bi_command", required=True)
    up = bsub.add_parser("up", help="start Superset on 127.0.0.1 and import the dashboards (again: refresh)")
    up.add_argument("--port", type=int, default=8088)
    up.set_defaults(func=_up)
    down = bsub.add_parser("down", help="stop the Superset that `bi up` started")
    down.set_defaults(func=_down)
    chk = bsub.add_parser("check", help="open every dashboard in headless Chromium, one PNG each; exit 1 on a "
                                        "chart with an error or no data")
    chk.add_argument("--out", default="bi-check", help="folder for the PNGs (default: bi-check)")
    chk.set_defaults(func=_check)
    bun = bsub.add_parser("bundle", help="write the dashboards' import ZIP for the configured warehouse (what "
                                         "docker-compose's superset-init imports)")
    bun.add_argument("--out", required=True)
    bun.set_defaults(func=_bundle)
