"""REST connector against the real local UWV stand-in server (loopback HTTP, real tokens, real faults)."""

from __future__ import annotations

import json
import time

import pytest
from regiowerk.connectors import extract
from regiowerk.demo.uwv_api import UwvApiServer
from regiowerk.errors import DeliveryError
from regiowerk.registry import Partner
from regiowerk.watermarks import WatermarkStore

CONN_ID = "uwv_test"
SECRET = "s3cret-for-tests"
COLUMNS = {"bsn": "bsn", "gemeente_code": "gemeente", "regeling": "uitkering", "status": "status",
           "peildatum": "peildatum"}


def record(i: int, updated_at: str = "2026-01-10T08:00:00Z") -> dict:
    return {"bsn": f"{100000000 + i}", "gemeente": "GM0503", "uitkering": "WW", "status": "ACTIEF",
            "peildatum": "2026-01-31", "uren": 32.0 if i % 2 else 20.5, "rijbewijzen": ["B", "BE"],
            "adres": {"postcode": "2611AB"}, "doelgroep": i % 2 == 0, "einde": None, "updated_at": updated_at}


def rest_partner(*, style: str = "page", first_page: int = 1, page_size: int = 3, incremental: bool = False,
                 **connector) -> Partner:
    settings = {"timeout_seconds": 2, "max_retries": 3, "backoff_seconds": 0.01, **connector}
    return Partner.model_validate({
        "partner_id": "uwv_haaglanden", "naam": "UWV", "kind": "uwv", "regio_code": "AM21",
        "contact": "uwv@example.org", "schedule": "0 5 * * *",
        "connector": {"type": "rest", "conn_id": CONN_ID, **settings,
                      "pagination": {"style": style, "page_size": page_size, "first_page": first_page,
                                     **settings.pop("pagination", {})}},
        "datasets": {"werkzoekenden": {"source": "/werkzoekenden", "columns": COLUMNS,
                                       "incremental": incremental}},
    })


@pytest.fixture
def server(monkeypatch):
    def start(records: list[dict], **options) -> UwvApiServer:
        api = UwvApiServer({"/werkzoekenden": records}, client_secret=SECRET, **options).start()
        started.append(api)
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(
            {"conn_type": "http", "host": api.url, "login": "regiowerk-demo", "password": SECRET}))
        return api

    started: list[UwvApiServer] = []
    yield start
    for api in started:
        api.stop()


def data_requests(api: UwvApiServer):
    return [r for r in api.requests if r.path == "/werkzoekenden"]


def token_requests(api: UwvApiServer):
    return [r for r in api.requests if r.path == "/oauth/token"]


@pytest.mark.parametrize(("style", "server_options"), [
    ("page", {}),
    ("offset", {"page_style": "offset"}),
    ("next_link", {"page_style": "next_link"}),
    ("next_link", {"page_style": "next_link", "absolute_next_links": True}),
])
def test_pagination_styles_read_every_record(server, tmp_path, style, server_options):
    api = server([record(i) for i in range(7)], **server_options)
    ex = extract(rest_partner(style=style), "werkzoekenden", watermarks=WatermarkStore(tmp_path))
    frame = ex.frame
    assert frame["bsn"].tolist() == [f"{100000000 + i}" for i in range(7)]
    assert frame["_bron_rij"].tolist() == list(range(1, 8))
    assert len(data_requests(api)) == 3  # 3 + 3 + 1 records
    assert len(token_requests(api)) == 1
    first = frame.iloc[0]
    assert (first["uren"], first["rijbewijzen"], first["doelgroep"], first["einde"]) == ("20.5", "B,BE", "true", None)
    assert frame.iloc[1]["uren"] == "32"
    assert json.loads(first["adres"]) == {"postcode": "2611AB"}
    assert ex.source == f"{api.url}/werkzoekenden" and SECRET not in ex.source
    assert ex.watermark is None  # not incremental


def test_page_style_stops_on_empty_page_and_sends_page_params(server, tmp_path):
    api = server([record(i) for i in range(6)])
    ex = extract(rest_partner(), "werkzoekenden", watermarks=WatermarkStore(tmp_path))
    assert len(ex.frame) == 6
    assert [(r.query["page"], r.query["page_size"]) for r in data_requests(api)] == [("1", "3"), ("2", "3"),
                                                                                      ("3", "3")]


def test_same_content_gives_same_fingerprint(server, tmp_path):
    server([record(i) for i in range(4)])
    partner = rest_partner()
    first = extract(partner, "werkzoekenden", watermarks=WatermarkStore(tmp_path))
    second = extract(partner, "werkzoekenden", watermarks=WatermarkStore(tmp_path))
    assert first.fingerprint == second.fingerprint and len(first.fingerprint) == 64


def test_429_honours_retry_after(server, tmp_path):
    api = server([record(i) for i in range(2)])
    api.faults.append(("429", 0.3))
    started = time.monotonic()
    ex = extract(rest_partner(), "werkzoekenden", watermarks=WatermarkStore(tmp_path))
    assert time.monotonic() - started >= 0.3  # Retry-After, not the 0.01 s backoff
    assert len(ex.frame) == 2
    assert len(data_requests(api)) == 2


def test_500_then_success(server, tmp_path):
    api = server([record(i) for i in range(5)])
    api.faults.extend([("pass",), ("500",), ("503",)])
    ex = extract(rest_partner(), "werkzoekenden", watermarks=WatermarkStore(tmp_path))
    assert len(ex.frame) == 5
    assert [r.query["page"] for r in data_requests(api)] == ["1", "2", "2", "2"]


def test_timeout_then_success(server, tmp_path):
    api = server([record(i) for i in range(2)])
    api.faults.append(("timeout", 1.0))
    ex = extract(rest_partner(timeout_seconds=0.2), "werkzoekenden", watermarks=WatermarkStore(tmp_path))
    assert len(ex.frame) == 2
    assert len(data_requests(api)) == 2


def test_token_expiry_mid_pagination_refreshes_once(server, tmp_path):
    api = server([record(i) for i in range(7)])
    api.faults.extend([("pass",), ("expire_token",)])
    ex = extract(rest_partner(), "werkzoekenden", watermarks=WatermarkStore(tmp_path))
    assert len(ex.frame) == 7
    assert len(token_requests(api)) == 2
    assert [r.query["page"] for r in data_requests(api)] == ["1", "2", "2", "3"]


def test_malformed_page_fails_after_retries(server, tmp_path):
    api = server([record(i) for i in range(2)])
    api.faults.extend([("malformed",)] * 3)
    with pytest.raises(DeliveryError, match="failed 3 times.*malformed JSON") as info:
        extract(rest_partner(max_retries=2), "werkzoekenden", watermarks=WatermarkStore(tmp_path))
    assert info.value.source.endswith("/werkzoekenden")
    assert len(data_requests(api)) == 3


def test_retries_exhausted_on_5xx(server, tmp_path):
    api = server([record(0)])
    api.faults.extend([("502",)] * 5)
    with pytest.raises(DeliveryError, match="failed 2 times, giving up; last problem: HTTP 502"):
        extract(rest_partner(max_retries=1), "werkzoekenden", watermarks=WatermarkStore(tmp_path))
    assert len(data_requests(api)) == 2


def test_missing_results_key(server, tmp_path):
    server([record(0)])
    partner = rest_partner(pagination={"results_key": "items"})
    with pytest.raises(DeliveryError, match="no 'items' key"):
        extract(partner, "werkzoekenden", watermarks=WatermarkStore(tmp_path))


def test_wrong_client_secret(server, tmp_path, monkeypatch):
    api = server([record(0)])
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(
        {"conn_type": "http", "host": api.url, "login": "regiowerk-demo", "password": "wrong"}))
    with pytest.raises(DeliveryError, match="refused the client credentials") as info:
        extract(rest_partner(), "werkzoekenden", watermarks=WatermarkStore(tmp_path))
    assert "wrong" not in str(info.value)


def test_incremental_sends_stored_watermark(server, tmp_path):
    api = server([record(0, "2026-01-01T10:00:00Z"), record(1, "2026-01-02T10:00:00Z")])
    store = WatermarkStore(tmp_path)
    partner = rest_partner(incremental=True)

    first = extract(partner, "werkzoekenden", watermarks=store)
    assert len(first.frame) == 2
    assert all("updated_since" not in r.query for r in data_requests(api))
    assert first.watermark is not None and first.watermark.endswith("Z")
    store.set("uwv_haaglanden", "werkzoekenden", "2026-01-01T12:00:00Z")  # the pipeline commits after loading

    api.requests.clear()
    second = extract(partner, "werkzoekenden", watermarks=store)
    assert [r.query.get("updated_since") for r in data_requests(api)] == ["2026-01-01T12:00:00Z"]
    assert second.frame["bsn"].tolist() == ["100000001"]
    assert second.watermark >= first.watermark

    store.set("uwv_haaglanden", "werkzoekenden", "2026-02-01T00:00:00Z")
    nothing_new = extract(partner, "werkzoekenden", watermarks=store)
    assert len(nothing_new.frame) == 0
    assert set(COLUMNS.values()) <= set(nothing_new.frame.columns)
