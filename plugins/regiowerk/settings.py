"""Where things live. Every path can be overridden by an environment variable; defaults are project-local."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from regiowerk.errors import ConfigurationError

PACKAGE_DIR = Path(__file__).resolve().parent
# The values REGIOWERK_ENV may take (exactly: "prod" or "production " would otherwise silently not be production).
ENVIRONMENTS = ("development", "test", "production")


def environment() -> str:
    """``REGIOWERK_ENV`` (default ``development``); any other value than :data:`ENVIRONMENTS` fails closed."""
    from regiowerk.errors import ConfigurationError

    value = os.environ.get("REGIOWERK_ENV", "development")
    if value not in ENVIRONMENTS:
        raise ConfigurationError(f"REGIOWERK_ENV={value!r} is not one of {', '.join(ENVIRONMENTS)} (exactly, lower "
                                 f"case, no spaces); nothing starts until it is")
    return value


def is_production() -> bool:
    return environment() == "production"


def project_root() -> Path:
    """The repository root: ``REGIOWERK_HOME`` or the folder that holds ``plugins/regiowerk``."""
    env = os.environ.get("REGIOWERK_HOME")
    return Path(env).resolve() if env else PACKAGE_DIR.parents[1]


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def partners(self) -> Path:
        return Path(os.environ.get("REGIOWERK_PARTNERS_DIR", self.root / "partners"))

    @property
    def dbt_project(self) -> Path:
        return self.root / "dbt_project"

    @property
    def expectations(self) -> Path:
        return self.root / "expectations"

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    @property
    def data(self) -> Path:
        """Runtime data (drop zone, landing, state, run reports). Never committed."""
        return Path(os.environ.get("REGIOWERK_DATA_DIR", self.root / "data"))

    @property
    def drop(self) -> Path:
        """Where file-drop partners deliver (an SFTP target in production)."""
        return Path(os.environ.get("REGIOWERK_DROP_DIR", self.data / "drop"))

    @property
    def landing(self) -> Path:
        """Pseudonymised, canonical deliveries (Parquet), partitioned by partner and delivery."""
        return self.data / "landing"

    @property
    def staging(self) -> Path:
        """Encrypted hand-over between the extract and pseudonymise tasks; deleted after use."""
        return self.data / "staging"

    @property
    def state(self) -> Path:
        """Watermarks for incremental extraction, one JSON file per partner."""
        return self.data / "state"

    @property
    def runs(self) -> Path:
        """Validation results and Data Docs per run (may hold pseudonymised personal data)."""
        return self.data / "runs"

    @property
    def warehouse(self) -> Path:
        """The DuckDB warehouse file (see :func:`warehouse_target`; unused when the warehouse is PostgreSQL)."""
        target = warehouse_target()
        if target.path is not None:
            return target.path
        return Path(os.environ.get("REGIOWERK_WAREHOUSE") or default_duckdb_path())

    @property
    def airflow_home(self) -> Path:
        return Path(os.environ.get("AIRFLOW_HOME", self.root / ".airflow"))


def paths() -> Paths:
    return Paths(project_root())


# ---- which warehouse: the one place that decides DuckDB or PostgreSQL ------------------------------------------

WAREHOUSE_URL_ENV = "REGIOWERK_WAREHOUSE_URL"
DBT_TARGET_ENV = "REGIOWERK_DBT_TARGET"
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2")
# Optional overrides of what dbt's postgres profile takes from the URL. Host, port and database must agree with
# the URL (dbt builds the warehouse the loads write to); user, password and schema may differ (e.g. dbt runs as a
# login of the transformer role while the loads run as the owner).
PG_OVERRIDES = ("HOST", "PORT", "USER", "PASSWORD", "DATABASE", "SCHEMA")
_MUST_AGREE = ("HOST", "PORT", "DATABASE")


class WarehouseConfigError(ConfigurationError):
    """The warehouse settings contradict each other or are incomplete (the message never shows a password)."""


@dataclass(frozen=True)
class WarehouseTarget:
    """The configured warehouse: ``engine`` is ``duckdb`` (``path`` is the file) or ``postgres`` (``url`` is the
    connection URL, a secret: never log it). Loads, dbt, roles and BI all follow it."""

    engine: str
    path: Path | None = None
    url: str | None = field(default=None, repr=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine == "postgres"

    @property
    def dbt_target(self) -> str:
        """The output of ``dbt_project/profiles.yml`` to use (the same name as the engine)."""
        return self.engine

    def dbt_env(self) -> dict[str, str]:
        """The variables ``dbt_project/profiles.yml`` reads (``REGIOWERK_PROFILE_*``), derived from the warehouse
        with the optional ``REGIOWERK_PG_*`` overrides applied. Holds the password: pass it to a child process
        environment, never into a log, a serialized DAG or a file."""
        if not self.is_postgres:
            return {"REGIOWERK_PROFILE_PATH": str(self.path)}
        parts = _url_parts(self.url)
        for name in PG_OVERRIDES:
            value = os.environ.get(f"REGIOWERK_PG_{name}", "").strip()
            if value:
                parts[name] = value
        return {f"REGIOWERK_PROFILE_{k}": v for k, v in parts.items()}

    def describe(self) -> str:
        """For messages: the DuckDB file, or the PostgreSQL database without user and password."""
        if not self.is_postgres:
            return str(self.path)
        parts = _url_parts(self.url)
        return f"PostgreSQL database {parts['DATABASE']} on {parts['HOST']}:{parts['PORT']}"


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0] in POSTGRES_SCHEMES


def _url_parts(url: str) -> dict[str, str]:
    """HOST, PORT, USER, PASSWORD, DATABASE, SCHEMA of a ``postgresql://`` URL. A ``?host=`` query (a unix socket
    directory, as pgserver writes it) wins over the netloc's host."""
    p = urlparse(url)
    query = parse_qs(p.query)
    return {
        "HOST": query.get("host", [p.hostname or "localhost"])[0],
        "PORT": str(p.port or query.get("port", ["5432"])[0]),
        "USER": unquote(p.username or "") or "postgres",
        "PASSWORD": unquote(p.password or ""),
        "DATABASE": unquote(p.path.lstrip("/")) or "postgres",
        "SCHEMA": "public",
    }


def _duckdb_path(value: str) -> Path:
    for prefix in ("duckdb:///", "duckdb://"):
        if value.startswith(prefix):
            value = value[len(prefix):]
            break
    return Path(value)


def warehouse_target() -> WarehouseTarget:
    """The warehouse every part of regiowerk uses, from ``REGIOWERK_WAREHOUSE_URL``: a ``postgresql://`` URL, or a
    DuckDB file (a path, or ``duckdb:///path``); unset: the DuckDB file ``REGIOWERK_WAREHOUSE`` (default
    ``warehouse/regiowerk.duckdb``). ``REGIOWERK_DBT_TARGET`` and ``REGIOWERK_PG_*`` are optional overrides;
    a combination that contradicts the URL raises :class:`WarehouseConfigError` naming the variables."""
    url = os.environ.get(WAREHOUSE_URL_ENV, "").strip()
    file_env = os.environ.get("REGIOWERK_WAREHOUSE", "").strip()
    if is_postgres_url(url):
        target = WarehouseTarget("postgres", url=url)
        parts = _url_parts(url)
        for name in _MUST_AGREE:
            value = os.environ.get(f"REGIOWERK_PG_{name}", "").strip()
            if value and value != parts[name]:
                raise WarehouseConfigError(
                    f"REGIOWERK_PG_{name} differs from the {name.lower()} in {WAREHOUSE_URL_ENV}: dbt would build "
                    f"another database than the loads write to. Unset REGIOWERK_PG_{name} (the URL is enough).")
    else:
        path = _duckdb_path(url) if url else Path(file_env) if file_env else default_duckdb_path()
        if url and file_env and Path(file_env).resolve() != path.resolve():
            raise WarehouseConfigError(
                f"{WAREHOUSE_URL_ENV} and REGIOWERK_WAREHOUSE name two different DuckDB files; set only "
                f"{WAREHOUSE_URL_ENV}.")
        pg_set = [f"REGIOWERK_PG_{n}" for n in PG_OVERRIDES if os.environ.get(f"REGIOWERK_PG_{n}", "").strip()]
        if pg_set:
            raise WarehouseConfigError(
                f"{', '.join(pg_set)} set, but the warehouse is the DuckDB file {path}: set {WAREHOUSE_URL_ENV} to "
                f"the postgresql:// URL of the warehouse to use PostgreSQL, or unset {', '.join(pg_set)}.")
        target = WarehouseTarget("duckdb", path=path)
    dbt_target = os.environ.get(DBT_TARGET_ENV, "").strip()
    if dbt_target and dbt_target != target.dbt_target:
        where = "a PostgreSQL URL" if target.is_postgres else f"not a PostgreSQL URL: the warehouse is {target.path}"
        fix = (f"set {WAREHOUSE_URL_ENV} to the postgresql:// URL of the warehouse" if dbt_target == "postgres"
               else f"unset {DBT_TARGET_ENV}")
        raise WarehouseConfigError(
            f"{DBT_TARGET_ENV}={dbt_target} contradicts {WAREHOUSE_URL_ENV} ({where}): dbt would build another "
            f"warehouse than the loads write to. {fix[0].upper() + fix[1:]}; {WAREHOUSE_URL_ENV} alone decides.")
    return target


def default_duckdb_path() -> Path:
    return project_root() / "warehouse" / "regiowerk.duckdb"
