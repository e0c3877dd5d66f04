"""The Airflow UI of the local deployment in headless Chromium: the DAG list shows the regiowerk DAGs.

Shares the deployment (and its runs) with test_airflow_deployment.py (fixtures in tests/conftest.py). The UI runs
in all-admins mode (local only), so the browser needs no login. Chromium is installed when missing
(tests/system_packages.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

from airflow_fixture import WAREHOUSE_DAG
from regiowerk.registry import load_registry
from system_packages import ensure_command

BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", "--no-first-run", "--mute-audio",
                 "--hide-scrollbars", "--window-size=1440,1300", "--virtual-time-budget=10000"]


def _chromium() -> str:
    return ensure_command("chromium", "chromium", "chromium-browser", "google-chrome")  # installed when missing


def _browse(args: list[str], profile, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run headless Chromium in its own process group; the whole group is killed on timeout or exit."""
    proc = subprocess.Popen([_chromium(), *BROWSER_FLAGS, f"--user-data-dir={profile}", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out, err = "", "timeout"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the renderer/zygote helpers as well
        proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_dag_list_in_the_browser(airflow_deployment, airflow_runs):
    d = airflow_deployment
    expected = {p.dag_id for p in load_registry().values()} | {WAREHOUSE_DAG}

    # REST: every DAG is listed, unpaused, and has a successful run
    dags = {x["dag_id"]: x for x in d.get("/dags", limit=100)["dags"]}
    assert expected <= set(dags)
    for dag_id in expected:
        assert not dags[dag_id]["is_paused"], dag_id
        ok = d.get(f"/dags/{dag_id}/dagRuns", state="success", limit=1)["total_entries"]
        assert ok >= 1, f"{dag_id} has no successful run"

    # the UI: a screenshot of the DAG list, and its DOM
    png = d.tmp / "airflow-dag-list.png"
    shot = _browse([f"--screenshot={png}", f"{d.url}/dags"], d.tmp / "chromium-profile")
    assert png.exists() and png.stat().st_size > 20_000, (shot.returncode, shot.stderr[-2000:])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"\nscreenshot: {png}")

    dom = _browse(["--dump-dom", f"{d.url}/dags"], d.tmp / "chromium-profile")
    html = dom.stdout
    assert "<html" in html.lower(), dom.stderr[-2000:]
    (d.tmp / "airflow-dag-list.html").write_text(html)
    missing = {dag_id for dag_id in expected if dag_id not in html}
    assert not missing, f"DAGs not in the rendered DAG list: {missing}"
