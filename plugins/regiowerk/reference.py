"""Reference data shipped with the project as dbt seeds (regions and gemeenten, CBS indeling 2026)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from regiowerk.settings import paths


@dataclass(frozen=True)
class Gemeente:
    code: str
    naam: str
    regio_code: str
    regio_naam: str


@lru_cache(maxsize=1)
def gemeenten() -> dict[str, Gemeente]:
    path = paths().dbt_project / "seeds" / "ref_arbeidsmarktregios.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return {
            r["gemeente_code"]: Gemeente(r["gemeente_code"], r["gemeente_naam"], r["regio_code"], r["regio_naam"])
            for r in csv.DictReader(f)
        }


@lru_cache(maxsize=1)
def regios() -> dict[str, str]:
    """regio_code -> regio_naam."""
    return {g.regio_code: g.regio_naam for g in gemeenten().values()}


def gemeenten_in(regio_code: str) -> list[Gemeente]:
    return sorted((g for g in gemeenten().values() if g.regio_code == regio_code), key=lambda g: g.code)
