"""One-shot Metabase bootstrap (service ``metabase-bootstrap`` in docker-compose.yml).

1. waits for Metabase to be healthy;
2. on a fresh instance completes the first-run setup with the admin from ``MB_ADMIN_EMAIL``/``MB_ADMIN_PASSWORD``,
   otherwise logs in as that admin;
3. registers (or updates) the warehouse data source, connecting as the read-only role ``regiowerk_bi_reader``.

Metabase OSS has no config file for data sources (that is a Pro/Enterprise feature), hence the REST API.
Idempotent; secrets come from the environment and are never printed.
"""

from __future__ import annotations

import os
import sys
import time

import requests

TIMEOUT = 30


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if not value:
        sys.exit(f"metabase-bootstrap: environment variable {name} is not set")
    return value


def wait_healthy(base: str, deadline_s: int = 900) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            r = requests.get(f"{base}/api/health", timeout=10)
            if r.ok and r.json().get("status") == "ok":
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(5)
    sys.exit("metabase-bootstrap: Metabase did not become healthy in time")


def session(base: str) -> str:
    email, password = env("MB_ADMIN_EMAIL"), env("MB_ADMIN_PASSWORD")
    props = requests.get(f"{base}/api/session/properties", timeout=TIMEOUT)
    props.raise_for_status()
    props = props.json()
    token = props.get("setup-token")
    if token and not props.get("has-user-setup"):
        site_name = env("MB_SITE_NAME", "Regiowerk")
        r = requests.post(f"{base}/api/setup", timeout=TIMEOUT, json={
            "token": token,
            "user": {"first_name": "Regiowerk", "last_name": "Beheer", "email": email, "password": password,
                     "site_name": site_name},
            "prefs": {"site_name": site_name, "site_locale": "nl", "allow_tracking": False},
        })
        if not r.ok:
            sys.exit(f"metabase-bootstrap: first-run setup failed (HTTP {r.status_code}); Metabase requires a "
                     f"strong MB_ADMIN_PASSWORD")
        print("metabase-bootstrap: first-run setup done")
        return r.json()["id"]
    r = requests.post(f"{base}/api/session", timeout=TIMEOUT, json={"username": email, "password": password})
    if not r.ok:
        sys.exit(f"metabase-bootstrap: admin login failed (HTTP {r.status_code})")
    return r.json()["id"]


def register_warehouse(base: str, sid: str) -> None:
    headers = {"X-Metabase-Session": sid}
    name = env("MB_WAREHOUSE_NAME", "Regiowerk warehouse")
    user = env("MB_WAREHOUSE_USER")
    if user != "regiowerk_bi_reader":
        sys.exit("metabase-bootstrap: the warehouse must be connected as regiowerk_bi_reader (read-only)")
    body = {
        "name": name,
        "engine": "postgres",
        "details": {
            "host": env("MB_WAREHOUSE_HOST"),
            "port": int(env("MB_WAREHOUSE_PORT", "5432")),
            "dbname": env("MB_WAREHOUSE_DBNAME"),
            "user": user,
            "password": env("MB_WAREHOUSE_PASSWORD"),
            "ssl": False,
            "tunnel-enabled": False,
        },
    }
    r = requests.get(f"{base}/api/database", headers=headers, timeout=TIMEOUT)
    r.raise_for_status()
    listed = r.json()
    databases = listed.get("data", []) if isinstance(listed, dict) else listed
    existing = next((d for d in databases if d.get("name") == name), None)
    if existing:
        r = requests.put(f"{base}/api/database/{existing['id']}", headers=headers, json=body, timeout=TIMEOUT)
        action = "updated"
    else:
        r = requests.post(f"{base}/api/database", headers=headers, json=body, timeout=TIMEOUT)
        action = "registered"
    if not r.ok:
        sys.exit(f"metabase-bootstrap: could not save data source {name!r} (HTTP {r.status_code})")
    print(f"metabase-bootstrap: data source {name!r} {action} (user {user})")


def main() -> None:
    base = env("MB_URL", "http://metabase:3000").rstrip("/")
    wait_healthy(base)
    register_warehouse(base, session(base))


if __name__ == "__main__":
    main()
