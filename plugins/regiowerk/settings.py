"""Where things live. Every path can be overridden by an environment variable; defaults are project-local."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
        return Path(os.environ.get("REGIOWERK_WAREHOUSE", self.root / "warehouse" / "regiowerk.duckdb"))

    @property
    def airflow_home(self) -> Path:
        return Path(os.environ.get("AIRFLOW_HOME", self.root / ".airflow"))


def paths() -> Paths:
    return Paths(project_root())
