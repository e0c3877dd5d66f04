"""The national generator (tiny scale) and benchmarks/run.py at tiny scale, in a subprocess with isolated paths.

The benchmark is run with ``--skip-dbt`` so the test stays well under a minute on 2 shared cores (dbt build
alone takes ~50 s there); dbt is part of the benchmark proper (``benchmarks/run.py --scales tiny,region``).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
from regiowerk.demo.national import NationalSources, generate
from regiowerk.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
TOOLING_LINE = re.compile(r"^ratio_pipeline_to_floor=(\S+) ratio_naive_to_floor=(\S+) seconds_pipeline=(\S+) "
                          r"peak_rss_mb=(\S+)$")


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def test_generator_is_deterministic_and_partners_are_valid(tmp_path):
    a = generate("tiny", tmp_path / "a")
    b = generate("tiny", tmp_path / "b")
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert a.expected == b.expected
    generate("tiny", tmp_path / "c", seed=36)
    assert _digests(tmp_path / "a") != _digests(tmp_path / "c")

    assert a.rows == {"werkzoekenden": 1200, "vacatures": 400, "mbo_inschrijvingen": 300, "mbo_diplomas": 100}
    partners = load_registry(Path(a.partners_dir))
    assert set(partners) == set(a.expected)
    assert {p.regio_code for p in partners.values()} == {"AM20", "AM35"}
    assert {a.layouts[p] for p in a.gemeente_files} <= {"den_haag", "delft", "westland"}
    for pid, datasets in a.expected.items():
        for ds, e in datasets.items():
            assert e["defect_rows"] >= 5 and e["defect_rows"] < e["rows"] * 0.2, (pid, ds)
    assert NationalSources.load(tmp_path / "a").expected == a.expected


def test_benchmark_tiny(tmp_path):
    env = dict(os.environ)
    env.update({
        "REGIOWERK_DATA_DIR": str(tmp_path / "data"),
        "REGIOWERK_WAREHOUSE": str(tmp_path / "warehouse" / "bench.duckdb"),
        "REGIOWERK_PARTNERS_DIR": str(tmp_path / "partners"),
        "REGIOWERK_DROP_DIR": str(tmp_path / "drop"),
    })
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--scale", "tiny", "--skip-dbt",
         "--workers", "2", "--workdir", str(tmp_path / "work")],
        env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    m = TOOLING_LINE.match(last)
    assert m, last
    assert all(float(x) > 0 for x in m.groups()), last

    # the pipeline wrote where the environment said
    assert any((tmp_path / "partners").glob("gemeente_*.yml"))
    assert any((tmp_path / "drop").iterdir())
    con = duckdb.connect(str(tmp_path / "warehouse" / "bench.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT delivery_id, status, rows_received, rows_loaded, rows_quarantined "
                           "FROM audit.deliveries").fetchall()
    finally:
        con.close()
    src = NationalSources.load(tmp_path / "work" / "tiny" / "sources")
    assert len(rows) == len(src.deliveries()) == 15
    for delivery_id, status, received, loaded, quarantined in rows:
        assert status == "loaded", delivery_id
        assert received == loaded + quarantined, delivery_id
        assert quarantined > 0, delivery_id  # every delivery carries defects
    assert sum(r[2] for r in rows) == src.total_rows


def _bench_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_typical_day_changes_one_percent_of_rows_in_ten_percent_of_feeds(tmp_path):
    import json
    import math

    from regiowerk.connectors.file import read_delivery_file

    bench = _bench_module()
    src = generate("tiny", tmp_path / "src")
    partners = load_registry(Path(src.partners_dir))
    files = {pid: Path(p) for pid, p in {**src.gemeente_files, **src.uwv_files, **src.sis_dbs}.items()}
    before = {pid: p.read_bytes() for pid, p in files.items()}
    frames = {pid: read_delivery_file(partners[pid], "werkzoekenden", p).frame
              for pid, p in src.gemeente_files.items() if partners[pid].connector.format == "csv"}

    changed = bench.change_feeds(src, seed=1)
    assert len(changed) == math.ceil(len(src.deliveries()) * bench.DAY_FEED_SHARE) == 2
    touched = {c.split(".")[0] for c in changed}
    for pid, path in files.items():  # every other feed is delivered again byte for byte
        assert (path.read_bytes() == before[pid]) == (pid not in touched), pid
    for feed in changed:
        pid, dataset = feed.split(".")
        if pid in frames:  # a changed CSV still reads the same way, with a few rows different
            new = read_delivery_file(partners[pid], dataset, files[pid]).frame
            assert new.shape == frames[pid].shape
            diff = (new.fillna("") != frames[pid].fillna("")).any(axis=1).sum()
            assert 1 <= diff <= math.ceil(len(new) * bench.DAY_ROW_SHARE) + 1
        else:
            old = json.loads(before[pid])[partners[pid].datasets[dataset].source]
            new = json.loads(files[pid].read_text(encoding="utf-8"))[partners[pid].datasets[dataset].source]
            changed = sum(a != b for a, b in zip(old, new, strict=True))
            assert len(old) == len(new) and 1 <= changed <= math.ceil(len(new) / 100) + 1
