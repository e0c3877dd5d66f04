"""Helpers of the real local Airflow deployment the deployment tests share (the fixtures ``airflow_deployment`` and
``airflow_runs`` live in tests/conftest.py and use these).

``start_deployment`` runs ``regiowerk airflow up --demo`` in a temporary AIRFLOW_HOME / data dir / warehouse
(all-admins UI, so a headless browser needs no login); ``trigger_and_wait`` triggers every partner DAG through the
REST API and waits for the Asset-triggered warehouse run; ``stop_deployment`` runs ``down()`` and asserts that no
process it started is left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests
from regiowerk import airflow_local

PARTNER_PREFIX = "partner_"
WAREHOUSE_DAG = "regiowerk_warehouse"
RUN_TIMEOUT = 12 * 60  # scheduled + triggered partner runs and the warehouse runs, on a busy 2-core machine
FINAL = ("success", "failed")


@dataclass
class Deployment:
    url: str
    home: Path
    data: Path
    warehouse: Path | str  # the DuckDB file, or the PostgreSQL warehouse URL
    tmp: Path
    state: dict
    password: str
    token: str = ""
    runs: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # what a test module adds (e.g. the Celery broker URL)

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def _request(self, method: str, path: str, **kwargs) -> dict:
        for attempt in range(5):  # a busy SQLite metadata db can answer 500 (or slowly) now and then
            try:
                r = requests.request(method, f"{self.url}/api/v2{path}", headers=self.headers, timeout=120,
                                     **kwargs)
            except requests.Timeout:
                if attempt == 4:
                    raise
                continue
            if r.status_code < 500:
                break
            time.sleep(2 * (attempt + 1))
        r.raise_for_status()
        return r.json()

    def get(self, path: str, **params) -> dict:
        return self._request("GET", path, params=params)

    def post(self, path: str, body: dict) -> dict:
        return self._request("POST", path, json=body)

    def patch(self, path: str, body: dict) -> dict:
        return self._request("PATCH", path, json=body)

    def dag_runs(self, dag_id: str = "~") -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns", limit=100, order_by="run_after")["dag_runs"]


# the first failure of the shared deployment: later tests fail at once with it instead of waiting again
state: dict = {"error": None}


def start_deployment(tmp: Path, *, overrides: dict[str, str] | None = None, warehouse_url: str | None = None,
                     **up_kwargs) -> Deployment:
    """``regiowerk airflow up --demo`` (all-admins UI) with AIRFLOW_HOME, data dir and DuckDB warehouse in ``tmp``;
    ``warehouse_url`` loads into that PostgreSQL database instead; ``up_kwargs`` go to ``airflow_local.up``."""
    home, data, warehouse = tmp / "airflow", tmp / "data", tmp / "warehouse" / "regiowerk.duckdb"
    overrides = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "REGIOWERK_DATA_DIR": str(data),
        "REGIOWERK_WAREHOUSE": str(warehouse),
        **({"REGIOWERK_WAREHOUSE_URL": warehouse_url} if warehouse_url else {}),
        **(overrides or {}),
    }
    started = time.monotonic()
    info = airflow_local.up(home, demo=True, overrides=overrides, all_admins=True, env_file=tmp / "no.env",
                            **{"parallelism": 4, "timeout": 240, **up_kwargs})
    d = Deployment(url=info["url"], home=home, data=data, warehouse=warehouse_url or warehouse, tmp=tmp,
                   state=info, password=info["password"])
    d.timings["up"] = round(time.monotonic() - started, 1)
    d.token = airflow_local.get_token(d.url, d.password)
    return d


def stop_deployment(d: Deployment) -> None:
    """``down()``; asserts that no process it started is left."""
    started = time.monotonic()
    entries = list(d.state["processes"].values())
    airflow_local.down(d.home)
    d.timings["down"] = round(time.monotonic() - started, 1)
    left = {e["pid"]: airflow_local.group_members(e["pgid"]) for e in entries}
    left = {pid: members for pid, members in left.items() if members}
    assert not left, f"processes left after down(): {left}"
    assert not any(airflow_local.alive(e["pid"]) for e in entries)
    assert not (d.home / airflow_local.PID_FILE).exists()
    print(f"\nairflow deployment timings: {d.timings}")


def _progress(d: Deployment) -> str:
    try:
        tis = d.get("/dags/~/dagRuns/~/taskInstances", limit=500)["task_instances"]
    except Exception as e:  # noqa: BLE001
        return f"(no task instances: {e})"
    counts: dict = {}
    for t in tis:
        counts[t["state"]] = counts.get(t["state"], 0) + 1
    busy = [f"{t['dag_id']}.{t['task_id']}={t['state']}" for t in tis if t["state"] not in ("success", None)]
    return f"task states {counts}; not done: {busy[:20]}"


def _wait(check, timeout: float, what: str, interval: float = 3, d: Deployment | None = None):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            state["error"] = f"timed out waiting for {what}"
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; "
                                 + (_progress(d) if d else ""))
        time.sleep(interval)


def _failed_tasks(d: Deployment) -> list[str]:
    tis = d.get("/dags/~/dagRuns/~/taskInstances", limit=200, state="failed")["task_instances"]
    return [f"{t['dag_id']}.{t['task_id']} ({t['run_id']})" for t in tis]


def wait_for_dags(d: Deployment, timeout: float = 180) -> list[str]:
    """The partner DAG ids, once the dag-processor has parsed them and the warehouse DAG."""
    def dags_parsed():
        ids = {x["dag_id"] for x in d.get("/dags", limit=100)["dags"]}
        return ids if WAREHOUSE_DAG in ids and any(i.startswith(PARTNER_PREFIX) for i in ids) else None

    started = time.monotonic()
    ids = _wait(dags_parsed, timeout, "the DAGs to be parsed")
    d.timings["dags_parsed"] = round(time.monotonic() - started, 1)
    return sorted(i for i in ids if i.startswith(PARTNER_PREFIX))


def trigger_partners(d: Deployment, partners: list[str], deadline: float) -> tuple[dict, list[dict]]:
    """Trigger each partner DAG once over the REST API and wait until every partner run is final and successful.
    Returns ({dag_id: run_id} of the triggered runs, all partner runs)."""
    started = time.monotonic()
    triggered = {}
    for p in partners:
        # a fixed run id: a retried POST whose first attempt got through answers 409, not a second run
        run_id = f"manual__regiowerk_test_{p}"
        try:
            triggered[p] = d.post(f"/dags/{p}/dagRuns", {"logical_date": None, "dag_run_id": run_id})["dag_run_id"]
        except requests.HTTPError as e:
            if e.response is None or e.response.status_code != 409:
                raise
            triggered[p] = run_id
    d.timings["triggered"] = round(time.monotonic() - started, 1)

    def partners_done():
        runs = [r for p in partners for r in d.dag_runs(p)]
        mine = [r for r in runs if r["dag_run_id"] in triggered.values()]
        if len(mine) == len(partners) and all(r["state"] in FINAL for r in runs):
            return runs
        if any(r["state"] == "failed" for r in runs):
            raise AssertionError(f"partner run failed: {[r['dag_id'] for r in runs if r['state'] == 'failed']}; "
                                 f"failed tasks: {_failed_tasks(d)}")
        return None

    runs = _wait(partners_done, deadline - time.monotonic(), "the partner runs", d=d)
    d.timings["partner_runs"] = round(time.monotonic() - started, 1)
    return triggered, runs


def trigger_and_wait(d: Deployment) -> dict:
    """Trigger every partner DAG; wait for all partner runs and then an Asset-triggered warehouse run."""
    started = time.monotonic()
    deadline = started + RUN_TIMEOUT
    wanted = None
    partners = wait_for_dags(d)
    triggered, runs = trigger_partners(d, partners, deadline)

    def _ts(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    def warehouse_done():
        nonlocal wanted
        wh = d.dag_runs(WAREHOUSE_DAG)
        if any(r["state"] == "failed" for r in wh):
            raise AssertionError(f"warehouse run failed; failed tasks: {_failed_tasks(d)}")
        # a run queued after the last Asset event has consumed every partner delivery
        events = d.get("/assets/events", limit=1, order_by="-timestamp")["asset_events"]
        last_event = _ts(events[0]["timestamp"]) if events else None
        after = [r for r in wh if r["run_type"] == "asset_triggered" and last_event
                 and _ts(r.get("queued_at") or r["run_after"]) >= last_event]
        busy = [r for r in wh if r["state"] not in FINAL]
        if after and not busy and all(r["state"] == "success" for r in after):
            wanted = after[-1]
            return wh
        return None

    wh_runs = _wait(warehouse_done, max(deadline - time.monotonic(), 60), "the Asset-triggered warehouse run", d=d)
    d.timings["warehouse_run"] = round(time.monotonic() - started, 1)
    return {"partners": partners, "triggered": triggered, "partner_runs": runs, "warehouse_runs": wh_runs,
            "warehouse_run": wanted}
