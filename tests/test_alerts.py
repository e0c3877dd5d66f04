"""Failure callbacks: the alert names partner, contact, dataset, delivery, task and error, and posts to a webhook."""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from regiowerk import alerts
from regiowerk.dag_factory import notify_failure as factory_callback
from regiowerk.errors import DeliveryError
from regiowerk.registry import load_registry

PARTNER = "gemeente_den_haag"


class FakeTI:
    def __init__(self, dag_id: str, task_id: str, xcoms: dict | None = None):
        self.dag_id, self.task_id, self.run_id, self.try_number = dag_id, task_id, "scheduled__2026-11-25", 3
        self.xcoms = xcoms or {}
        self.pulled: list[str] = []

    def xcom_pull(self, task_ids: str):
        self.pulled.append(task_ids)
        return self.xcoms.get(task_ids)


DELIVERY = {"partner_id": PARTNER, "dataset": "werkzoekenden", "delivery_id": "gemeente_den_haag.werkzoekenden.abc123",
            "source": "clienten_20261124.csv", "rows_received": 40}


@pytest.fixture(autouse=True)
def _no_webhook(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_REGIOWERK_ALERT_WEBHOOK_URL", raising=False)


def test_partner_task_alert_names_partner_delivery_task_error_and_hint(caplog):
    partner = load_registry()[PARTNER]
    ti = FakeTI(f"partner_{PARTNER}", "werkzoekenden.load", {"werkzoekenden.extract": DELIVERY})
    with caplog.at_level(logging.ERROR, logger="regiowerk.alerts"):
        alert = factory_callback({"ti": ti, "exception": RuntimeError("disk full")})
    assert factory_callback is alerts.notify_failure
    assert ti.pulled == ["werkzoekenden.extract"]
    text = caplog.text
    for expected in (PARTNER, partner.naam, partner.contact, "dataset werkzoekenden", DELIVERY["delivery_id"],
                     DELIVERY["source"], "werkzoekenden.load", f"partner_{PARTNER}", "RuntimeError: disk full",
                     f"regiowerk quarantine list --partner {PARTNER}", "try 3"):
        assert expected in text, expected
    assert alert.delivery_id == DELIVERY["delivery_id"] and alert.contact == partner.contact


def test_rejected_extract_takes_the_source_from_the_delivery_error():
    error = DeliveryError(PARTNER, "werkzoekenden", "clienten_*.csv", "no file matches")
    alert = alerts.build_alert({"ti": FakeTI(f"partner_{PARTNER}", "werkzoekenden.extract"), "exception": error})
    assert alert.delivery_id is None and alert.source == "clienten_*.csv"
    assert alert.dataset == "werkzoekenden"
    assert "rejected" in alert.hint
    assert f"regiowerk check FILE --partner {PARTNER} --dataset werkzoekenden" in alert.hint
    assert "delivery not yet assigned from clienten_*.csv" in alert.text()


def test_warehouse_task_alert_points_at_the_dbt_log():
    alert = alerts.build_alert({"ti": FakeTI("regiowerk_warehouse", "dbt.dim_kandidaat.run"),
                                "exception": RuntimeError("dbt failed")})
    assert alert.partner_id is None and alert.dataset is None
    assert "regional warehouse" in alert.text() and "dbt model or test" in alert.hint


def test_long_errors_are_cut():
    alert = alerts.build_alert({"ti": FakeTI("regiowerk_warehouse", "x"), "exception": ValueError("x" * 5000)})
    assert len(alert.error) == alerts.MAX_ERROR_CHARS


def test_any_errors_personal_values_are_masked_in_the_alert():
    """Not only regiowerk's own errors: a library error quoting a cell (a BSN, a postcode) is masked too."""
    error = ValueError("could not convert '111222333' (row of 1112.22.333 at 2611AB)")
    alert = alerts.build_alert({"ti": FakeTI(f"partner_{PARTNER}", "werkzoekenden.validate"), "exception": error})
    text = alert.text()
    assert "111222333" not in text and "1112.22.333" not in text and "2611AB" not in text
    assert "could not convert '(value masked)'" in text


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_gets_the_alert_when_configured(monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        monkeypatch.setenv("AIRFLOW_VAR_REGIOWERK_ALERT_WEBHOOK_URL", url)
        _Hook.received.clear()
        ti = FakeTI(f"partner_{PARTNER}", "werkzoekenden.validate", {"werkzoekenden.extract": DELIVERY})
        alerts.notify_failure({"ti": ti, "exception": RuntimeError("boom")})
    finally:
        server.shutdown()
    (payload,) = _Hook.received
    assert payload["partner_id"] == PARTNER and payload["delivery_id"] == DELIVERY["delivery_id"]
    assert payload["task_id"] == "werkzoekenden.validate" and "boom" in payload["text"]


def test_unreachable_webhook_is_logged_not_raised(monkeypatch, caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/secret-token"
    monkeypatch.setenv("AIRFLOW_VAR_REGIOWERK_ALERT_WEBHOOK_URL", url)
    with caplog.at_level(logging.ERROR, logger="regiowerk.alerts"):
        alerts.notify_failure({"ti": FakeTI("regiowerk_warehouse", "dbt_build"), "exception": RuntimeError("x")})
    assert "webhook not reachable" in caplog.text
    assert "secret-token" not in caplog.text  # the URL is a secret
