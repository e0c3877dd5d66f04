"""`regiowerk demo` fails at once with the failing task's error: no retries, no production retry delays."""

import time

import pytest
from regiowerk import airflow_env
from regiowerk.demo.run import DemoFailed, run_dags

pytestmark = pytest.mark.integration  # runs a real partner DAG with dag.test()

DAG_ID = "partner_gemeente_delft"


def test_a_failing_task_stops_the_demo_with_its_error_without_retry_delays(monkeypatch, tmp_path, dbt_manifest):
    # an empty drop zone: the partner's extract fails (no file delivered); in production it would retry twice,
    # 5 minutes and more apart
    monkeypatch.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("REGIOWERK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIOWERK_WAREHOUSE", str(tmp_path / "w.duckdb"))
    airflow_env.migrate_metadata_db()
    started = time.monotonic()
    with pytest.raises(DemoFailed) as e:
        run_dags([DAG_ID, "regiowerk_warehouse"], progress=lambda _: None)
    assert time.monotonic() - started < 240  # one retry alone would have waited 5 minutes
    message = str(e.value)
    assert message.startswith(f"demo stopped: task werkzoekenden.extract of DAG {DAG_ID} failed: DeliveryError")
    assert "partner gemeente_delft, dataset werkzoekenden" in message  # the task's own error
    from regiowerk import warehouse

    con = warehouse.connect(read_only=True)
    try:  # one try: one rejection recorded, and the demo did not go on to the warehouse DAG
        assert con.execute("SELECT count(*) FROM audit.deliveries WHERE status = 'rejected'").fetchone()[0] == 1
    finally:
        con.close()
