"""``regiowerk export vum --partner ID --out DIR``: the uniform profiles of a partner's own clients as VUM JSON.

A partner's own clients are the persons it delivered itself (``marts.dim_kandidaat.bronnen``). The structure
(documented and checked by the JSON Schema ``schemas/vum_profielen.schema.json``) uses the field names and code
lists of the VUM gegevensstandaard: ``codeWerkEnDenkniveauWerkzoekende`` (0-7, 7 = (nog) niet bekend),
``rijbewijs[].codeSoortRijbewijs``, ``bemiddelingsberoep[].codeBeroepsnaam`` (ISCO-08 unit group; VUM v3 uses
CompetentNL URIs, which the platform does not hold), ``competentie[].codeCompetentie`` (the VUM
gedragscompetenties of seed ``competenties``), ``taalbeheersing``, ``mobiliteit``, ``flexibiliteit``,
``werktijden``. regiowerk's own additions (werkfit status) are under ``regiowerk``; a client of the partner
who is no active job seeker (e.g. left the benefit) is exported too, with werkfit status ``geen_werkzoekende``.

The export never holds a BSN (the warehouse has none). ``idWerkzoekende`` is the pseudonym; the partner finds the
person in its own records through ``bronverwijzing``: the delivery and row number of its own latest row.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from pathlib import Path

from regiowerk import canonical
from regiowerk.errors import RegiowerkError

SCHEMA_VERSION = "1.0"
WERK_EN_DENKNIVEAU_ONBEKEND = 7

_PROFIEL_SQL = """
SELECT k.persoon_id, k.gemeente_code, k.opleidingsniveau, k.taalniveau_nl, k.rijbewijzen, k.beroepswensen,
       k.competenties, k.uren_beschikbaar_per_week, k.beschikbaar_vanaf, s.werkfit_status,
       s.werkfit_definitie_versie
FROM marts.dim_kandidaat AS k
LEFT JOIN intermediate.int_kandidaat_status AS s ON s.persoon_id = k.persoon_id AND s.regio_code = k.regio_code
WHERE k.regio_code = ? AND (',' || k.bronnen || ',') LIKE ?
ORDER BY k.persoon_id
"""


def _bron_sql() -> str:
    """Latest row per person of the partner over its person-level raw tables (delivery_id, bron_rij)."""
    from regiowerk.warehouse import raw_table

    parts = [f"SELECT persoon_id, delivery_id, bron_rij, geladen_op FROM {raw_table(d.name)} WHERE partner_id = ?"
             for d in canonical.DATASETS.values() if d.person_level]
    return ("SELECT persoon_id, delivery_id, bron_rij FROM (SELECT b.*, row_number() OVER (PARTITION BY persoon_id "
            "ORDER BY geladen_op DESC, delivery_id DESC, bron_rij) AS rij_nr FROM (" + " UNION ALL ".join(parts)
            + ") AS b) AS r WHERE rij_nr = 1")


def _items(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def _profiel(row: tuple, bron: dict[str, tuple[str, int]], labels: dict[str, str]) -> dict:
    (persoon_id, gemeente, niveau, taal, rijbewijzen, wensen, competenties, uren, vanaf, status, versie) = row
    profiel: dict = {
        "idWerkzoekende": persoon_id,
        "codeWerkEnDenkniveauWerkzoekende": WERK_EN_DENKNIVEAU_ONBEKEND if niveau is None else int(niveau),
        "bemiddelingsberoep": [{"codeBeroepsnaam": c, "codelijst": "ISCO-08"} for c in _items(wensen)],
        "competentie": [{"codeCompetentie": c, "omschrijving": labels.get(c, c),
                         "codelijst": "VUM gedragscompetenties v2"} for c in _items(competenties)],
        "rijbewijs": [{"codeSoortRijbewijs": c} for c in _items(rijbewijzen)],
        "taalbeheersing": [{"codeTaal": "nl", "niveau": taal}] if taal else [],
        "mobiliteit": {"bemiddelingsgemeente": gemeente},
        "flexibiliteit": {"datumAanvangBeschikbaarVoorWerk": vanaf.isoformat() if isinstance(vanaf, date) else vanaf},
        "werktijden": {"aantalUrenPerWeek": None if uren is None else float(uren)},
        "regiowerk": {"werkfitStatus": status, "werkfitDefinitieVersie": versie},
    }
    if persoon_id in bron:
        profiel["bronverwijzing"] = {"deliveryId": bron[persoon_id][0], "bronRij": int(bron[persoon_id][1])}
    return profiel


def build_export(partner_id: str, con=None, *, now: datetime | None = None) -> dict:
    """The export document of ``partner_id`` (a dict ready for JSON)."""
    from regiowerk import warehouse_conn
    from regiowerk.registry import load_registry

    partners = load_registry()
    if partner_id not in partners:
        raise RegiowerkError(f"partner {partner_id!r} is onbekend (geen partners/{partner_id}.yml)")
    regio = partners[partner_id].regio_code
    with warehouse_conn.borrowed(con) as c:
        labels = dict(warehouse_conn.execute(c, "SELECT code, omschrijving FROM ref.competenties"))
        bron = {r[0]: (r[1], r[2]) for r in warehouse_conn.execute(
            c, _bron_sql(), [partner_id] * sum(d.person_level for d in canonical.DATASETS.values()))}
        rows = warehouse_conn.execute(c, _PROFIEL_SQL, [regio, f"%,{partner_id},%"])
    werkzoekenden = [_profiel(r, bron, labels) for r in rows]
    return {
        "schemaVersie": SCHEMA_VERSION,
        "standaard": "VUM gegevensstandaard (veldnamen en codelijsten), regiowerk-export",
        "partnerId": partner_id,
        "regioCode": regio,
        "aangemaaktOp": (now or datetime.now(UTC)).replace(microsecond=0).isoformat(),
        "aantalWerkzoekenden": len(werkzoekenden),
        "werkzoekenden": werkzoekenden,
    }


def write_export(partner_id: str, out_dir: Path, con=None) -> Path:
    doc = build_export(partner_id, con)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"vum_{partner_id}_{doc['aangemaaktOp'][:10]}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def _cmd_export_vum(args: argparse.Namespace) -> int:
    path = write_export(args.partner, Path(args.out))
    n = json.loads(path.read_text(encoding="utf-8"))["aantalWerkzoekenden"]
    print(f"{n} profiel(en) van {args.partner} geschreven naar {path}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export data for a partner's own systems (vum)")
    esub = p.add_subparsers(dest="export_command", required=True, metavar="FORMAT")
    v = esub.add_parser(
        "vum", help="VUM-aligned profiles of a partner's own clients (JSON, no BSN)",
        description="Writes DIR/vum_<partner>_<date>.json: the uniform profiles of the persons the partner "
                    "delivered itself, with VUM field names and code lists (schema: "
                    "schemas/vum_profielen.schema.json). No BSN: the partner re-identifies through bronverwijzing "
                    "(its own delivery and row). Reads REGIOWERK_WAREHOUSE / REGIOWERK_WAREHOUSE_URL.")
    v.add_argument("--partner", required=True, metavar="ID", help="partner_id (partners/<id>.yml)")
    v.add_argument("--out", required=True, metavar="DIR", help="output folder")
    v.set_defaults(func=_cmd_export_vum)
