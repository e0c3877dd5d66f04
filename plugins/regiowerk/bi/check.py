"""``regiowerk bi check [--out DIR]``: every dashboard opened in headless Chromium, logged in, each chart waited for.

The browser is driven over the DevTools protocol (one local websocket): log in through Superset's login form with
an HTTP session, hand its cookie to the browser, open each dashboard, poll the page until every chart has finished
loading, then take a full-page PNG (``DIR/<slug>.png``). A dashboard fails when a chart shows an error, shows no
data, or has not rendered in time. Independently of the screen, every chart's query runs through Superset's
chart-data API and must return rows. Chromium runs with the network features off (no sync, no updates).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import requests

BROWSER_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", "--no-first-run", "--mute-audio",
                 "--hide-scrollbars", "--window-size=1440,1200", "--remote-debugging-port=0",
                 "--remote-allow-origins=*"]

# what a chart holder on a dashboard looks like, read in the page
_CHART_STATE_JS = r"""
(() => Array.from(document.querySelectorAll('.dashboard-component-chart-holder')).map(el => {
  const text = el.innerText || '';
  return {
    title: (el.querySelector('.header-title, [data-test="editable-title"], .editable-title') || {}).innerText || '',
    loading: !!el.querySelector('.loading, [data-test="loading-indicator"], [aria-label="Loading"]'),
    error: !!el.querySelector('.alert-danger, [data-test="alert-error"], .ant-alert-error, [role="alert"]')
           || /Unexpected error|Onverwachte fout|error occurred|Fout bij/i.test(text),
    nodata: /No results were returned|No data|Geen resultaten|Geen gegevens/i.test(text),
    drawn: !!el.querySelector('canvas, svg, table'),
  };
}))()
"""


class CheckError(RuntimeError):
    pass


@dataclass
class DashboardResult:
    slug: str
    title: str
    charts: int = 0
    png: Path | None = None
    problems: list[str] = field(default_factory=list)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    raise CheckError("chromium is not installed (apt-get install -y chromium)")


class Superset:
    """An HTTP session logged in to Superset (form login, as a person would)."""

    def __init__(self, url: str, user: str, password: str):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        page = self.http.get(f"{self.url}/login/", timeout=30)
        m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
            r'"csrf_token"\s*:\s*"([^"]+)"', page.text)
        token = m.group(1) if m else self.http.get(f"{self.url}/api/v1/security/csrf_token/", timeout=30).json()[
            "result"]
        r = self.http.post(f"{self.url}/login/", data={"username": user, "password": password, "csrf_token": token},
                           timeout=30, allow_redirects=True)
        me = self.http.get(f"{self.url}/api/v1/me/", timeout=30)
        if r.status_code >= 400 or me.status_code != 200:
            raise CheckError(f"bi check: login as {user} failed (HTTP {r.status_code}/{me.status_code})")
        self.csrf = self.http.get(f"{self.url}/api/v1/security/csrf_token/", timeout=30).json()["result"]

    def get(self, path: str, **params) -> dict:
        r = self.http.get(f"{self.url}{path}", params=params, timeout=60)
        r.raise_for_status()
        return r.json()

    def dashboards(self) -> list[dict]:
        q = json.dumps({"page_size": 100, "columns": ["id", "slug", "dashboard_title"]})
        return self.get("/api/v1/dashboard/", q=q)["result"]

    def charts_of(self, dashboard_id: int) -> list[dict]:
        return self.get(f"/api/v1/dashboard/{dashboard_id}/charts")["result"]

    def chart_data(self, chart_id: int) -> list[dict]:
        """The rows of a saved chart, through the chart-data API, with the chart's own definition."""
        chart = self.get(f"/api/v1/chart/{chart_id}")["result"]
        form = json.loads(chart["params"])
        ds_id, ds_type = form["datasource"].split("__")
        metrics = form.get("metrics") or ([form["metric"]] if form.get("metric") else [])
        if form.get("query_mode") == "raw":
            columns = list(form.get("all_columns") or [])
        else:
            columns = [c for c in [form.get("x_axis"), *(form.get("groupby") or [])] if c]
        query = {"columns": columns, "metrics": metrics, "filters": [], "orderby": [],
                 "row_limit": form.get("row_limit", 10000), "extras": {}}
        body = {"datasource": {"id": int(ds_id), "type": ds_type}, "queries": [query], "form_data": form,
                "result_format": "json", "result_type": "full", "force": True}
        r = self.http.post(f"{self.url}/api/v1/chart/data", json=body, timeout=120,
                           headers={"X-CSRFToken": self.csrf, "Referer": self.url})
        if r.status_code != 200:
            raise CheckError(f"chart {chart_id} ({chart['slice_name']}): chart-data API HTTP {r.status_code}: "
                             f"{r.text[:300]}")
        return r.json()["result"][0]["data"]

    def sql(self, query: str) -> requests.Response:
        """Run ``query`` in SQL Lab on the regiowerk database (for checks of what the BI connection can reach)."""
        dbs = self.get("/api/v1/database/", q=json.dumps({"filters": [
            {"col": "database_name", "opr": "eq", "value": "regiowerk"}]}))["result"]
        return self.http.post(f"{self.url}/api/v1/sqllab/execute/", timeout=120,
                              json={"database_id": dbs[0]["id"], "sql": query, "runAsync": False, "schema": "bi"},
                              headers={"X-CSRFToken": self.csrf, "Referer": self.url})


class Browser:
    """Headless Chromium over the DevTools protocol (one page)."""

    def __init__(self):
        from websockets.sync.client import connect

        self.profile = Path(tempfile.mkdtemp(prefix="regiowerk-bi-chromium-"))
        self.proc = subprocess.Popen([chromium(), *BROWSER_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise CheckError("bi check: chromium did not start")
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            page = next(t for t in json.load(r) if t["type"] == "page")
        self._connection = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        self.ws = self._connection.__enter__()
        self._id = 0

    def send(self, method: str, **params):
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=120))
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise CheckError(f"bi check: browser {method}: {msg['error'].get('message')}")
                return msg.get("result", {})

    def evaluate(self, js: str):
        return self.send("Runtime.evaluate", expression=js, returnByValue=True)["result"].get("value")

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the browser may already be gone
            self._connection.__exit__(None, None, None)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def _wait_for_charts(browser: Browser, expected: int, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    states: list[dict] = []
    settled_since = None
    while time.monotonic() < deadline:
        states = browser.evaluate(_CHART_STATE_JS) or []
        done = len(states) >= expected and all(not s["loading"] and (s["drawn"] or s["error"] or s["nodata"])
                                               for s in states)
        if done:
            settled_since = settled_since or time.monotonic()
            if time.monotonic() - settled_since > 1.5:  # animations finished, nothing reloads
                return states
        else:
            settled_since = None
        time.sleep(0.5)
    return states


def check(url: str, user: str, password: str, out: Path, timeout: float = 90) -> list[DashboardResult]:
    """Open every dashboard; one PNG each in ``out``. Raises nothing for a broken chart: see the results."""
    out.mkdir(parents=True, exist_ok=True)
    api = Superset(url, user, password)
    browser = Browser()
    results = []
    try:
        host = url.split("//", 1)[1].split("/")[0].split(":")[0]
        for name, value in api.http.cookies.items():
            browser.send("Network.setCookie", name=name, value=value, domain=host, path="/")
        browser.send("Page.enable")
        browser.send("Emulation.setDeviceMetricsOverride", width=1440, height=1200, deviceScaleFactor=1, mobile=False)
        for d in sorted(api.dashboards(), key=lambda d: d["slug"] or str(d["id"])):
            res = DashboardResult(d["slug"] or str(d["id"]), d["dashboard_title"])
            charts = api.charts_of(d["id"])
            res.charts = len(charts)
            for c in charts:
                try:
                    if not api.chart_data(c["id"]):
                        res.problems.append(f"{c['slice_name']}: no data")
                except CheckError as e:
                    res.problems.append(str(e))
            browser.send("Page.navigate", url=f"{api.url}/superset/dashboard/{d['id']}/?standalone=1")
            states = _wait_for_charts(browser, len(charts), timeout)
            if len(states) < len(charts):
                res.problems.append(f"{len(states)} of {len(charts)} charts on the page")
            for s in states:
                label = s["title"] or "chart"
                if s["error"]:
                    res.problems.append(f"{label}: shows an error")
                elif s["nodata"]:
                    res.problems.append(f"{label}: shows no data")
                elif s["loading"] or not s["drawn"]:
                    res.problems.append(f"{label}: not rendered within {timeout:.0f} s")
            height = browser.evaluate("document.documentElement.scrollHeight") or 1200
            browser.send("Emulation.setDeviceMetricsOverride", width=1440, height=min(int(height), 6000),
                         deviceScaleFactor=1, mobile=False)
            time.sleep(0.5)
            shot = browser.send("Page.captureScreenshot", format="png")
            res.png = out / f"{res.slug}.png"
            res.png.write_bytes(base64.b64decode(shot["data"]))
            browser.send("Emulation.setDeviceMetricsOverride", width=1440, height=1200, deviceScaleFactor=1,
                         mobile=False)
            results.append(res)
    finally:
        browser.close()
    return results
