"""A delivery loads in one transaction: a process killed halfway through the load leaves no trace of it,
and loading it again afterwards gives the same warehouse as loading it once."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import duckdb
import pytest

STAGE_SCRIPT = textwrap.dedent("""
    import json, sys
    from regiowerk.demo.generate import generate_demo
    from regiowerk.settings import paths
    from regiowerk import pipeline
    generate_demo(paths().drop, paths().data / "demo" / "sis.sqlite")
    d = pipeline.validate(pipeline.pseudonymise(pipeline.extract("gemeente_den_haag", "werkzoekenden")))
    json.dump(d, open(sys.argv[1], "w"))
""")

KILL_SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    from regiowerk import pipeline, warehouse

    class KillHalfway:
        '''A connection that dies (SIGKILL, no clean-up) once the raw rows are inserted, mid-transaction.'''
        def __init__(self, con):
            self.con = con
        def execute(self, sql, *args):
            if sql.startswith("INSERT INTO audit.quarantine"):
                os.kill(os.getpid(), signal.SIGKILL)
            return self.con.execute(sql, *args)
        def __getattr__(self, name):
            return getattr(self.con, name)

    d = json.load(open(sys.argv[1]))
    pipeline.load(d, con=KillHalfway(warehouse.connect()))
""")

LOAD_SCRIPT = textwrap.dedent("""
    import json, sys
    from regiowerk import pipeline
    print(json.dumps(pipeline.load(json.load(open(sys.argv[1])))))
""")


def _run(script, arg, env):
    return subprocess.run([sys.executable, "-c", script, str(arg)], env=env, capture_output=True, text=True,
                          timeout=300)


def _counts(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("raw.werkzoekenden", "audit.quarantine", "audit.deliveries")}
    finally:
        con.close()


@pytest.fixture
def env(tmp_path):
    e = os.environ.copy()
    e["REGIOWERK_DATA_DIR"] = str(tmp_path / "data")
    e["REGIOWERK_WAREHOUSE"] = str(tmp_path / "wh.duckdb")
    return e


def test_killed_load_leaves_no_trace_and_rerun_equals_single_run(env, tmp_path):
    delivery = tmp_path / "delivery.json"
    done = _run(STAGE_SCRIPT, delivery, env)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = json.loads(delivery.read_text())
    assert expected["rows_loaded"] > 0 and expected["rows_quarantined"] > 0

    killed = _run(KILL_SCRIPT, delivery, env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert _counts(tmp_path / "wh.duckdb") == {"raw.werkzoekenden": 0, "audit.quarantine": 0,
                                               "audit.deliveries": 0}

    first = _run(LOAD_SCRIPT, delivery, env)
    assert first.returncode == 0, first.stderr[-2000:]
    after_one = _counts(tmp_path / "wh.duckdb")
    assert after_one == {"raw.werkzoekenden": expected["rows_loaded"],
                         "audit.quarantine": expected["rows_quarantined"], "audit.deliveries": 1}
    second = _run(LOAD_SCRIPT, delivery, env)
    assert json.loads(second.stdout.strip().splitlines()[-1])["status"] == "already_loaded"
    assert _counts(tmp_path / "wh.duckdb") == after_one
