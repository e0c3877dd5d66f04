"""Peak memory of ``regiowerk check`` on a big CSV export (issue 15: at most 1.5 GB for 2M rows).

Generates a gemeente export of ``--rows`` rows (default 2,000,000; about 175 MB: BSN, name, street address,
gemeente, postcode, birth date, regeling, status, peildatum, hours), writes a partner file for it into a temporary
partners folder, runs ``regiowerk check`` on it in a fresh process and measures that process's peak resident set
size (``ru_maxrss`` of that process, from ``wait4``). ``--pipeline`` also runs the four pipeline stages on it,
each in its own process as under Airflow, and reports their peaks. Every 500th row carries a defect (unknown
code), so the check reports problems as it would for a real export. Writes ``benchmarks/check_memory.md`` with
the result unless ``--no-write``.

    uv run python benchmarks/check_memory.py [--rows N] [--pipeline] [--keep DIR]

Not a timed test: it takes several minutes on two shared cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LIMIT_BYTES = 1.5 * 1024**3
PARTNER = {
    "partner_id": "bench_gemeente", "naam": "Benchmark gemeente", "kind": "gemeente", "regio_code": "AM21",
    "gemeente_code": "GM0503", "contact": "bench@example.org", "schedule": "0 7 * * *",
    "connector": {"type": "file", "format": "csv", "delimiter": ";", "decimal": ","},
    "datasets": {"werkzoekenden": {
        "source": "clienten_*.csv", "ignore_columns": ["naam", "adres"],
        "columns": {"bsn": "bsn", "gemeente_code": "gemeente", "postcode": "postcode",
                    "geboortedatum": "geboortedatum", "regeling": "regeling", "status": "status",
                    "peildatum": "peildatum", "uren_beschikbaar_per_week": "uren"},
        "values": {"regeling": {"PW": "participatiewet", "IOAW": "ioaw", "IOAZ": "ioaz"},
                   "status": {"actief": "actief", "uit": "uitgestroomd"}}}},
}
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)
_STREETS = ("Oude Delft", "Voorstraat", "Papenstraat", "Hippolytusbuurt", "Koornmarkt", "Phoenixstraat",
            "Westvest", "Zuidwal", "Buitenwatersloot", "Krakeelpolderweg")
_NAMES = ("de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos")


def _bsns(n: int, rng: random.Random):
    """``n`` distinct BSNs passing the elfproef (9 digits)."""
    seen: set[int] = set()
    while len(seen) < n:
        stem = rng.randrange(10_000_000, 99_999_999)
        digits = [int(c) for c in f"{stem:08d}"]
        total = sum(w * d for w, d in zip(_WEIGHTS, digits, strict=False))
        last = total % 11
        if last > 9:
            continue
        value = stem * 10 + last
        if value not in seen:
            seen.add(value)
            yield f"{value:09d}"


def write_export(path: Path, rows: int, seed: int = 15) -> int:
    rng = random.Random(seed)
    start = dt.date(1950, 1, 1).toordinal()
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("bsn;naam;adres;gemeente;postcode;geboortedatum;regeling;status;peildatum;uren\n")
        for i, bsn in enumerate(_bsns(rows, rng)):
            birth = dt.date.fromordinal(start + rng.randrange(0, 20_000)).isoformat()
            regeling = "XX" if i % 500 == 0 else rng.choice(("PW", "PW", "PW", "IOAW", "IOAZ"))
            f.write(f"{bsn};{rng.choice('ABCDEFGHJKLMNPRSTW')}. {rng.choice(_NAMES)};"
                    f"{rng.choice(_STREETS)} {rng.randrange(1, 250)}{rng.choice(('', 'a', 'b', '-2'))};GM0503;"
                    f"{rng.randrange(2611, 2629)}{rng.choice('ABCDEFGHJK')}{rng.choice('ABCDEFGHJK')};{birth};"
                    f"{regeling};{rng.choice(('actief', 'actief', 'uit'))};2026-10-31;"
                    f"{rng.randrange(0, 40)},{rng.choice('05')}\n")
    return path.stat().st_size


def run_measured(cmd: list[str], env: dict) -> tuple[int, str, str, int]:
    """Run ``cmd``; (exit code, stdout, stderr, peak RSS in bytes of that process alone, from wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read(), usage.ru_maxrss * 1024  # KiB on Linux


def measure(rows: int, work: Path, pipeline: bool = False) -> dict:
    partners = work / "partners"
    partners.mkdir(parents=True, exist_ok=True)
    (partners / "bench_gemeente.yml").write_text(yaml.safe_dump(PARTNER, sort_keys=False), encoding="utf-8")
    export = work / "clienten_2026-10-31.csv"
    started = time.perf_counter()
    size = write_export(export, rows)
    generated = time.perf_counter() - started
    env = {**os.environ, "REGIOWERK_PARTNERS_DIR": str(partners), "REGIOWERK_DATA_DIR": str(work / "data"),
           "REGIOWERK_WAREHOUSE": str(work / "warehouse.duckdb")}
    started = time.perf_counter()
    code, stdout, stderr, peak = run_measured(
        [sys.executable, "-m", "regiowerk.cli", "check", str(export), "--partner", "bench_gemeente"], env)
    seconds = time.perf_counter() - started
    result = {"rows": rows, "file_bytes": size, "generate_seconds": round(generated, 1),
            "check_seconds": round(seconds, 1), "exit_code": code, "peak_rss_bytes": peak,
            "stdout": stdout, "stderr": stderr[-2000:], "pipeline": []}
    if pipeline:
        result["pipeline"] = measure_pipeline(work, env)
    return result


_STAGE = """
import json, sys
from regiowerk import pipeline
stage, arg = sys.argv[1], sys.argv[2]
if stage == "extract":
    out = pipeline.extract("bench_gemeente", "werkzoekenden")
else:
    out = getattr(pipeline, stage)(json.loads(arg))
print(json.dumps(out, default=str))
"""


def measure_pipeline(work: Path, env: dict) -> list[tuple[str, int, float]]:
    """The four pipeline stages, each in a fresh process as Airflow runs each task: (stage, peak RSS, seconds)."""
    drop = work / "drop" / "bench_gemeente"
    drop.mkdir(parents=True, exist_ok=True)
    (drop / "clienten_2026-10-31.csv").unlink(missing_ok=True)
    os.link(work / "clienten_2026-10-31.csv", drop / "clienten_2026-10-31.csv")
    env = {**env, "REGIOWERK_DROP_DIR": str(work / "drop")}
    out, stages = "", []
    for stage in ("extract", "pseudonymise", "validate", "load"):
        started = time.perf_counter()
        code, stdout, stderr, peak = run_measured([sys.executable, "-c", _STAGE, stage, out], env)
        if code:
            raise RuntimeError(f"{stage} failed: {stderr[-2000:]}")
        out = stdout.strip().splitlines()[-1]
        stages.append((stage, peak, round(time.perf_counter() - started, 1)))
    return stages


def report(result: dict) -> str:
    gb = result["peak_rss_bytes"] / 1024**3
    verdict = "met" if result["peak_rss_bytes"] <= LIMIT_BYTES else "missed"
    summary = "\n".join(line for line in result["stdout"].splitlines()[:8])
    return "\n".join([
        "# `regiowerk check` on a big CSV: peak memory",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with `uv run python benchmarks/check_memory.py"
        f"{'' if result['rows'] == 2_000_000 else ' --rows ' + str(result['rows'])}` "
        f"({platform.python_version()}, {os.cpu_count()} cores, shared with other work).",
        "",
        "| rows | file | peak RSS of `regiowerk check` | target <= 1.5 GB | check time | exit code |",
        "|---:|---:|---:|---|---:|---:|",
        f"| {result['rows']:,} | {result['file_bytes'] / 1024**2:.0f} MB | {gb:.2f} GB | {verdict} | "
        f"{result['check_seconds']:.0f} s | {result['exit_code']} |",
        "",
        *(["Pipeline stages, each in a fresh process as under Airflow (peak RSS of that process): "
           + ", ".join(f"{stage} {peak / 1024**3:.2f} GB ({sec:.0f} s)" for stage, peak, sec in result["pipeline"]),
           ""] if result["pipeline"] else []),
        "Terminal summary of the check (first lines):",
        "",
        "```",
        summary,
        "```",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--pipeline", action="store_true",
                        help="also run extract, pseudonymise, validate and load on the export (one process each)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep the export")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write benchmarks/check_memory.md")
    args = parser.parse_args(argv)
    if args.keep:
        result = measure(args.rows, args.keep, args.pipeline)
    else:
        with tempfile.TemporaryDirectory(prefix="regiowerk-check-memory-") as tmp:
            result = measure(args.rows, Path(tmp), args.pipeline)
    text = report(result)
    print(text)
    if result["exit_code"] not in (0, 1):
        print(result["stderr"], file=sys.stderr)
    if not args.no_write:
        (ROOT / "benchmarks" / "check_memory.md").write_text(text, encoding="utf-8")
    return 0 if result["peak_rss_bytes"] <= LIMIT_BYTES and result["exit_code"] in (0, 1) else 1


if __name__ == "__main__":
    raise SystemExit(main())
