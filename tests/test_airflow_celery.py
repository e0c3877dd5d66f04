"""`regiowerk airflow up --executor celery`: the scale-out path, for real, on this machine.

PostgreSQL (pgserver, started for this module) holds Airflow's metadata, Celery's results and the warehouse;
Debian's redis-server on 127.0.0.1 is the broker; two `airflow celery worker` processes run beside the scheduler,
api-server and dag-processor. Every partner DAG is triggered over the REST API; the test proves that task
instances ran on BOTH workers (each worker's task processes report the worker's Celery name as their hostname,
and Celery's own `inspect stats` counts the Airflow workloads each worker executed) and that the loads are in the
PostgreSQL warehouse.

Only the triggered runs run: the scheduler's cron and Asset scheduling is off here
(AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=False) and the warehouse DAG (dbt) is paused; the scheduled partner runs and
the Asset-triggered warehouse run are covered on the LocalExecutor deployment by test_airflow_deployment.py, and
this test stays at a few minutes on 2 cores. Teardown stops everything the module started (Airflow, workers,
Redis, PostgreSQL) and asserts that none of it is left; the temporary folder (logs) is kept when a test failed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest
from airflow_fixture import WAREHOUSE_DAG, start_deployment, stop_deployment, trigger_partners, wait_for_dags
from regiowerk import airflow_local
from regiowerk.registry import load_registry
from system_packages import ensure_command

WORKERS = 2
RUN_TIMEOUT = 8 * 60  # the 28 partner tasks: about 2-4 minutes on 2 busy cores


@contextlib.contextmanager
def redis_server(tmp: Path):
    """Debian's redis-server on a free loopback port, no persistence; stopped (SIGTERM, then SIGKILL) on exit."""
    exe = ensure_command("redis-server", "redis-server")  # installed when missing
    port = airflow_local.free_port()
    with (tmp / "redis.log").open("ab") as log:
        proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                 "no", "--dir", str(tmp)], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while not airflow_local._port_open(port):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp / "redis.log").read_text()
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextlib.contextmanager
def postgres_server(tmp: Path):
    """A pgserver of this module's own (unix socket in its data dir), stopped on exit."""
    import pgserver

    data = tmp / "pg"
    data.mkdir()
    data.chmod(0o777)  # as root, pgserver runs PostgreSQL as the system user `pgserver`
    server = pgserver.get_server(data, cleanup_mode="stop")
    try:
        yield server
    finally:
        server.cleanup()


def create_database(server, name: str) -> str:
    conn = psycopg2.connect(server.get_uri())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return server.get_uri(name)


@pytest.fixture(scope="module")
def celery_deployment(request):
    tmp = Path(tempfile.mkdtemp(prefix="regiowerk-celery-"))
    tmp.chmod(0o755)
    leftovers: dict = {}
    failures = request.session.testsfailed
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(postgres_server(tmp))
        leftovers["postgres"] = server.get_pid()
        broker, redis = stack.enter_context(redis_server(tmp))
        leftovers["redis"] = redis.pid
        metadata_url = create_database(server, "airflow")
        warehouse_url = create_database(server, "regiowerk")
        d = start_deployment(tmp, warehouse_url=warehouse_url, executor="celery", metadata_url=metadata_url,
                             broker_url=broker, workers=WORKERS, worker_concurrency=2, parallelism=4,
                             overrides={"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"})
        stack.callback(stop_deployment, d)
        d.extra["broker_url"] = broker
        yield d
    left = {name: pid for name, pid in leftovers.items() if pid and airflow_local.alive(pid)}
    assert not left, f"processes left after teardown: {left}"
    if request.session.testsfailed == failures:
        shutil.rmtree(tmp, ignore_errors=True)  # kept for a look at the logs when something failed


@pytest.fixture(scope="module")
def celery_runs(celery_deployment):
    d = celery_deployment
    deadline = time.monotonic() + RUN_TIMEOUT
    partners = wait_for_dags(d)
    d.patch(f"/dags/{WAREHOUSE_DAG}", {"is_paused": True})  # see the module docstring
    triggered, runs = trigger_partners(d, partners, deadline)
    tis = [t for r in runs
           for t in d.get(f"/dags/{r['dag_id']}/dagRuns/{r['dag_run_id']}/taskInstances", limit=200)["task_instances"]]
    return {"partners": partners, "triggered": triggered, "runs": runs, "task_instances": tis}


def test_celery_deployment_is_up(celery_deployment):
    d = celery_deployment
    state = d.state
    assert state["executor"] == "CeleryExecutor"
    assert state["metadata_db"].startswith("postgresql+psycopg2://")
    assert state["broker"].startswith("redis://127.0.0.1:")
    workers = [f"{airflow_local.WORKER_PREFIX}{i}" for i in range(1, WORKERS + 1)]
    assert set(airflow_local.COMPONENTS) | set(workers) <= set(state["processes"]), state["processes"]
    for name, entry in state["processes"].items():
        assert airflow_local.alive(entry["pid"]), name
    assert len(set(state["workers"])) == WORKERS and all(w.startswith("worker") for w in state["workers"])
    health = airflow_local.health(d.url)
    for component in ("metadatabase", "scheduler", "dag_processor"):
        assert health[component]["status"] == "healthy", health
    lines: list[str] = []
    result = airflow_local.status(d.home, out=lines.append)  # the broker URL has no password: read from the state
    assert result["celery"] == {w: True for w in state["workers"]}, lines
    assert all(result[name] for name in state["processes"]), lines


def test_partner_tasks_ran_on_both_celery_workers(celery_deployment, celery_runs):
    d = celery_deployment
    expected = {p.dag_id for p in load_registry().values()}
    assert set(celery_runs["partners"]) == expected
    runs = celery_runs["runs"]
    assert sorted(r["dag_id"] for r in runs) == sorted(expected), "one triggered run per partner, nothing scheduled"
    assert all(r["state"] == "success" and r["dag_run_id"] in celery_runs["triggered"].values() for r in runs), runs
    tis = celery_runs["task_instances"]
    assert tis and all(t["state"] == "success" for t in tis), [(t["task_id"], t["state"]) for t in tis]
    # the hostname each task process reported: its Celery worker's name (regiowerk.airflow_local
    # .celery_worker_hostname), never the machine name shared by all workers
    by_worker: dict[str, int] = {}
    for t in tis:
        by_worker[t["hostname"]] = by_worker.get(t["hostname"], 0) + 1
    assert set(by_worker) == set(d.state["workers"]), by_worker
    # Celery's own account (remote control `inspect stats`): the Airflow workloads each worker executed
    stats = airflow_local.celery_inspect(d.extra["broker_url"], "stats", d.state["workers"], timeout=5)
    received = {name: sum(n for task, n in (stats.get(name) or {}).get("total", {}).items()
                          if "execute_workload" in task) for name in d.state["workers"]}
    # each task instance's last try ran on the worker it names (earlier tries or a re-queue may add to a count)
    assert all(received[w] >= by_worker[w] > 0 for w in d.state["workers"]), (received, by_worker)
    print(f"\ntask instances per worker: {by_worker}; celery tasks received: {received}; timings: {d.timings}")


def test_loads_are_in_the_postgres_warehouse(celery_deployment, celery_runs):
    conn = psycopg2.connect(celery_deployment.warehouse)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT partner_id, dataset, sum(rows_loaded) FROM audit.deliveries "
                        "WHERE status = 'loaded' GROUP BY 1, 2")
            loaded = cur.fetchall()
            cur.execute("SELECT count(*) FROM raw.werkzoekenden")
            werkzoekenden = cur.fetchone()[0]
    finally:
        conn.close()
    expected = {(p.partner_id, ds) for p in load_registry().values() for ds in p.datasets}
    assert {(p, ds) for p, ds, _ in loaded} == expected
    assert all(n > 0 for _, _, n in loaded), loaded
    assert werkzoekenden > 0
    assert not os.path.exists(Path(celery_deployment.tmp) / "warehouse" / "regiowerk.duckdb"), \
        "the loads went into DuckDB instead of PostgreSQL"
