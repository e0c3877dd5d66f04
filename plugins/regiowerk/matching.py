"""``regiowerk match --vacature ID [--top N]``: the best candidates of one vacancy, with every criterion.

Reads ``marts.fct_kandidaat_vacature_match`` (built by dbt; the rules live in the dbt models
``int_kandidaat_vacature_paren`` and ``fct_kandidaat_vacature_match`` and the seed ``match_definitie``) from the
configured warehouse (DuckDB or PostgreSQL, :mod:`regiowerk.warehouse_conn`). Candidates are shown by their
pseudonymous ``persoon_id`` only. An unknown or closed vacancy is an error that says so.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from regiowerk.errors import RegiowerkError

# (label, value column, pass/fail column, reason column) per criterion, in the order they are printed.
CRITERIA: tuple[tuple[str, str, str, str], ...] = (
    ("beroep", "beroep_niveau", "beroep_ok", "reden_beroep"),
    ("competenties", "competentie_overlap", "competenties_ok", "reden_competenties"),
    ("uren", "uren_beschikbaar", "uren_ok", "reden_uren"),
    ("taal", "taalniveau", "taal_ok", "reden_taal"),
    ("rijbewijs", "rijbewijzen", "rijbewijs_ok", "reden_rijbewijs"),
    ("opleiding", "opleidingsniveau", "opleiding_ok", "reden_opleiding"),
    ("reisafstand", "afstand_km", "reisafstand_ok", "reden_reisafstand"),
)


@dataclass(frozen=True)
class Vacature:
    vacature_id: str
    regio_code: str | None
    gemeente_code: str
    isco_code: str
    is_open: bool
    sluitingsdatum: object


def _vacature(con, vacature_id: str) -> Vacature:
    from regiowerk import warehouse_conn

    rows = warehouse_conn.execute(
        con, "SELECT vacature_id, regio_code, gemeente_code, isco_code, is_open, sluitingsdatum "
             "FROM marts.dim_vacature WHERE vacature_id = ?", [vacature_id])
    if not rows:
        raise RegiowerkError(f"vacature {vacature_id!r} is onbekend in marts.dim_vacature")
    v = Vacature(*rows[0])
    if not v.is_open:
        wanneer = f" (sluitingsdatum {v.sluitingsdatum})" if v.sluitingsdatum else ""
        raise RegiowerkError(f"vacature {vacature_id!r} is gesloten{wanneer}: er worden geen kandidaten gezocht")
    return v


def best_candidates(vacature_id: str, top: int = 10, con=None) -> tuple[Vacature, list[dict]]:
    """The vacancy and its ``top`` best matches (dicts of every column of the mart), best first."""
    from regiowerk import warehouse_conn

    if top < 1:
        raise RegiowerkError("--top must be at least 1")
    with warehouse_conn.borrowed(con) as c:
        vacature = _vacature(c, vacature_id)
        if warehouse_conn.is_postgres(c):
            with c.cursor() as cur:
                cur.execute("SELECT * FROM marts.fct_kandidaat_vacature_match WHERE vacature_id = %s "
                            "ORDER BY rang LIMIT %s", (vacature_id, top))
                names = [d[0] for d in cur.description]
                rows = cur.fetchall()
        else:
            result = c.execute("SELECT * FROM marts.fct_kandidaat_vacature_match WHERE vacature_id = ? "
                               "ORDER BY rang LIMIT ?", [vacature_id, top])
            names = [d[0] for d in result.description]
            rows = result.fetchall()
    return vacature, [dict(zip(names, r, strict=True)) for r in rows]


def _waarde(value: object) -> str:
    if value is None:
        return "onbekend"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _oordeel(ok: object) -> str:
    return {True: "voldoet", False: "voldoet niet"}.get(ok, "onbekend")  # type: ignore[arg-type]


def format_matches(vacature: Vacature, matches: list[dict]) -> list[str]:
    lines = [f"vacature {vacature.vacature_id}: beroep {vacature.isco_code}, werklocatie {vacature.gemeente_code}, "
             f"regio {vacature.regio_code}"]
    if not matches:
        return lines + ["  geen kandidaten die aan de harde eisen voldoen (taalniveau, rijbewijs) in deze regio"]
    for m in matches:
        lines.append(f"{m['rang']:>3}. kandidaat {m['persoon_id']}  score {m['score']:g}  ({m['werkfit_status']}, "
                     f"woont in {m['kandidaat_gemeente_code']})")
        for label, value, ok, reden in CRITERIA:
            lines.append(f"       {label:<13} {_waarde(m[value]):<14} {_oordeel(m[ok]):<13} {m[reden]}")
    return lines


def _cmd_match(args: argparse.Namespace) -> int:
    vacature, matches = best_candidates(args.vacature, args.top)
    for line in format_matches(vacature, matches):
        print(line)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "match", help="best candidates of one vacancy with every criterion and reason",
        description="Prints the best candidates (pseudonymous persoon_id) of an open vacancy from "
                    "marts.fct_kandidaat_vacature_match: rank, score and per criterion the value, pass/fail and "
                    "the reason in Dutch. Reads REGIOWERK_WAREHOUSE / REGIOWERK_WAREHOUSE_URL. Fails with a "
                    "message when the vacancy is unknown or closed.")
    p.add_argument("--vacature", required=True, metavar="ID", help="vacature_id (as in marts.dim_vacature)")
    p.add_argument("--top", type=int, default=10, metavar="N", help="number of candidates (default 10)")
    p.set_defaults(func=_cmd_match)
