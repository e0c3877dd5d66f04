"""DAG file parse time with many partners: how long Airflow takes to parse ``dags/`` (one DAG per partner plus the
warehouse DAG rendered by Cosmos from the pre-built dbt manifest).

    uv run python benchmarks/dag_parse.py                              # 5 and 100 partners, both dbt targets
    uv run python benchmarks/dag_parse.py --partners 5,100 --repeat 3 --write-readme

For every partner count a temporary registry is generated from the demo partners in ``partners/`` as templates
(copies with a numbered ``partner_id``; file partners also get their own drop folder), and ``REGIOWERK_PARTNERS_DIR``
points at it. Each repetition is a fresh child process (as the DAG processor parses a file in a fresh process):
it imports Airflow, then times ``DagBag(dags/)`` alone; that includes importing regiowerk and Cosmos and building
every DAG. The median of the repetitions is reported. ``target/manifest.json`` must exist
(``regiowerk dbt-manifest``).

``--write-readme`` replaces the block between ``<!-- dag-parse:start -->`` and ``<!-- dag-parse:end -->`` in
README.md with the table. The last line of the output is ``BENCH_DAG_PARSE <json>``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARK_START, MARK_END = "<!-- dag-parse:start -->", "<!-- dag-parse:end -->"
RESULT_PREFIX = "BENCH_DAG_PARSE "

_CHILD = textwrap.dedent("""
    import json, time
    from regiowerk import airflow_env
    airflow_env.configure()
    from airflow.dag_processing.dagbag import DagBag
    from regiowerk.settings import paths
    started = time.perf_counter()
    bag = DagBag(dag_folder=str(paths().dags))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "dags": len(bag.dag_ids),
                      "tasks": sum(len(d.tasks) for d in bag.dags.values()),
                      "errors": {str(k): str(v)[-500:] for k, v in bag.import_errors.items()}}))
""")


def generate_registry(n: int, out: Path, templates: Path = ROOT / "partners") -> list[str]:
    """Write ``n`` partner files into ``out``, cycling through the template partners; returns the partner ids."""
    files = sorted(templates.glob("*.yml"))
    if not files:
        raise SystemExit(f"no partner templates in {templates}")
    out.mkdir(parents=True, exist_ok=True)
    ids = []
    for i in range(n):
        data = yaml.safe_load(files[i % len(files)].read_text(encoding="utf-8"))
        pid = f"{data['partner_id']}_{i:03d}"
        data["partner_id"] = pid
        if data["connector"]["type"] == "file":
            data["connector"]["directory"] = pid
        (out / f"{pid}.yml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        ids.append(pid)
    return ids


def parse_once(partners_dir: Path, target: str, airflow_home: Path) -> dict:
    # the warehouse URL decides the dbt target; parsing never connects, so any PostgreSQL URL will do
    env = {**os.environ, "REGIOWERK_PARTNERS_DIR": str(partners_dir), "AIRFLOW_HOME": str(airflow_home)}
    env.pop("REGIOWERK_DBT_TARGET", None)
    env.pop("REGIOWERK_WAREHOUSE_URL", None)
    if target == "postgres":
        env["REGIOWERK_WAREHOUSE_URL"] = "postgresql://regiowerk@localhost:5432/regiowerk"
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"parsing dags/ with {partners_dir} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["errors"]:
        raise SystemExit(f"DAG import errors with {partners_dir}: {result['errors']}")
    return result


def measure(partner_counts: list[int], targets: list[str], repeat: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="regiowerk-dag-parse-") as tmp:
        for n in partner_counts:
            registry = Path(tmp) / f"partners_{n}"
            generate_registry(n, registry)
            for target in targets:
                runs = [parse_once(registry, target, Path(tmp) / "airflow") for _ in range(repeat)]
                rows.append({"partners": n, "target": target, "dags": runs[0]["dags"], "tasks": runs[0]["tasks"],
                             "median_s": round(statistics.median(r["seconds"] for r in runs), 2),
                             "runs_s": [round(r["seconds"], 2) for r in runs]})
                print(f"{n:>4} partners  {target:<8}  {rows[-1]['dags']:>4} DAGs  {rows[-1]['tasks']:>5} tasks  "
                      f"median {rows[-1]['median_s']:.2f} s  (runs: {rows[-1]['runs_s']})", flush=True)
    return rows


def markdown(rows: list[dict], repeat: int) -> str:
    lines = [f"| partners | dbt target | DAGs | tasks | parse time (median of {repeat}) |",
             "|---:|---|---:|---:|---:|"]
    lines += [f"| {r['partners']} | {r['target']} | {r['dags']} | {r['tasks']} | {r['median_s']:.2f} s |" for r in rows]
    return "\n".join(lines)


def write_readme(table: str, readme: Path = README) -> None:
    text = readme.read_text(encoding="utf-8")
    if MARK_START not in text or MARK_END not in text:
        raise SystemExit(f"{readme}: markers {MARK_START} / {MARK_END} not found")
    head, rest = text.split(MARK_START, 1)
    _, tail = rest.split(MARK_END, 1)
    readme.write_text(f"{head}{MARK_START}\n{table}\n{MARK_END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--partners", default="5,100", help="comma-separated partner counts (default 5,100)")
    ap.add_argument("--targets", default="duckdb,postgres", help="dbt targets to render (default duckdb,postgres)")
    ap.add_argument("--repeat", type=int, default=3, help="fresh-process parses per point; the median is kept")
    ap.add_argument("--write-readme", action="store_true", help="write the table into README.md between markers")
    args = ap.parse_args(argv)
    counts = [int(x) for x in args.partners.split(",") if x.strip()]
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    rows = measure(counts, targets, max(1, args.repeat))
    table = markdown(rows, max(1, args.repeat))
    print(table)
    if args.write_readme:
        write_readme(table)
    print(RESULT_PREFIX + json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
