"""End to end: `regiowerk demo` runs the partner DAGs and the warehouse DAG; the marts hold what the sources say.

One demo run per session (the demo_run and wh fixtures in conftest.py, shared with test_match); the tests read
its result.
"""

import csv
import sqlite3

import openpyxl
from regiowerk.registry import load_registry
from regiowerk.settings import paths


def q(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def _source_rows() -> dict[tuple[str, str], list[dict]]:
    """Read every demo source independently of the connectors: (partner, dataset) -> rows as dicts."""
    from regiowerk.demo.generate import generate_demo  # for the UWV records served by the local API

    p = paths()
    rows: dict[tuple[str, str], list[dict]] = {}
    for partner in load_registry().values():
        for ds, m in partner.datasets.items():
            c = partner.connector
            if c.type == "file":
                files = sorted((p.drop / partner.delivery_folder()).glob(m.source))
                assert files, (partner.partner_id, m.source)
                if c.format == "csv":
                    enc = "utf-8-sig" if c.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else c.encoding
                    with files[-1].open(encoding=enc, newline="") as f:
                        data = [r for r in csv.DictReader(f, delimiter=c.delimiter) if any((v or "").strip()
                                                                                             for v in r.values())]
                else:
                    ws = openpyxl.load_workbook(files[-1], read_only=True).active
                    it = ws.iter_rows(values_only=True)
                    header = [str(h) for h in next(it)]
                    data = [dict(zip(header, r, strict=False)) for r in it if any(v not in (None, "") for v in r)]
            elif c.type == "sql":
                con = sqlite3.connect(p.data / "demo" / "sis.sqlite")
                con.row_factory = sqlite3.Row
                data = [dict(r) for r in con.execute(f"SELECT * FROM {m.source}")]
                con.close()
            else:
                import tempfile
                from pathlib import Path

                tmp = Path(tempfile.mkdtemp())
                data = generate_demo(tmp / "drop", tmp / "sis.sqlite").uwv_records[m.source]
            rows[(partner.partner_id, ds)] = data
    return rows


def test_all_dags_succeed_and_report_is_printed(demo_run):
    states, output = demo_run
    assert states and all("success" in s for s in states.values()), states
    assert "Deliveries" in output and "marts.dim_kandidaat" in output
    for partner_id in load_registry():
        assert partner_id in output


def test_every_row_is_loaded_or_quarantined(wh):
    sources = _source_rows()
    deliveries = q(wh, "SELECT partner_id, dataset, rows_received, rows_loaded, rows_quarantined, status "
                       "FROM audit.deliveries WHERE status = 'loaded'")
    assert {(d[0], d[1]) for d in deliveries} == set(sources)
    for partner_id, ds, received, loaded, quarantined, _ in deliveries:
        assert received == len(sources[(partner_id, ds)]), (partner_id, ds)
        assert received == loaded + quarantined
        assert q(wh, f"SELECT count(*) FROM raw.{ds} WHERE partner_id = ?", partner_id)[0][0] == loaded
        assert q(wh, "SELECT count(*) FROM audit.quarantine WHERE partner_id = ? AND dataset = ?",
                 partner_id, ds)[0][0] == quarantined
    # every source carries defects, so every person-level source quarantines something
    for partner_id, ds, _, _, quarantined, _ in deliveries:
        if ds != "vacatures":
            assert quarantined > 0, (partner_id, ds)


def test_quarantine_reasons_name_the_field(wh):
    reasons = [r[0] for r in q(wh, "SELECT redenen FROM audit.quarantine")]
    assert any("bsn: fails the elfproef" in r for r in reasons)
    assert any(r.startswith("gemeente_code") or "gemeente_code" in r for r in reasons)
    assert any("duplicate" in r for r in reasons)
    assert any("has no mapping" in r for r in reasons)


def _clear_bsns() -> set[str]:
    found = set()
    for (partner_id, ds), rows in _source_rows().items():
        m = load_registry()[partner_id].datasets[ds]
        col = m.columns.get("bsn")
        if not col:
            continue
        for r in rows:
            v = r.get(col)
            digits = "".join(ch for ch in str(v or "") if ch.isdigit())
            if len(digits) >= 8:
                found.update({digits, digits.zfill(9)})
    return found


def test_no_clear_bsn_in_warehouse_landing_or_logs(wh):
    bsns = _clear_bsns()
    assert len(bsns) > 100
    text_columns = q(wh, "SELECT table_schema, table_name, column_name FROM information_schema.columns "
                         "WHERE data_type = 'VARCHAR'")
    assert len(text_columns) > 50
    for schema, table, column in text_columns:
        values = {r[0] for r in q(wh, f'SELECT DISTINCT "{column}" FROM "{schema}"."{table}" '
                                      f'WHERE "{column}" IS NOT NULL')}
        blob = "\n".join(values)
        leaked = [b for b in bsns if b in blob]
        assert not leaked, f"clear BSN in {schema}.{table}.{column}"
    p = paths()
    scanned = 0
    for folder in (p.landing, p.staging, p.state, p.runs, p.airflow_home):
        for f in folder.rglob("*") if folder.exists() else []:
            if f.is_file() and f.suffix != ".db":
                data = f.read_bytes()
                scanned += 1
                assert not [b for b in bsns if b.encode() in data], f"clear BSN in {f}"
    assert scanned > 0
    assert not list(p.staging.rglob("*.enc")), "encrypted staging files must be removed after pseudonymisation"


def test_marts_unify_persons_across_sources(wh):
    multi = q(wh, "SELECT bronnen FROM marts.dim_kandidaat WHERE bronnen LIKE '%,%'")
    assert multi, "persons known to several partners are brought together"
    assert any("uwv_haaglanden" in b[0] and "gemeente_" in b[0] for b in multi)
    assert any("mbo_roc_mondriaan" in b[0] for b in multi)
    raw_persons = q(wh, "SELECT count(DISTINCT persoon_id) FROM (SELECT persoon_id FROM raw.werkzoekenden "
                        "UNION SELECT persoon_id FROM raw.mbo_inschrijvingen "
                        "UNION SELECT persoon_id FROM raw.mbo_diplomas)")[0][0]
    assert q(wh, "SELECT count(*) FROM marts.dim_kandidaat")[0][0] == raw_persons
    assert q(wh, "SELECT count(*), count(DISTINCT persoon_id) FROM marts.dim_kandidaat WHERE regio_code = 'AM21'")[0] \
        == q(wh, "SELECT count(*), count(*) FROM marts.dim_kandidaat")[0]


def test_werkfit_reasons_are_consistent(wh):
    statuses = dict(q(wh, "SELECT werkfit_status, count(*) FROM marts.fct_werkfit_beoordeling GROUP BY 1"))
    assert set(statuses) <= {"werkfit", "werkfit_met_ondersteuning", "in_ontwikkeling", "niet_bemiddelbaar",
                             "onbekend", "geen_werkzoekende"}
    assert len(statuses) >= 4, statuses
    assert q(wh, "SELECT count(*) FROM marts.fct_werkfit_beoordeling "
                 "WHERE werkfit_status = 'werkfit' AND coalesce(redenen, '') <> ''")[0][0] == 0
    assert q(wh, "SELECT count(*) FROM marts.fct_werkfit_beoordeling "
                 "WHERE werkfit_status <> 'werkfit' AND coalesce(redenen, '') = ''")[0][0] == 0
    versions = q(wh, "SELECT DISTINCT definitie_versie FROM marts.fct_werkfit_beoordeling")
    assert len(versions) >= 1


def _adopted_status_by_source(wh) -> list[tuple[str, str, str | None]]:
    """(bronnen, werkfit_status, criteria_niet_van_toepassing) of active job seekers, adopted version."""
    return q(wh, "SELECT k.bronnen, f.werkfit_status, f.criteria_niet_van_toepassing "
                 "FROM marts.dim_kandidaat AS k "
                 "JOIN intermediate.int_kandidaat_status AS s USING (regio_code, persoon_id) "
                 "JOIN marts.fct_werkfit_beoordeling AS f "
                 "ON f.persoon_id = k.persoon_id AND f.regio_code = k.regio_code "
                 "AND f.definitie_versie = s.werkfit_definitie_versie WHERE k.werkzoekende_status = 'actief'")


def test_werkfit_holds_for_every_source(wh):
    """Issue 12: fewer than 20% of the active job seekers onbekend; persons known only to a gemeente and persons
    known only to UWV both include werkfit persons (UWV never delivers ontheffing: not applicable there)."""
    rows = _adopted_status_by_source(wh)
    assert len(rows) > 150
    onbekend = sum(1 for _, s, _ in rows if s == "onbekend")
    assert onbekend / len(rows) < 0.20, (onbekend, len(rows))
    gemeente_only = [r for r in rows if all(b.startswith("gemeente_") for b in r[0].split(","))]
    uwv_only = [r for r in rows if r[0] == "uwv_haaglanden"]
    assert gemeente_only and uwv_only
    assert any(s == "werkfit" for _, s, _ in gemeente_only)
    uwv_werkfit = [r for r in uwv_only if r[1] == "werkfit"]
    assert uwv_werkfit
    assert all(n.startswith("ontheffing arbeidsplicht: niet van toepassing") for _, _, n in uwv_werkfit)
    assert not [r for r in rows if r[1] == "geen_werkzoekende"]  # every active job seeker is assessed


def test_mbo_only_students_are_not_assessed_as_job_seekers(wh):
    mbo_only = q(wh, "SELECT f.werkfit_status, count(*) FROM marts.dim_kandidaat AS k "
                     "JOIN marts.fct_werkfit_beoordeling AS f USING (persoon_id, regio_code) "
                     "WHERE k.bronnen = 'mbo_roc_mondriaan' GROUP BY 1")
    assert dict(mbo_only).keys() == {"geen_werkzoekende"}, mbo_only
    assert sum(n for _, n in mbo_only) > 100
    assert not q(wh, "SELECT * FROM marts.werkfit_versie_vergelijking WHERE doelgroep = 'onbekend'")


def test_kpis_and_vacancies(wh):
    assert q(wh, "SELECT count(*) FROM marts.dim_vacature")[0][0] == \
        q(wh, "SELECT count(DISTINCT vacature_id) FROM raw.vacatures")[0][0]
    regions = {r[0] for r in q(wh, "SELECT DISTINCT regio_code FROM marts.kpi_regio_maand")}
    assert regions == {"AM21"}
    total = q(wh, "SELECT sum(aantal_werkzoekenden) FROM marts.kpi_regio_maand")[0][0]
    assert total and total > 0


def test_rerun_loads_nothing_twice(wh):
    """Running a delivery that is already loaded again gives the same warehouse as running it once."""
    from regiowerk.pipeline import run_delivery

    def snapshot():
        counts = {t: q(wh, f"SELECT count(*) FROM raw.{t}")[0][0]
                  for t in ("werkzoekenden", "vacatures", "mbo_inschrijvingen", "mbo_diplomas")}
        counts["quarantine"] = q(wh, "SELECT count(*) FROM audit.quarantine")[0][0]
        counts["loaded"] = q(wh, "SELECT count(*) FROM audit.deliveries WHERE status = 'loaded'")[0][0]
        return counts

    before = snapshot()
    for partner_id in ("gemeente_den_haag", "gemeente_delft", "gemeente_westland"):
        again = run_delivery(partner_id, "werkzoekenden")
        assert again["status"] == "already_loaded", partner_id
    assert snapshot() == before


STEERING_COLUMNS = {
    "kpi_plaatsingen_maand": {"regio_code", "gemeente_code", "doelgroep", "maand", "aantal_plaatsingen",
                              "aantal_beoordeelbaar_26w", "aantal_duurzaam_26w", "aandeel_duurzaam_26w",
                              "aantal_beoordeelbaar_52w", "aantal_duurzaam_52w", "aandeel_duurzaam_52w",
                              "aantal_terug_in_uitkering", "aantal_met_instrument"},
    "kpi_spanning_beroep": {"regio_code", "maand", "isco_code", "isco_subgroep", "aantal_open_vacatures",
                            "aantal_kandidaten", "spanning", "kansberoep"},
    "kpi_mbo_aanbod_vraag": {"regio_code", "schooljaar", "sector", "crebo", "niveau", "aantal_inschrijvingen",
                             "aantal_diplomas", "aantal_open_vacatures_sector"},
    "fct_plaatsing": {"persoon_id", "kvk_nummer", "startdatum", "duurzaam_26w", "duurzaam_52w",
                      "terug_in_uitkering"},
}


def test_steering_marts_exist_with_their_columns_and_rows(wh, demo_run):
    for mart, columns in STEERING_COLUMNS.items():
        found = {r[0] for r in q(wh, "SELECT column_name FROM information_schema.columns "
                                     "WHERE table_schema = 'marts' AND table_name = ?", mart)}
        assert columns <= found, (mart, columns - found)
        assert q(wh, f"SELECT count(*) FROM marts.{mart}")[0][0] > 0, mart
    _, output = demo_run
    assert "plaatsingen:" in output and "spanning " in output and "mbo " in output
    # the stock headline: the latest month's active job seekers of kpi_werkzoekenden_maand, by leeftijdsgroep
    month, stock = q(wh, "SELECT max(maand), sum(aantal_werkzoekenden) FROM marts.kpi_werkzoekenden_maand "
                         "WHERE maand = (SELECT max(maand) FROM marts.kpi_werkzoekenden_maand)")[0]
    assert stock > 0 and f"werkzoekenden eind {str(month)[:7]}: {stock} actief; per leeftijdsgroep " in output


def test_every_loaded_placement_is_one_fct_row_and_counted_once(wh):
    placements = q(wh, "SELECT count(*) FROM (SELECT DISTINCT regio_code, persoon_id, kvk_nummer, startdatum "
                       "FROM raw.plaatsingen)")[0][0]
    assert placements > 30
    assert q(wh, "SELECT count(*) FROM marts.fct_plaatsing")[0][0] == placements
    assert q(wh, "SELECT sum(aantal_plaatsingen) FROM marts.kpi_plaatsingen_maand")[0][0] == placements
    # by file (gemeente) and over the API (UWV)
    assert {r[0] for r in q(wh, "SELECT DISTINCT partner_id FROM raw.plaatsingen")} == {
        "gemeente_den_haag", "uwv_haaglanden"}


def test_duurzaam_and_terug_are_meaningful(wh):
    d26 = dict(q(wh, "SELECT coalesce(cast(duurzaam_26w AS varchar), 'null'), count(*) FROM marts.fct_plaatsing "
                     "GROUP BY 1"))
    assert {"true", "false", "null"} <= set(d26) and min(d26.values()) >= 3, d26
    assert q(wh, "SELECT count(*) FROM marts.fct_plaatsing WHERE terug_in_uitkering")[0][0] >= 3
    # not judgeable means: 26 weeks after the start lie beyond the peildatum, and only then
    assert q(wh, "SELECT count(*) FROM marts.fct_plaatsing WHERE (duurzaam_26w IS NULL) <> "
                 "(startdatum + INTERVAL 182 DAY > peildatum)")[0][0] == 0
    # doelgroep comes from dim_kandidaat; 'onbekend' only for a person it does not know (e.g. whose werkzoekenden
    # row was quarantined as a duplicate)
    assert q(wh, "SELECT count(*) FROM marts.fct_plaatsing AS f WHERE (doelgroep = 'onbekend') <> NOT EXISTS ("
                 "SELECT 1 FROM marts.dim_kandidaat AS k WHERE k.persoon_id = f.persoon_id)")[0][0] == 0
    assert q(wh, "SELECT count(*) FROM marts.fct_plaatsing WHERE doelgroep <> 'onbekend'")[0][0] > 30
    shares = q(wh, "SELECT aandeel_duurzaam_26w FROM marts.kpi_plaatsingen_maand "
                   "WHERE aandeel_duurzaam_26w IS NOT NULL")
    assert shares and all(0 <= s[0] <= 1 for s in shares)


def test_spanning_is_known_in_most_rows_with_open_vacancies(wh):
    rows, with_ratio = q(wh, "SELECT count(*), count(spanning) FROM marts.kpi_spanning_beroep "
                             "WHERE aantal_open_vacatures > 0")[0]
    assert rows >= 10 and with_ratio > rows / 2, (rows, with_ratio)
    assert q(wh, "SELECT count(*) FROM marts.kpi_spanning_beroep WHERE spanning IS NULL "
                 "AND aantal_kandidaten > 0")[0][0] == 0
    assert q(wh, "SELECT count(*) FROM marts.kpi_spanning_beroep WHERE kansberoep")[0][0] > 0
    assert q(wh, "SELECT count(*) FROM marts.kpi_spanning_beroep WHERE isco_subgroep <> substr(isco_code, 1, 3) "
                 "OR length(isco_code) <> 4")[0][0] == 0


def test_one_open_vacancy_rule_for_every_mart(wh):
    """The marts count open vacancies from int_vacatures_open_per_maand, and nothing else."""
    assert q(wh, "SELECT count(*) FROM intermediate.int_vacatures_open_per_maand")[0][0] > 0
    # kpi_regio_maand: per gemeente and month (repeated on its doelgroep rows)
    regio = q(wh, "SELECT count(*), count(*) FILTER (WHERE open_vacatures <> (SELECT count(*) FROM "
                  "intermediate.int_vacatures_open_per_maand AS v WHERE v.gemeente_code = k.gemeente_code "
                  "AND v.maand = k.maand)) FROM (SELECT DISTINCT gemeente_code, maand, open_vacatures "
                  "FROM marts.kpi_regio_maand WHERE open_vacatures > 0) AS k")[0]
    assert regio[0] > 0 and regio[1] == 0, regio
    # kpi_spanning_beroep: per region of the workplace, month and unit group
    spanning = q(wh, "SELECT count(*), count(*) FILTER (WHERE aantal_open_vacatures <> (SELECT count(*) FROM "
                     "intermediate.int_vacatures_open_per_maand AS v WHERE v.regio_code = s.regio_code "
                     "AND v.maand = s.maand AND v.isco_code = s.isco_code)) FROM marts.kpi_spanning_beroep AS s "
                     "WHERE aantal_open_vacatures > 0")[0]
    assert spanning[0] > 0 and spanning[1] == 0, spanning
    # a vacancy without sluitingsdatum is open up to the latest reporting month, not beyond
    last = q(wh, "SELECT cast(max(date_trunc('month', peildatum)) AS date) FROM (SELECT peildatum "
                 "FROM raw.vacatures UNION ALL SELECT peildatum "
                 "FROM staging.stg_platform__werkzoekenden_historie)")[0][0]
    assert last is not None
    open_ended = q(wh, "SELECT max(maand) FROM intermediate.int_vacatures_open_per_maand WHERE vacature_id IN "
                       "(SELECT vacature_id FROM marts.dim_vacature WHERE sluitingsdatum IS NULL)")[0][0]
    assert open_ended == last, (open_ended, last)


def test_mbo_supply_meets_vacancy_sectors(wh):
    matched = q(wh, "SELECT count(DISTINCT sector) FROM marts.kpi_mbo_aanbod_vraag "
                    "WHERE aantal_open_vacatures_sector > 0 AND (aantal_inschrijvingen > 0 OR aantal_diplomas > 0)")
    assert matched[0][0] >= 5
    assert q(wh, "SELECT sum(aantal_inschrijvingen) FROM marts.kpi_mbo_aanbod_vraag")[0][0] == \
        q(wh, "SELECT count(*) FROM staging.stg_mbo__inschrijvingen")[0][0]
    assert q(wh, "SELECT count(*) FROM marts.kpi_mbo_aanbod_vraag "
                 "WHERE NOT regexp_matches(schooljaar, '^[0-9]{4}/[0-9]{4}$')")[0][0] == 0
