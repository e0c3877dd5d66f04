"""JSON REST APIs behind an OAuth2 client-credentials token endpoint (UWV and the like).

The connection (``conn_id``) gives the base URL (host, may include the scheme) and the client id/secret
(login/password). Pages are fetched with the configured pagination style; 429, 5xx, timeouts, connection
errors and malformed JSON are retried with exponential backoff (``backoff_seconds * 2**attempt``, or the
server's ``Retry-After``) up to ``max_retries`` times; an expired token (401) is refreshed once per page.

Incremental loads: when the dataset is ``incremental`` the stored watermark is sent as ``updated_since_param``.
The new watermark is the *start time* of this extraction in ISO UTC (``2026-01-31T06:00:00Z``): every record
changed after that moment, also during the extraction itself, is asked for again next time (overlap, never a
gap). This relies on the partner's clock being roughly right; the overlap absorbs small skew of the order of
the extraction's duration.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urljoin

import requests

from regiowerk.connectors.base import DeliveryContext, Extraction, make_frame, sha256_json
from regiowerk.errors import ConfigurationError
from regiowerk.registry import DatasetMapping, Partner, RestConnector
from regiowerk.secret_store import ConnectionInfo, get_connection
from regiowerk.watermarks import WatermarkStore

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_SECONDS = 300.0
# Limits on what a page (or a saved answer) may be: bigger or deeper is a broken or hostile answer, rejected with
# a message instead of exhausting memory or the parser's recursion.
MAX_PAGE_BYTES = 256 * 1024 * 1024
MAX_VALUE_DEPTH = 16  # nesting of one record's field (a list of objects of lists ...)
TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
T = TypeVar("T")


class _Retryable(Exception):
    """A transient failure of one request; ``wait`` is the server's Retry-After, if any."""

    def __init__(self, message: str, wait: float | None = None):
        super().__init__(message)
        self.wait = wait


def base_url(conn: ConnectionInfo) -> str:
    """The API root from a connection: ``host`` with or without scheme, plus ``port`` when set."""
    host = (conn.host or "").rstrip("/")
    if not host:
        raise ValueError(f"connection {conn.conn_id!r} has no host (the API base URL)")
    if "://" in host:
        return host if conn.port is None or host.count(":") > 1 else f"{host}:{conn.port}"
    scheme = conn.conn_type if conn.conn_type in ("http", "https") else "https"
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema.strip('/')}" if conn.schema else ""
    return f"{scheme}://{host}{port}{path}"


class RestClient:
    """One extraction's HTTP conversation: token handling, retries and pagination."""

    def __init__(self, ctx: DeliveryContext, connector: RestConnector, conn: ConnectionInfo):
        self.ctx = ctx
        self.connector = connector
        self.conn = conn
        self.base = base_url(conn)
        self.session = requests.Session()
        self.token: str | None = None
        self.token_expires_at = 0.0

    def close(self) -> None:
        self.session.close()

    # -- token -------------------------------------------------------------------------------------------
    def refresh_token(self) -> None:
        url = self.base + self.connector.token_path
        form = {"grant_type": "client_credentials", "client_id": self.conn.login or "",
                "client_secret": self.conn.password or ""}

        def send() -> requests.Response:
            return _check_transient(self.session.post(url, data=form, timeout=self.connector.timeout_seconds))

        response = self._with_retries("the token request", send)
        if response.status_code in (400, 401, 403):
            raise self.ctx.error(f"the token endpoint {url} refused the client credentials of connection "
                                 f"{self.conn.conn_id!r} (HTTP {response.status_code}); check login/password")
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not response.ok or not token:
            raise self.ctx.error(f"the token endpoint {url} returned no access_token "
                                 f"(HTTP {response.status_code})")
        expires_in = float(body.get("expires_in") or 3600)
        self.token = str(token)
        # Refresh a little before the server would expire it.
        self.token_expires_at = time.monotonic() + expires_in - min(30.0, expires_in / 10)

    def _auth_headers(self) -> dict[str, str]:
        if self.token is None or time.monotonic() >= self.token_expires_at:
            self.refresh_token()
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    # -- requests ----------------------------------------------------------------------------------------
    def _with_retries(self, what: str, send: Callable[[], T]) -> T:
        """``send()`` until it succeeds or fails for good; DeliveryError when the retry budget is spent.

        ``send`` raises :class:`_Retryable` (or a requests connection error/timeout) for a transient failure.
        """
        attempts = self.connector.max_retries + 1
        for attempt in range(attempts):
            try:
                return send()
            except (_Retryable, *TRANSIENT_ERRORS) as e:
                problem = str(e) if isinstance(e, _Retryable) else type(e).__name__
                if attempt + 1 >= attempts:
                    raise self.ctx.error(f"{what} failed {attempts} times, giving up; last problem: "
                                         f"{problem}") from None
                wait = e.wait if isinstance(e, _Retryable) else None
                delay = wait if wait is not None else self.connector.backoff_seconds * 2**attempt
                log.warning("%s: %s; retry %d of %d in %.2fs", what, problem, attempt + 1,
                            self.connector.max_retries, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def get_page(self, url: str, params: dict[str, Any] | None, label: str) -> dict[str, Any]:
        """One page as parsed JSON. Malformed bodies are retried like 5xx; a 401 refreshes the token once."""
        refreshed = False

        def get() -> requests.Response:
            return self.session.get(url, params=params, headers=self._auth_headers(),
                                    timeout=self.connector.timeout_seconds)

        def send() -> tuple[requests.Response, Any]:
            nonlocal refreshed
            response = get()
            if response.status_code == 401 and not refreshed:
                log.info("%s: token rejected (HTTP 401), fetching a new token", label)
                refreshed = True
                self.refresh_token()
                response = get()
            _check_transient(response)
            if not response.ok:
                return response, None
            try:
                return response, parse_json(self.ctx, response.content, label)
            except ValueError as e:
                raise _Retryable(f"malformed JSON ({e})") from None

        response, body = self._with_retries(label, send)
        if response.status_code == 401:
            raise self.ctx.error(f"{label}: HTTP 401 even with a fresh token; the client of connection "
                                 f"{self.conn.conn_id!r} may lack access to this endpoint")
        if not response.ok:
            raise self.ctx.error(f"{label}: HTTP {response.status_code} {response.reason}: "
                                 f"{response.text[:200]}")
        if not isinstance(body, dict):
            raise self.ctx.error(f"{label}: expected a JSON object, got {type(body).__name__}")
        return body

    def results(self, body: dict[str, Any], label: str) -> list[Any]:
        key = self.connector.pagination.results_key
        if key not in body:
            raise self.ctx.error(f"{label}: the response has no {key!r} key (keys: {', '.join(sorted(body))}); "
                                 f"check connector.pagination.results_key")
        records = body[key]
        if not isinstance(records, list):
            raise self.ctx.error(f"{label}: {key!r} is a {type(records).__name__}, expected a list")
        return records

    # -- pagination --------------------------------------------------------------------------------------
    def fetch_all(self, url: str, extra_params: dict[str, str]) -> list[Any]:
        p = self.connector.pagination
        records: list[Any] = []
        if p.style == "next_link":
            seen: set[str] = set()
            params: dict[str, Any] | None = {**extra_params, p.size_param: p.page_size}
            next_url: str | None = url
            while next_url:
                if next_url in seen:
                    raise self.ctx.error(f"the API links back to a page it already sent ({next_url})")
                seen.add(next_url)
                body = self.get_page(next_url, params, f"page {len(seen)} ({next_url})")
                records += self.results(body, f"page {len(seen)}")
                link = body.get(p.next_key)
                next_url = urljoin(next_url, link) if link else None
                params = None  # a next link carries its own query
            return records
        number = 0
        while True:
            if p.style == "page":
                params = {**extra_params, p.page_param: p.first_page + number, p.size_param: p.page_size}
            else:
                params = {**extra_params, p.offset_param: len(records), p.limit_param: p.page_size}
            page = self.results(self.get_page(url, params, f"page {number + 1}"), f"page {number + 1}")
            records += page
            number += 1
            if len(page) < p.page_size:
                return records


def extract_rest(partner: Partner, dataset: str, watermarks: WatermarkStore | None = None) -> Extraction:
    connector = partner.connector
    assert isinstance(connector, RestConnector)
    mapping = partner.datasets[dataset]
    conn = get_connection(connector.conn_id)
    try:
        url = base_url(conn) + "/" + mapping.source.lstrip("/")
    except ValueError as e:
        raise ConfigurationError(str(e)) from None
    ctx = DeliveryContext(partner.partner_id, dataset, url)
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    params: dict[str, str] = {}
    incremental = mapping.incremental and connector.updated_since_param is not None
    if incremental:
        store = watermarks if watermarks is not None else WatermarkStore()
        since = store.get(partner.partner_id, dataset)
        if since:
            params[connector.updated_since_param] = since

    client = RestClient(ctx, connector, conn)
    try:
        records = client.fetch_all(url, params)
    except requests.RequestException as e:
        raise ctx.error(f"request failed: {type(e).__name__}") from None
    finally:
        client.close()
    log.info("%s: %d records from %s", partner.partner_id, len(records), url)
    frame = records_frame(ctx, mapping, records)
    return Extraction(partner.partner_id, dataset, frame, url, sha256_json(records),
                      started if incremental else None)


def parse_json(ctx: DeliveryContext, data: bytes, label: str) -> Any:
    """JSON text within the limits: at most :data:`MAX_PAGE_BYTES`, and nesting the parser can hold (a
    RecursionError becomes a rejection). Raises ValueError for text that is not JSON."""
    import json

    if len(data) > MAX_PAGE_BYTES:
        raise ctx.error(f"{label}: the answer is {len(data) / 2**20:.0f} MiB, more than the "
                        f"{MAX_PAGE_BYTES // 2**20} MiB a page may be; lower connector.pagination.page_size")
    try:
        return json.loads(data)
    except RecursionError:
        raise ctx.error(f"{label}: the JSON is nested too deeply to be a delivery (a broken or hostile answer); "
                        f"a record field may nest at most {MAX_VALUE_DEPTH} levels") from None


def _too_deep(value: Any) -> bool:
    """Does a JSON value nest lists/objects more than :data:`MAX_VALUE_DEPTH` levels? (iterative: no recursion)"""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_VALUE_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def records_frame(ctx: DeliveryContext, mapping: DatasetMapping, records: list[Any]):
    """The contract frame of a list of JSON records (record index, 1-based, as ``_bron_rij``). A field nested
    deeper than :data:`MAX_VALUE_DEPTH` rejects the delivery."""
    columns: dict[str, None] = {}
    for index, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise ctx.error(f"record {index} is a {type(record).__name__}, expected a JSON object")
        for key, value in record.items():
            if isinstance(value, (dict, list)) and _too_deep(value):
                raise ctx.error(f"record {index}, field {key!r}: nested more than {MAX_VALUE_DEPTH} levels deep; "
                                f"a broken or hostile answer", column=str(key))
        columns.update(dict.fromkeys(record))
    if not records:
        # No (changed) records: an empty frame that still has the columns the mapping reads.
        columns = dict.fromkeys(mapping.columns.values())
    return make_frame(ctx, list(columns), ([r.get(c) for c in columns] for r in records),
                      range(1, len(records) + 1))


def read_records_file(partner: Partner, dataset: str, path) -> Extraction:
    """A saved API answer (a JSON list of records, or one page object holding them under the results key) read
    as a delivery of ``dataset``: what ``regiowerk check`` uses for REST partners."""
    from pathlib import Path

    connector = partner.connector
    assert isinstance(connector, RestConnector)
    path = Path(path)
    ctx = DeliveryContext(partner.partner_id, dataset, str(path))
    data = ctx.read_bytes(path)
    try:
        body = parse_json(ctx, data.decode("utf-8-sig").encode("utf-8"), "the file")
    except (UnicodeDecodeError, ValueError) as e:
        raise ctx.error(f"not a JSON file: {e}") from None
    if isinstance(body, dict):
        key = connector.pagination.results_key
        if key not in body:
            raise ctx.error(f"the JSON object has no {key!r} key (keys: {', '.join(sorted(body))}); "
                            f"check connector.pagination.results_key")
        body = body[key]
    if not isinstance(body, list):
        raise ctx.error(f"expected a list of records, got {type(body).__name__}")
    return Extraction(partner.partner_id, dataset, records_frame(ctx, partner.datasets[dataset], body), str(path),
                      sha256_json(body), None)


def _check_transient(response: requests.Response) -> requests.Response:
    """Raise :class:`_Retryable` for 429 and 5xx; other responses are the caller's to judge."""
    if response.status_code == 429 or response.status_code >= 500:
        raise _Retryable(f"HTTP {response.status_code}", _retry_after(response))
    return response


def _retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), capped; None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
