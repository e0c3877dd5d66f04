"""End-to-end test of the dbt project on a small hand-made DuckDB warehouse.

Builds raw/audit with regiowerk.warehouse, adds raw.partners (the registry as a table, written by the loader),
inserts a few crafted persons across a gemeente, UWV and an MBO school plus vacancies, runs ``dbt build``
(models, seeds, data tests and unit tests) and asserts on the contents of the marts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt_project"

PARTNERS_DDL = """
CREATE TABLE IF NOT EXISTS raw.partners (
    partner_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    regio_code VARCHAR NOT NULL,
    gemeente_code VARCHAR,
    naam VARCHAR
)"""

REGIO = "AM21"
DEN_HAAG, DELFT = "GM0518", "GM0503"


def pid(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


P = {name: pid(name) for name in (
    "werkfit", "dertien_uur", "tien_uur", "geen_instrument", "ontheffing", "gemeente_en_mbo", "alleen_uwv",
    "gemeente_en_uwv", "zrm_cap", "delft_uitstroom", "alleen_mbo", "verhuisd")}

PARTNERS = [
    ("gemeente_den_haag", "gemeente", REGIO, DEN_HAAG, "Gemeente Den Haag"),
    ("gemeente_delft", "gemeente", REGIO, DELFT, "Gemeente Delft"),
    ("uwv_haaglanden", "uwv", REGIO, None, "UWV Haaglanden"),
    ("roc_mondriaan", "mbo", REGIO, None, "ROC Mondriaan"),
]


def wz(partner, delivery, persoon, peildatum, **kw):
    row = dict(partner_id=partner, regio_code=REGIO, delivery_id=delivery, bron_rij=1, persoon_id=P[persoon],
               gemeente_code=DEN_HAAG, postcode4="2511", geboortejaar=1990, regeling="participatiewet",
               regeling_start="2025-06-01", status="actief", peildatum=peildatum, ontheffing_arbeidsplicht=False,
               taalniveau_nl="B1", taalroute=False, beschikbaar_vanaf="2026-01-01",
               geladen_op=f"{peildatum} 06:00:00")
    row.update(kw)
    return row


GEM, UWV = "gemeente_den_haag", "uwv_haaglanden"
D_FEB, D_MAR, D_UWV = "dh-2026-02", "dh-2026-03", "uwv-2026-03"
WERKZOEKENDEN = [
    # an older delivery: staging must keep the later one (20 hours)
    wz(GEM, D_FEB, "werkfit", "2026-02-28", uren_beschikbaar_per_week=8, participatieladder=6,
       instrument_datum="2026-02-01"),
    wz(GEM, D_MAR, "werkfit", "2026-03-31", uren_beschikbaar_per_week=20, participatieladder=6,
       instrument_datum="2026-03-01", rijbewijzen="B, AM", beroepswensen="5321,9112"),
    wz(GEM, D_MAR, "dertien_uur", "2026-03-31", uren_beschikbaar_per_week=13, participatieladder=5,
       taalniveau_nl="A2", instrument_datum="2026-03-01", beroepswensen="5322"),
    wz(GEM, D_MAR, "tien_uur", "2026-03-31", uren_beschikbaar_per_week=10, participatieladder=6,
       instrument_datum="2026-03-01"),
    wz(GEM, D_MAR, "geen_instrument", "2026-03-31", uren_beschikbaar_per_week=20),
    wz(GEM, D_MAR, "ontheffing", "2026-03-31", uren_beschikbaar_per_week=20, participatieladder=6,
       ontheffing_arbeidsplicht=True, instrument_datum="2026-03-01"),
    # two instruments, different dates: the more recent ladder 3 (C) beats the older ZRM 4 (A)
    wz(GEM, D_MAR, "gemeente_en_mbo", "2026-03-31", uren_beschikbaar_per_week=24, opleidingsniveau=3,
       zrm_werk_opleiding=4, zrm_laagste_domein=3, zrm_versie="2017", instrument_datum="2026-01-10"),
    wz(GEM, "dh-2026-03-ladder", "gemeente_en_mbo", "2026-03-31", uren_beschikbaar_per_week=24,
       opleidingsniveau=3, participatieladder=3, instrument_datum="2026-03-01",
       geladen_op="2026-03-31 07:00:00"),
    # UWV never delivers ontheffing_arbeidsplicht (a Participatiewet notion): NULL, as in real UWV data
    wz(UWV, D_UWV, "alleen_uwv", "2026-03-15", regeling="ww", gemeente_code=DELFT, uren_beschikbaar_per_week=32,
       taalniveau_nl="B2", werkverkenner_band=3, instrument_datum="2026-03-15", opleidingsniveau=5,
       beschikbaar_vanaf="2026-03-01", ontheffing_arbeidsplicht=None),
    # known to gemeente (nug, more recent) and UWV (ww, pays): regeling ww; equal instrument dates -> B wins
    wz(GEM, D_MAR, "gemeente_en_uwv", "2026-03-31", regeling="nug", uren_beschikbaar_per_week=16,
       participatieladder=4, instrument_datum="2026-02-01"),
    wz(UWV, D_UWV, "gemeente_en_uwv", "2026-03-15", regeling="ww", uren_beschikbaar_per_week=24,
       werkverkenner_band=4, instrument_datum="2026-02-01", ontheffing_arbeidsplicht=None),
    wz(GEM, D_MAR, "zrm_cap", "2026-03-31", uren_beschikbaar_per_week=30, zrm_werk_opleiding=5,
       zrm_laagste_domein=1, zrm_versie="2017", instrument_datum="2026-03-01"),
    wz("gemeente_delft", "delft-2026-02", "delft_uitstroom", "2026-02-28", gemeente_code=DELFT,
       regeling_start="2026-02-10", uren_beschikbaar_per_week=36, participatieladder=6),
    wz("gemeente_delft", "delft-2026-03", "delft_uitstroom", "2026-03-31", gemeente_code=DELFT,
       regeling_start="2026-02-10", status="uitgestroomd", uitstroom_datum="2026-03-20", uitstroom_reden="werk",
       uren_beschikbaar_per_week=36, participatieladder=6),
    # moved from Den Haag to Delft (same region): Den Haag reports the uitstroom, Delft the new regeling
    wz(GEM, D_FEB, "verhuisd", "2026-02-28", status="uitgestroomd", uitstroom_datum="2026-02-20",
       uitstroom_reden="verhuizing", uren_beschikbaar_per_week=20, participatieladder=6),
    wz("gemeente_delft", "delft-2026-03", "verhuisd", "2026-03-31", gemeente_code=DELFT, postcode4="2611",
       regeling_start="2026-03-01", uren_beschikbaar_per_week=20, participatieladder=6),
]

INSCHRIJVINGEN = [
    dict(partner_id="roc_mondriaan", regio_code=REGIO, delivery_id="roc-2026-03", bron_rij=1,
         persoon_id=P["gemeente_en_mbo"], gemeente_code=DEN_HAAG, brin="25LG", crebo="25655", niveau=3,
         leerweg="BBL", sector="zorg", startdatum="2025-09-01", verwachte_einddatum="2027-07-01", status="actief",
         peildatum="2026-03-01", geladen_op="2026-03-02 06:00:00"),
    dict(partner_id="roc_mondriaan", regio_code=REGIO, delivery_id="roc-2026-03", bron_rij=2,
         persoon_id=P["alleen_mbo"], gemeente_code=DELFT, brin="25LG", crebo="25180", niveau=2,
         leerweg="BOL", sector="techniek", startdatum="2025-09-01", verwachte_einddatum="2026-07-01",
         status="actief", peildatum="2026-03-01", geladen_op="2026-03-02 06:00:00"),
]

DIPLOMAS = [
    dict(partner_id="roc_mondriaan", regio_code=REGIO, delivery_id="roc-2026-03-d", bron_rij=1,
         persoon_id=P["gemeente_en_mbo"], brin="25LG", crebo="25498", niveau=2, sector="zorg",
         diplomadatum="2025-07-01", peildatum="2026-03-01", geladen_op="2026-03-02 06:00:00"),
]


def vac(vid, delivery, peildatum, **kw):
    row = dict(partner_id=UWV, regio_code=REGIO, delivery_id=delivery, bron_rij=1, vacature_id=vid,
               kvk_nummer="12345678", gemeente_code=DEN_HAAG, isco_code="5321", sector="zorg", uren_per_week=24,
               contractvorm="tijdelijk", opleidingsniveau_minimaal=4, taalniveau_minimaal="A2",
               rijbewijs_vereist="B", aantal_plekken=2, open_sinds="2026-01-15", peildatum=peildatum,
               geladen_op=f"{peildatum} 05:00:00")
    row.update(kw)
    return row


VACATURES = [
    vac("V1", "uwv-vac-02", "2026-02-28", uren_per_week=16),
    vac("V1", "uwv-vac-03", "2026-03-31", uren_per_week=32),
    vac("V2", "uwv-vac-03", "2026-03-31", gemeente_code=DELFT, isco_code="9112", sector="schoonmaak",
        open_sinds="2026-01-05", sluitingsdatum="2026-02-10", rijbewijs_vereist=None, aantal_plekken=1),
    vac("V3", "uwv-vac-03", "2026-03-31", isco_code="8322", sector="logistiek", open_sinds="2026-03-10",
        rijbewijs_vereist="C,B", aantal_plekken=3),
]


def quar(partner, dataset, delivery, rij, redenen, at, status="open"):
    return dict(partner_id=partner, dataset=dataset, delivery_id=delivery, bron_rij=rij, redenen=redenen,
                waarden="{}", quarantined_at=at, status=status)


def _unmapped(kolom, code, partner, dataset):
    return (f"{kolom}: local code '{code}' has no mapping "
            f"(partners/{partner}.yml datasets.{dataset}.values.{kolom})")


QUARANTINE = [
    quar("gemeente_delft", "werkzoekenden", "delft-2026-02", 4,
         _unmapped("regeling", "99", "gemeente_delft", "werkzoekenden") + "; regeling: missing (required)",
         "2026-02-28 06:00:00"),
    quar("gemeente_delft", "werkzoekenden", "delft-2026-03", 9,
         _unmapped("regeling", "99", "gemeente_delft", "werkzoekenden") + "; regeling: missing (required)",
         "2026-03-31 06:00:00"),
    quar(UWV, "vacatures", "uwv-vac-03", 3, _unmapped("contractvorm", "ZZP", UWV, "vacatures"),
         "2026-03-31 05:00:00"),
    quar(GEM, "werkzoekenden", D_MAR, 12, "bsn: fails the elfproef (value masked); persoon_id: missing (required)",
         "2026-03-31 06:00:00"),
]


def _insert(con, table, rows):
    for row in rows:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        con.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(row.values()))


def make_warehouse(path: Path) -> None:
    from regiowerk import warehouse

    con = warehouse.connect(path)
    try:
        warehouse.ensure_schema(con)
        con.execute(PARTNERS_DDL)
        # warehouse.ensure_schema may already create raw.partners (loader side); name the columns.
        con.executemany("INSERT INTO raw.partners (partner_id, kind, regio_code, gemeente_code, naam)"
                        " VALUES (?, ?, ?, ?, ?)", PARTNERS)
        _insert(con, "raw.werkzoekenden", WERKZOEKENDEN)
        _insert(con, "raw.mbo_inschrijvingen", INSCHRIJVINGEN)
        _insert(con, "raw.mbo_diplomas", DIPLOMAS)
        _insert(con, "raw.vacatures", VACATURES)
        _insert(con, "audit.quarantine", QUARANTINE)
    finally:
        con.close()


def run_dbt(args: list[str], tmp: Path, warehouse_path: Path | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if warehouse_path is not None:
        env["REGIOWERK_WAREHOUSE"] = str(warehouse_path)
    else:
        env.pop("REGIOWERK_WAREHOUSE", None)
    cmd = [sys.executable, "-m", "dbt.cli.main", *args,
           "--profiles-dir", str(DBT_DIR), "--project-dir", str(DBT_DIR),
           "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


_DOCS: dict = {}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dbt")
    path = tmp / "warehouse.duckdb"
    make_warehouse(path)
    result = run_dbt(["build"], tmp, path)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]
    # the build's results (with the unit tests), before docs generate overwrites run_results.json
    _DOCS["build_results"] = json.loads((tmp / "target" / "run_results.json").read_text())["results"]
    # dbt docs generate needs the warehouse (catalog); run it before the read-only connection is opened.
    _DOCS["result"] = run_dbt(["docs", "generate"], tmp, path)
    _DOCS["target"] = tmp / "target"
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def _rows(con, sql, *params):
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=False)) for r in cur.fetchall()]


def kandidaat(con, name):
    rows = _rows(con, "select * from marts.dim_kandidaat where persoon_id = ? and regio_code = ?", P[name], REGIO)
    assert len(rows) == 1
    return rows[0]


def status(con, name):
    rows = _rows(con, "select definitie_versie, werkfit_status, redenen, afstand from marts.fct_werkfit_beoordeling"
                      " where persoon_id = ?", P[name])
    return {r["definitie_versie"]: r for r in rows}


def test_parse_without_warehouse(tmp_path):
    result = run_dbt(["parse"], tmp_path, None)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert (tmp_path / "target" / "manifest.json").exists()


def test_dim_kandidaat_unifies_sources(built):
    k = kandidaat(built, "gemeente_en_mbo")
    assert k["bronnen"] == "gemeente_den_haag,roc_mondriaan"
    assert k["opleidingsniveau"] == 4 and k["opleidingsniveau_bron"] == "mbo_diploma"
    assert k["hoogste_crebo"] == "25498" and k["mbo_actief"] is True

    u = kandidaat(built, "alleen_uwv")
    assert u["bronnen"] == "uwv_haaglanden" and u["regeling"] == "ww" and u["doelgroep"] == "ww"
    assert u["opleidingsniveau"] == 5 and u["opleidingsniveau_bron"] == "zelfgerapporteerd"
    assert u["gemeente_code"] == DELFT and u["mbo_actief"] is False

    gu = kandidaat(built, "gemeente_en_uwv")
    assert gu["bronnen"] == "gemeente_den_haag,uwv_haaglanden"
    assert gu["regeling"] == "ww"  # the benefit-paying partner wins over the more recent nug row
    assert gu["uren_beschikbaar_per_week"] == 16  # most recent availability

    w = kandidaat(built, "werkfit")
    assert w["uren_beschikbaar_per_week"] == 20 and w["rijbewijzen"] == "AM,B"

    m = kandidaat(built, "alleen_mbo")
    assert m["regeling"] is None and m["doelgroep"] == "onbekend" and m["mbo_actief"] is True
    assert built.execute("select count(*) from marts.dim_kandidaat").fetchone()[0] == len(P)


def test_werkfit_statuses(built):
    expect = {
        "werkfit": ("werkfit", "werkfit"),
        "dertien_uur": ("werkfit", "werkfit_met_ondersteuning"),  # 2026.2 needs 15 hours
        "tien_uur": ("werkfit_met_ondersteuning", "werkfit_met_ondersteuning"),
        "geen_instrument": ("onbekend", "onbekend"),
        "ontheffing": ("niet_bemiddelbaar", "niet_bemiddelbaar"),
        "gemeente_en_mbo": ("in_ontwikkeling", "in_ontwikkeling"),  # ladder 3 is more recent than ZRM 4
        "alleen_uwv": ("werkfit", "werkfit"),
        "gemeente_en_uwv": ("werkfit_met_ondersteuning", "werkfit_met_ondersteuning"),  # equal dates: B
        "zrm_cap": ("in_ontwikkeling", "in_ontwikkeling"),  # a ZRM domain at 1 caps at C
        "alleen_mbo": ("geen_werkzoekende", "geen_werkzoekende"),  # a student, not a job seeker
        "delft_uitstroom": ("geen_werkzoekende", "geen_werkzoekende"),  # left the benefit
    }
    for name, (v1, v2) in expect.items():
        s = status(built, name)
        assert (s["2026.1"]["werkfit_status"], s["2026.2"]["werkfit_status"]) == (v1, v2), (name, s)
    assert status(built, "werkfit")["2026.1"]["redenen"] == ""
    assert "instrument" in status(built, "geen_instrument")["2026.1"]["redenen"]
    assert "15" in status(built, "dertien_uur")["2026.2"]["redenen"]
    assert status(built, "zrm_cap")["2026.1"]["afstand"] == "C"
    uwv = _rows(built, "select * from marts.fct_werkfit_beoordeling where persoon_id = ? and definitie_versie = "
                       "'2026.1'", P["alleen_uwv"])[0]
    assert uwv["crit_geen_ontheffing"] is True and uwv["ontheffing_arbeidsplicht"] is None
    assert uwv["criteria_niet_van_toepassing"] == "ontheffing arbeidsplicht: niet van toepassing (ww)"
    assert status(built, "alleen_mbo")["2026.1"]["redenen"] == "geen werkzoekende: alleen bekend bij het MBO"


def test_versie_vergelijking(built):
    rows = _rows(built, "select * from marts.werkfit_versie_vergelijking where doelgroep = 'participatiewet'")
    assert len(rows) == 1
    r = rows[0]
    assert (r["versie_van"], r["versie_naar"]) == ("2026.1", "2026.2")
    # the MBO-only student is not a job seeker: no doelgroep 'onbekend' row
    assert not _rows(built, "select * from marts.werkfit_versie_vergelijking where doelgroep = 'onbekend'")
    assert r["aantal_gewijzigd"] == 1 and r["naar_werkfit"] == r["van_werkfit"] - 1


def test_dim_vacature(built):
    rows = {r["vacature_id"]: r for r in _rows(built, "select * from marts.dim_vacature")}
    assert set(rows) == {"V1", "V2", "V3"}
    assert rows["V1"]["uren_per_week"] == 32 and rows["V1"]["regio_code"] == REGIO
    assert rows["V1"]["is_open"] is True and rows["V2"]["is_open"] is False
    assert rows["V3"]["isco_hoofdgroep"] == "8"


def test_kpi_regio_maand(built):
    rows = _rows(built, "select * from marts.kpi_regio_maand where gemeente_code = ? order by maand", DELFT)
    by = {(str(r["maand"]), r["doelgroep"]): r for r in rows}
    feb = by[("2026-02-01", "participatiewet")]
    assert feb["aantal_werkzoekenden"] == 1 and feb["instroom"] == 1
    mar = by[("2026-03-01", "participatiewet")]
    assert mar["uitstroom"] == 1 and mar["uitstroom_naar_werk"] == 1
    assert mar["aantal_werkzoekenden"] == 1 and mar["instroom"] == 1  # verhuisd, new in Delft
    dh = _rows(built, "select * from marts.kpi_regio_maand where gemeente_code = ? and maand = date '2026-03-01'"
                      " and doelgroep = 'participatiewet'", DEN_HAAG)[0]
    assert dh["werkfit_definitie_versie"] == "2026.1"
    assert dh["aantal_werkfit"] == 2  # werkfit + dertien_uur
    assert dh["open_vacatures"] == 2 and dh["open_vacature_plekken"] == 5
    # the mover left Den Haag in February (uitstroom, reason verhuizing: not naar werk)
    dh_feb = _rows(built, "select * from marts.kpi_regio_maand where gemeente_code = ? and maand = date '2026-02-01'"
                          " and doelgroep = 'participatiewet'", DEN_HAAG)[0]
    assert dh_feb["uitstroom"] == 1 and dh_feb["uitstroom_naar_werk"] == 0
    for r in _rows(built, "select * from marts.kpi_regio_maand"):
        assert r["regio_code"] and r["gemeente_code"] and r["maand"] and r["doelgroep"]


def test_one_month_rule_for_every_stock_kpi(built):
    """kpi_regio_maand, kpi_werkfit_status_maand and kpi_werkzoekenden_maand count the same stock in the same
    month (int_werkzoekende_maandstand); February has a stock (the February deliveries) but no status history."""
    totals = {}
    for model, measure in [("kpi_regio_maand", "aantal_werkzoekenden"),
                           ("kpi_werkzoekenden_maand", "aantal_werkzoekenden")]:
        totals[model] = {(r["maand"], r["doelgroep"]): r["n"] for r in _rows(
            built, f"select maand, doelgroep, sum({measure}) as n from marts.{model} group by all having n > 0")}
    assert totals["kpi_regio_maand"] == totals["kpi_werkzoekenden_maand"]
    status_sum = " + ".join(f"aantal_{s}" for s in ("werkfit", "werkfit_met_ondersteuning", "in_ontwikkeling",
                                                      "niet_bemiddelbaar", "onbekend"))
    per_status = {r["maand"]: r["n"] for r in _rows(
        built, f"select maand, sum({status_sum}) as n from marts.kpi_regio_maand group by all having n > 0")}
    trend = {r["maand"]: r["n"] for r in _rows(
        built, "select maand, sum(aantal_werkzoekenden) as n from marts.kpi_werkfit_status_maand group by all")}
    assert per_status == trend and set(trend) == {dt.date(2026, 3, 1)}
    # February stock: werkfit (Den Haag) and delft_uitstroom (Delft) active; verhuisd had left Den Haag
    assert totals["kpi_regio_maand"][(dt.date(2026, 2, 1), "participatiewet")] == 2
    # by age: geboortejaar 1990 -> 36 in 2026 -> 27_54; the gemeente fixtures deliver no doelgroepregister
    groups = _rows(built, "select distinct leeftijdsgroep, doelgroepregister from marts.kpi_werkzoekenden_maand")
    assert {(g["leeftijdsgroep"], g["doelgroepregister"]) for g in groups} == {("27_54", "onbekend")}


def test_dim_kandidaat_verhuisd_binnen_regio(built):
    k = kandidaat(built, "verhuisd")  # exactly one row in the region
    assert k["gemeente_code"] == DELFT and k["postcode4"] == "2611"
    assert k["werkzoekende_status"] == "actief" and k["bronnen"] == "gemeente_delft,gemeente_den_haag"


def test_kpi_vacatures_isco_maand(built):
    rows = {(r["gemeente_code"], str(r["maand"]), r["isco_hoofdgroep"]): r
            for r in _rows(built, "select * from marts.kpi_vacatures_isco_maand")}
    zorg = rows[(DEN_HAAG, "2026-03-01", "5")]
    assert zorg["open_vacatures"] == 1 and zorg["open_vacature_plekken"] == 2
    assert zorg["aantal_werkfit_kandidaten"] == 2 and zorg["spanning"] == 0.5  # werkfit + dertien_uur (2026.1)
    assert zorg["werkfit_definitie_versie"] == "2026.1"
    assert rows[(DEN_HAAG, "2026-03-01", "8")]["open_vacatures"] == 1
    assert rows[(DEN_HAAG, "2026-03-01", "8")]["spanning"] is None  # no candidates
    schoon = rows[(DEN_HAAG, "2026-03-01", "9")]
    assert schoon["open_vacatures"] == 0 and schoon["aantal_werkfit_kandidaten"] == 1 and schoon["spanning"] == 0
    assert rows[(DELFT, "2026-02-01", "9")]["open_vacatures"] == 1  # V2 closed 2026-02-10
    assert (DELFT, "2026-03-01", "9") not in rows


def test_snapshot_kandidaat_status(built):
    rows = _rows(built, "select * from snapshots.snap_kandidaat_status")
    assert len(rows) == len(P) and all(r["dbt_valid_to"] is None for r in rows)
    by = {r["persoon_id"]: r for r in rows}
    assert by[P["dertien_uur"]]["werkfit_status"] == "werkfit"  # adopted version 2026.1
    assert by[P["dertien_uur"]]["werkfit_definitie_versie"] == "2026.1"
    assert by[P["verhuisd"]]["gemeente_code"] == DELFT
    trend = _rows(built, "select maand, sum(aantal_werkzoekenden) as n from marts.kpi_werkfit_status_maand"
                         " where gemeente_code = ? and doelgroep = 'participatiewet' and werkfit_status = 'werkfit'"
                         " group by maand", DEN_HAAG)
    assert len(trend) == 1 and trend[0]["n"] == 2  # one snapshot month so far: werkfit + dertien_uur


def test_onbekende_codes(built):
    rows = {(r["partner_id"], r["kolom"], r["lokale_code"]): r
            for r in _rows(built, "select * from kwaliteit.onbekende_codes")}
    assert set(rows) == {("gemeente_delft", "regeling", "99"), (UWV, "contractvorm", "ZZP")}
    delft = rows[("gemeente_delft", "regeling", "99")]
    assert delft["dataset"] == "werkzoekenden" and delft["aantal_rijen"] == 2 and delft["aantal_leveringen"] == 2
    assert str(delft["eerste_gezien"]) == "2026-02-28 06:00:00"
    assert delft["mapping_pad"] == "partners/gemeente_delft.yml datasets.werkzoekenden.values.regeling"


def test_docs_generate(built):
    import json

    result = _DOCS["result"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    catalog = json.loads((_DOCS["target"] / "catalog.json").read_text())
    manifest = json.loads((_DOCS["target"] / "manifest.json").read_text())
    assert "model.regiowerk.onbekende_codes" in catalog["nodes"]
    assert "snapshot.regiowerk.snap_kandidaat_status" in catalog["nodes"]
    node = manifest["nodes"]["model.regiowerk.onbekende_codes"]
    assert node["schema"] == "kwaliteit" and node["config"]["meta"]["bi_leesbaar"] is False
    assert manifest["nodes"]["snapshot.regiowerk.snap_kandidaat_status"]["schema"] == "snapshots"
    assert (_DOCS["target"] / "index.html").exists()


def test_unit_tests_run_and_pass_here_but_not_in_production(built, tmp_path):
    """dbt's unit tests run in this suite (CI); the production flags of the warehouse DAG and the benchmark
    (regiowerk.dbt_runner.PRODUCTION_DBT_FLAGS) leave them out."""
    from regiowerk.dbt_runner import PRODUCTION_DBT_FLAGS

    unit = [r for r in _DOCS["build_results"] if r["unique_id"].startswith("unit_test.")]
    assert len(unit) >= 3 and all(r["status"] == "pass" for r in unit), unit
    listed = run_dbt(["ls", "--resource-type", "unit_test", "test", "--output", "name"], tmp_path, None)
    assert listed.returncode == 0, listed.stdout[-4000:]
    production = run_dbt(["ls", "--resource-type", "unit_test", "test", "--output", "name", *PRODUCTION_DBT_FLAGS],
                         tmp_path, None)
    assert production.returncode == 0, production.stdout[-4000:]
    names = {r["unique_id"].split(".")[-1] for r in unit}
    assert names <= set(listed.stdout.split())
    assert not names & set(production.stdout.split())
    assert len(production.stdout.split()) > 10  # the data tests stay
