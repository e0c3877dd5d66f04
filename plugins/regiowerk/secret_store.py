"""Connections and variables, resolved at run time and never stored in the repository.

Resolution order for a connection id ``uwv_api``:

1. the environment variable ``AIRFLOW_CONN_UWV_API``, in Airflow's JSON form
   (``{"conn_type": "http", "host": "https://api.example", "login": "...", "password": "..."}``) or URI form
   (``postgresql://user:pass@db:5432/name``, ``sqlite:////abs/path.db``);
2. Airflow itself (``airflow.sdk.Connection.get``), so connections kept in the metadata database or a secrets
   backend work inside tasks.

Passwords never appear in ``repr``, log lines or error messages.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from regiowerk.errors import ConfigurationError

# Airflow connection types whose SQLAlchemy dialect name differs.
_SQLALCHEMY_SCHEMES = {"postgres": "postgresql"}


@dataclass
class ConnectionInfo:
    conn_id: str
    conn_type: str | None = None
    host: str | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    port: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The URI exactly as configured (URI form only); kept so special forms like sqlite paths survive.
    raw_uri: str | None = field(default=None, repr=False)

    @property
    def uri(self) -> str:
        """A URL for this connection (a SQLAlchemy URL for database connections)."""
        if self.raw_uri:
            return self.raw_uri
        scheme = _SQLALCHEMY_SCHEMES.get(self.conn_type or "", self.conn_type or "")
        if scheme == "sqlite":
            return f"sqlite:///{self.host or self.schema or ''}"
        auth = ""
        if self.login or self.password:
            auth = quote(self.login or "", safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        netloc = auth + (self.host or "") + (f":{self.port}" if self.port else "")
        path = f"/{self.schema}" if self.schema else ""
        return f"{scheme}://{netloc}{path}"

    def __repr__(self) -> str:
        masked = "***" if self.password else None
        return (f"ConnectionInfo(conn_id={self.conn_id!r}, conn_type={self.conn_type!r}, host={self.host!r}, "
                f"login={self.login!r}, password={masked!r}, schema={self.schema!r}, port={self.port!r}, "
                f"extra_keys={sorted(self.extra)!r})")

    __str__ = __repr__


def _env_name(prefix: str, name: str) -> str:
    return prefix + name.upper()


def _from_json(conn_id: str, text: str) -> ConnectionInfo:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigurationError(f"connection {conn_id!r}: the environment value looks like JSON but is not "
                                 f"valid JSON (line {e.lineno}, column {e.colno})") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"connection {conn_id!r}: the JSON form must be an object")
    extra = data.get("extra") or {}
    if isinstance(extra, str):
        extra = json.loads(extra) if extra.strip() else {}
    port = data.get("port")
    return ConnectionInfo(
        conn_id=conn_id,
        conn_type=data.get("conn_type"),
        host=data.get("host"),
        login=data.get("login"),
        password=data.get("password"),
        schema=data.get("schema"),
        port=int(port) if port not in (None, "") else None,
        extra=dict(extra),
    )


def _from_uri(conn_id: str, uri: str) -> ConnectionInfo:
    parts = urlsplit(uri)
    scheme = parts.scheme
    if not scheme:
        raise ConfigurationError(f"connection {conn_id!r}: the environment value is neither JSON nor a URI "
                                 f"of the form type://login:password@host:port/schema")
    conn_type = scheme.replace("-", "_")
    if conn_type == "sqlite" or "+" in conn_type:
        # SQLAlchemy URLs (sqlite paths, dialect+driver) are used as they are.
        is_sqlite = conn_type == "sqlite"
        return ConnectionInfo(conn_id=conn_id, conn_type=conn_type.split("+")[0],
                              host=parts.path[1:] if is_sqlite else parts.hostname,
                              login=unquote(parts.username) if parts.username else None,
                              password=unquote(parts.password) if parts.password else None,
                              schema=None if is_sqlite else (parts.path.lstrip("/") or None),
                              port=parts.port, raw_uri=uri)
    extra = dict(parse_qsl(parts.query))
    if "__extra__" in extra:
        extra = json.loads(extra["__extra__"])
    return ConnectionInfo(
        conn_id=conn_id,
        conn_type=conn_type,
        host=unquote(parts.hostname) if parts.hostname else None,
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        schema=unquote(parts.path.lstrip("/")) or None,
        port=parts.port,
        extra=extra,
    )


def _from_airflow(conn_id: str) -> ConnectionInfo | None:
    try:
        from airflow.sdk import Connection

        conn = Connection.get(conn_id)
    except Exception:  # Airflow missing, not configured, or the connection does not exist
        return None
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
    return ConnectionInfo(conn_id=conn_id, conn_type=conn.conn_type, host=conn.host, login=conn.login,
                          password=conn.password, schema=conn.schema, port=conn.port, extra=dict(extra or {}))


def get_connection(conn_id: str) -> ConnectionInfo:
    """The connection ``conn_id`` from the environment or Airflow; :class:`ConfigurationError` if neither has it."""
    env = _env_name("AIRFLOW_CONN_", conn_id)
    value = os.environ.get(env)
    if value is not None and value.strip():
        value = value.strip()
        return _from_json(conn_id, value) if value.startswith("{") else _from_uri(conn_id, value)
    info = _from_airflow(conn_id)
    if info is not None:
        return info
    raise ConfigurationError(
        f"connection {conn_id!r} is not configured: set the environment variable {env} "
        f"(Airflow JSON or URI form) or create the connection in Airflow "
        f"(airflow connections add {conn_id} ...)")


def _variable_from_airflow(name: str) -> str | None:
    try:
        from airflow.sdk import Variable

        return Variable.get(name)
    except Exception:  # Airflow missing, not configured, or the variable does not exist
        return None


def get_variable(name: str, default: str | None = None) -> str | None:
    """The variable ``name`` from ``AIRFLOW_VAR_<NAME>`` or Airflow, else ``default``."""
    value = os.environ.get(_env_name("AIRFLOW_VAR_", name))
    if value is not None:
        return value
    value = _variable_from_airflow(name)
    return default if value is None else value
