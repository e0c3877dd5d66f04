"""A local stand-in for the UWV API: OAuth2 client credentials, pagination, updated-since and injected faults.

Stdlib only. It listens on 127.0.0.1 (a free port by default) in a daemon thread::

    with UwvApiServer({"/werkzoekenden": records}, page_style="offset") as api:
        api.url                               # "http://127.0.0.1:PORT"
        api.faults.append(("429", 1))         # next data request: HTTP 429 with Retry-After: 1
        api.faults.append(("500",))           # then an HTTP 500
        api.faults.append(("timeout", 0.5))   # then answer only after 0.5 s
        api.faults.append(("malformed",))     # then a 200 with a broken JSON body
        api.faults.append(("deep", 200000))   # then a 200 whose record is nested 200,000 levels deep
        api.faults.append(("expire_token",))  # then invalidate all tokens (this request gets 401)
        api.faults.append(("pass",))          # then serve normally (to aim a later fault at page 2)
        api.requests                          # [LoggedRequest(method, path, query), ...]

Each fault is used by one data request (token requests never consume faults). Query parameter names are the
defaults of :class:`regiowerk.registry.Pagination`; page numbers start at ``first_page`` (1, like the real
UWV API and ``partners/uwv_haaglanden.yml``; a lower page number gets HTTP 400); records with an ISO
``updated_at`` field are filtered by ``updated_since``. Run
``python -m regiowerk.demo.uwv_api records.json --port 8765`` to serve a JSON file of
``{endpoint path: [records]}`` by hand.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qs, urlencode, urlsplit

DEMO_CLIENT_ID = "regiowerk-demo"
DEMO_CLIENT_SECRET = "demo-secret-not-for-production"
DEFAULT_PAGE_SIZE = 100


class LoggedRequest(NamedTuple):
    method: str
    path: str
    query: dict[str, str]


def _parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class UwvApiServer:
    def __init__(self, records: dict[str, list[dict[str, Any]]], *, client_id: str = DEMO_CLIENT_ID,
                 client_secret: str = DEMO_CLIENT_SECRET,
                 page_style: Literal["page", "offset", "next_link"] = "page",
                 token_ttl_seconds: float = 3600, first_page: int = 1, absolute_next_links: bool = False,
                 port: int = 0):
        if page_style not in ("page", "offset", "next_link"):
            raise ValueError(f"unknown page_style {page_style!r}")
        self.records = {"/" + path.strip("/"): list(rows) for path, rows in records.items()}
        self.client_id = client_id
        self.client_secret = client_secret
        self.page_style = page_style
        self.token_ttl_seconds = token_ttl_seconds
        self.first_page = first_page
        self.absolute_next_links = absolute_next_links
        self.faults: collections.deque[tuple] = collections.deque()
        self.requests: list[LoggedRequest] = []
        self._tokens: dict[str, float] = {}  # token -> monotonic expiry
        self._lock = threading.Lock()
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> UwvApiServer:
        if self._httpd is None:
            self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), _make_handler(self))
            self._httpd.daemon_threads = True
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="uwv-api", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
            self._thread = None

    def __enter__(self) -> UwvApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- behaviour ---------------------------------------------------------------------------------------
    def issue_token(self, client_id: str, client_secret: str) -> str | None:
        if not (secrets.compare_digest(client_id, self.client_id)
                and secrets.compare_digest(client_secret, self.client_secret)):
            return None
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl_seconds
        return token

    def token_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def next_fault(self) -> tuple | None:
        try:
            return self.faults.popleft()
        except IndexError:
            return None

    def page(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        rows = self.records[path]
        since = query.get("updated_since")
        if since:
            cutoff = _parse_time(since)
            rows = [r for r in rows if not r.get("updated_at") or _parse_time(str(r["updated_at"])) > cutoff]
        if self.page_style == "page":
            size = int(query.get("page_size", DEFAULT_PAGE_SIZE))
            number = int(query.get("page", self.first_page))
            if number < self.first_page:
                raise ValueError(f"page numbers start at {self.first_page}")
            start = (number - self.first_page) * size
            return {"results": rows[start : start + size], "page": number, "total": len(rows)}
        if self.page_style == "offset":
            size = int(query.get("limit", DEFAULT_PAGE_SIZE))
            start = int(query.get("offset", 0))
            return {"results": rows[start : start + size], "offset": start, "total": len(rows)}
        size = int(query.get("page_size", DEFAULT_PAGE_SIZE))
        start = int(query.get("cursor", 0))
        body: dict[str, Any] = {"results": rows[start : start + size], "next": None}
        if start + size < len(rows):
            link = f"{path}?{urlencode({**query, 'cursor': start + size, 'page_size': size})}"
            body["next"] = self.url + link if self.absolute_next_links else link
        return body


def _make_handler(api: UwvApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "UwvDemoApi/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: Any = None, *, raw: bytes | None = None,
                  headers: dict[str, str] | None = None) -> None:
            payload = raw if raw is not None else json.dumps(body).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. an injected timeout)

        def _log(self) -> tuple[str, dict[str, str]]:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            api.requests.append(LoggedRequest(self.command, parts.path, query))
            return parts.path, query

        def do_POST(self) -> None:
            path, _ = self._log()
            if path != "/oauth/token":
                return self._send(404, {"error": "not_found"})
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8")).items()}
            if form.get("grant_type") != "client_credentials":
                return self._send(400, {"error": "unsupported_grant_type"})
            token = api.issue_token(form.get("client_id", ""), form.get("client_secret", ""))
            if token is None:
                return self._send(401, {"error": "invalid_client"})
            self._send(200, {"access_token": token, "token_type": "Bearer",
                             "expires_in": api.token_ttl_seconds})

        def do_GET(self) -> None:
            path, query = self._log()
            fault = api.next_fault()
            kind = str(fault[0]) if fault else "pass"
            if kind == "expire_token":
                api.expire_tokens()
            elif kind == "timeout":
                time.sleep(float(fault[1]) if len(fault) > 1 else 5.0)
            elif kind.isdigit():
                headers = {"Retry-After": str(fault[1])} if len(fault) > 1 else {}
                return self._send(int(kind), {"error": f"injected {kind}"}, headers=headers)
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or not api.token_valid(auth.removeprefix("Bearer ")):
                return self._send(401, {"error": "invalid_token"}, headers={"WWW-Authenticate": "Bearer"})
            if path not in api.records:
                return self._send(404, {"error": "not_found", "endpoints": sorted(api.records)})
            if kind == "malformed":
                return self._send(200, raw=b'{"results": [{"bsn": "1234')
            if kind == "deep":  # a record nested fault[1] levels deep (a parser-crashing page)
                depth = int(fault[1])
                return self._send(200, raw=b'{"results": [{"x": ' + b"[" * depth + b"]" * depth + b"}]}")
            try:
                body = api.page(path, query)
            except ValueError as e:
                return self._send(400, {"error": "bad_request", "detail": str(e)})
            self._send(200, body)

    return Handler


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Serve a local UWV API stand-in.")
    parser.add_argument("records", help="JSON file: {endpoint path: [records]}")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--page-style", choices=("page", "offset", "next_link"), default="page")
    args = parser.parse_args(argv)
    with open(args.records, encoding="utf-8") as f:
        records = json.load(f)
    with UwvApiServer(records, page_style=args.page_style, port=args.port) as api:
        print(f"UWV demo API on {api.url} (client {api.client_id}); Ctrl-C to stop")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
