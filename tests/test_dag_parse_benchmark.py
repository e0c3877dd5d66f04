"""benchmarks/dag_parse.py: the generated registries are valid, and a small run parses and reports."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from regiowerk.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "dag_parse.py"


def _module():
    spec = importlib.util.spec_from_file_location("dag_parse", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_registry_is_valid_and_distinct(tmp_path):
    ids = _module().generate_registry(12, tmp_path)
    partners = load_registry(tmp_path)
    assert sorted(partners) == sorted(ids) and len(ids) == 12
    file_dirs = [p.delivery_folder() for p in partners.values() if p.connector.type == "file"]
    assert len(file_dirs) == len(set(file_dirs))  # every generated file partner has its own drop folder


def test_readme_block_is_replaced(tmp_path):
    mod = _module()
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{mod.MARK_START}\nold\n{mod.MARK_END}\nafter\n")
    mod.write_readme("| new |", readme)
    assert readme.read_text() == f"before\n{mod.MARK_START}\n| new |\n{mod.MARK_END}\nafter\n"


def test_small_run_measures_parse_time(dbt_manifest):
    done = subprocess.run([sys.executable, str(SCRIPT), "--partners", "2", "--targets", "duckdb", "--repeat", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("BENCH_DAG_PARSE ")
    (row,) = json.loads(last.removeprefix("BENCH_DAG_PARSE "))
    assert row["partners"] == 2 and row["target"] == "duckdb"
    assert row["dags"] == 4  # two partner DAGs, the warehouse DAG and the daily operations DAG
    assert 0 < row["median_s"] < 30
