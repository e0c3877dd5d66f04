"""Matching (issue 13): competences at the door, the match mart on the demo, bi.kandidaten_anoniem, row-level
security of the matches, `regiowerk match` and `regiowerk export vum`, on DuckDB (the demo run of
test_demo_e2e, shared per session) and PostgreSQL (pg_server.demo_warehouse, shared with test_access)."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import jsonschema
import psycopg2
import pytest
import test_demo_e2e
from pg_server import demo_deliveries, demo_warehouse
from regiowerk import access, canonical, cli
from regiowerk.demo.generate import elfproef
from regiowerk.mapping import map_to_canonical
from regiowerk.registry import load_registry
from regiowerk.settings import paths
from test_mapping import GOOD, frame, partner

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "schemas" / "vum_profielen.schema.json").read_text(encoding="utf-8"))
TAAL = {c: i for i, c in enumerate(canonical.CODE_LISTS["taalniveau"])}
MATCHES = "marts.fct_kandidaat_vacature_match"


def rows(con, sql, params=()):
    if isinstance(con, psycopg2.extensions.connection):
        with con.cursor() as cur:
            cur.execute(sql, params or None)  # no parameters: a '%' in the SQL is not a placeholder
            names = [d[0] for d in cur.description]
            out = cur.fetchall()
        con.rollback()
    else:
        result = con.execute(sql, list(params))
        names = [d[0] for d in result.description]
        out = result.fetchall()
    return [dict(zip(names, r, strict=True)) for r in out]


# ---------------------------------------------------------------------------------------------- at the door
def test_competence_vocabulary_seed_equals_the_door_codes():
    with open(ROOT / "dbt_project" / "seeds" / "competenties.csv", encoding="utf-8") as f:
        seed = [r["code"] for r in csv.DictReader(f)]
    assert seed == list(canonical.CODE_LISTS["competentie"])
    assert canonical.WERKZOEKENDEN.column("competenties").code_list == "competentie"
    assert canonical.VACATURES.column("competenties").code_list == "competentie"


def test_partner_skill_labels_are_mapped_and_an_unknown_label_is_an_unknown_code():
    p = partner(columns={**partner().datasets["werkzoekenden"].columns, "competenties": "Competenties"},
                values={"competenties": {"SAMENWERKEN": "24105", "KLANTGERICHT": "24119"}})
    good = frame([GOOD, ["123456782"] + GOOD[1:]])
    good["Competenties"] = ["KLANTGERICHT;SAMENWERKEN", "SAMENWERKEN;JONGLEREN"]
    m = map_to_canonical(good, p, "werkzoekenden", key=b"k", source="x.csv")
    assert set(m.frame.iloc[0]["competenties"].split(",")) == {"24105", "24119"}
    # the same reason text as every unmapped code, so kwaliteit.onbekende_codes reports it
    assert m.reasons[1] == ["competenties: local code 'JONGLEREN' has no mapping "
                            "(partners/gemeente_test.yml datasets.werkzoekenden.values.competenties)"]


def test_uwv_partner_file_maps_every_competence_code():
    values = load_registry()["uwv_haaglanden"].datasets["vacatures"].values["competenties"]
    assert sorted(set(values.values())) == sorted(canonical.CODE_LISTS["competentie"])


# ---------------------------------------------------------------------------------------------- DuckDB demo
def _check_matches(con):
    open_ids = {r["vacature_id"] for r in rows(con, "SELECT vacature_id FROM marts.dim_vacature WHERE is_open")}
    matches = rows(con, f"""
        SELECT m.*, k.regio_code AS k_regio, k.taalniveau_nl AS k_taal, k.rijbewijzen AS k_rijbewijzen,
               v.regio_code AS v_regio, v.taalniveau_minimaal AS v_taal, v.rijbewijs_vereist AS v_rijbewijs,
               v.is_open AS v_open
        FROM {MATCHES} AS m
        JOIN marts.dim_kandidaat AS k ON k.persoon_id = m.persoon_id AND k.regio_code = m.regio_code
        JOIN marts.dim_vacature AS v ON v.vacature_id = m.vacature_id""")
    assert matches and {m["vacature_id"] for m in matches} <= open_ids
    for m in matches:
        assert m["v_open"] and m["redenen"] and m["reden_taal"] and m["reden_rijbewijs"]
        assert m["k_regio"] == m["v_regio"] == m["regio_code"]  # never outside the candidate's region
        if m["v_taal"]:  # hard: language level at least the vacancy's minimum
            assert m["k_taal"] is not None and TAAL[m["k_taal"]] >= TAAL[m["v_taal"]], m
        required = set(filter(None, (m["v_rijbewijs"] or "").split(",")))
        assert required <= set(filter(None, (m["k_rijbewijzen"] or "").split(","))), m  # hard: licences
        assert m["werkfit_status"] in ("werkfit", "werkfit_met_ondersteuning")
    ranks: dict[str, list[int]] = {}
    for m in matches:
        ranks.setdefault(m["vacature_id"], []).append(m["rang"])
    assert all(sorted(r) == list(range(1, len(r) + 1)) for r in ranks.values())
    return matches


def _check_anonymous_view(con):
    cols = [r["column_name"] for r in rows(
        con, "SELECT column_name FROM information_schema.columns WHERE table_schema = 'bi' "
             "AND table_name = 'kandidaten_anoniem'")]
    assert "aantal_personen" in cols and not any("persoon" in c or "postcode" in c or "geboorte" in c for c in cols)
    published = rows(con, "SELECT * FROM bi.kandidaten_anoniem")
    assert published and all(r["aantal_personen"] >= 10 for r in published)
    fit = rows(con, "SELECT count(*) AS n FROM intermediate.int_kandidaat_status AS s JOIN marts.dim_kandidaat AS k "
                    "USING (persoon_id, regio_code) WHERE s.werkfit_status IN ('werkfit', 'werkfit_met_ondersteuning')"
                    " AND coalesce(k.werkzoekende_status, 'actief') = 'actief'")[0]["n"]
    assert sum(r["aantal_personen"] for r in published) <= fit  # each person in one row at most


def _coverage(con) -> tuple[int, int]:
    [r] = rows(con, f"SELECT count(DISTINCT v.vacature_id) AS n_open, count(DISTINCT m.vacature_id) AS n_matched "
                    f"FROM marts.dim_vacature AS v LEFT JOIN {MATCHES} AS m ON m.vacature_id = v.vacature_id "
                    "WHERE v.is_open")
    return r["n_matched"], r["n_open"]


def test_demo_matches_respect_region_and_hard_criteria(wh):
    _check_matches(wh)


def test_demo_matches_at_least_80_percent_of_open_vacancies(wh):
    matched, n_open = _coverage(wh)
    assert matched >= 0.8 * n_open, (matched, n_open)


def test_demo_anonymous_candidate_view_is_k_anonymous(wh):
    _check_anonymous_view(wh)


@pytest.fixture(scope="module")
def duck_copy(wh, tmp_path_factory, monkeypatch_module):
    """A copy of the demo warehouse for the commands (they open their own connection; the session holds one)."""
    wh.execute("CHECKPOINT")
    path = tmp_path_factory.mktemp("match") / "warehouse.duckdb"
    shutil.copy(paths().warehouse, path)
    monkeypatch_module.setenv("REGIOWERK_WAREHOUSE", str(path))
    monkeypatch_module.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)
    return path


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _check_match_command(capsys, vacature_id: str) -> None:
    assert cli.main(["match", "--vacature", vacature_id, "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert f"vacature {vacature_id}" in out and "  1. kandidaat " in out
    for label in ("beroep", "competenties", "uren", "taal", "rijbewijs", "opleiding", "reisafstand"):
        assert f"       {label} " in out
    assert re.search(r"kandidaat [0-9a-f]{64}", out) and "taalniveau" in out
    assert cli.main(["match", "--vacature", "BESTAAT-NIET"]) == 2
    assert "'BESTAAT-NIET' is onbekend" in capsys.readouterr().err


def _check_export(tmp_path: Path, capsys, con, bsns: set[str]) -> None:
    partner_id = "gemeente_den_haag"
    assert cli.main(["export", "vum", "--partner", partner_id, "--out", str(tmp_path)]) == 0
    assert "profiel(en) van gemeente_den_haag" in capsys.readouterr().out
    [path] = tmp_path.glob("vum_gemeente_den_haag_*.json")
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    jsonschema.validate(doc, SCHEMA)
    own = {r["persoon_id"] for r in rows(con, "SELECT persoon_id FROM marts.dim_kandidaat WHERE "
                                              "bronnen LIKE '%gemeente_den_haag%'")}
    ids = {w["idWerkzoekende"] for w in doc["werkzoekenden"]}
    assert ids == own and doc["aantalWerkzoekenden"] == len(own) > 0  # its own clients, all of them
    assert all("bronverwijzing" in w for w in doc["werkzoekenden"])  # how the partner re-identifies
    assert len(bsns) > 300
    for bsn in bsns:
        assert bsn not in text
    assert not [n for n in re.findall(r"(?<![0-9a-f])[0-9]{8,9}(?![0-9a-f])", text) if elfproef(n)]
    assert cli.main(["export", "vum", "--partner", "niemand", "--out", str(tmp_path)]) == 2


def test_match_command_on_duckdb(duck_copy, capsys, wh):
    vacature_id = rows(wh, f"SELECT vacature_id FROM {MATCHES} WHERE rang = 1 ORDER BY vacature_id LIMIT 1")[0]
    _check_match_command(capsys, vacature_id["vacature_id"])
    import duckdb

    con = duckdb.connect(str(duck_copy))
    con.execute("UPDATE marts.dim_vacature SET is_open = false, sluitingsdatum = DATE '2026-01-31' "
                "WHERE vacature_id = ?", [vacature_id["vacature_id"]])
    con.close()
    assert cli.main(["match", "--vacature", vacature_id["vacature_id"]]) == 2
    assert "is gesloten (sluitingsdatum 2026-01-31)" in capsys.readouterr().err


def test_export_vum_on_duckdb(duck_copy, capsys, wh, tmp_path):
    _check_export(tmp_path, capsys, wh, test_demo_e2e._clear_bsns())


# ---------------------------------------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="module")
def pg():
    url = demo_warehouse()
    conn = psycopg2.connect(url)
    yield url, conn
    conn.close()


@pytest.fixture()
def on_pg(pg, monkeypatch):
    monkeypatch.setenv("REGIOWERK_WAREHOUSE_URL", pg[0])
    return pg[1]


def as_role(conn, role, sql):
    try:
        with conn.cursor() as cur:
            cur.execute(f"SET LOCAL ROLE {role}")  # role names are constants of this test
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.rollback()


def test_postgres_matches_and_anonymous_view(pg):
    conn = pg[1]
    _check_matches(conn)
    _check_anonymous_view(conn)
    # bi_reader reads the anonymous view, never the person-level matches
    assert as_role(conn, access.BI_READER, "SELECT count(*) FROM bi.kandidaten_anoniem")[0][0] > 0
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        as_role(conn, access.BI_READER, f"SELECT count(*) FROM {MATCHES}")


def test_postgres_matches_row_level_security(pg):
    conn = pg[1]
    total = rows(conn, f"SELECT count(*) AS n FROM {MATCHES}")[0]["n"]
    assert as_role(conn, access.regio_role("AM21"), f"SELECT count(*) FROM {MATCHES}")[0][0] == total
    seen = as_role(conn, access.partner_role("gemeente_delft"),
                   f"SELECT m.persoon_id, k.bronnen, k.gemeente_code FROM {MATCHES} AS m JOIN marts.dim_kandidaat AS k "
                   "USING (persoon_id, regio_code)")
    assert len(seen) < total
    assert all("gemeente_delft" in b.split(",") or g == "GM0503" for _, b, g in seen)
    own = rows(conn, f"SELECT count(*) AS n FROM {MATCHES} AS m JOIN marts.dim_kandidaat AS k "
                     "USING (persoon_id, regio_code) WHERE 'gemeente_delft' = ANY(string_to_array(k.bronnen, ',')) "
                     "OR k.gemeente_code = 'GM0503'")[0]["n"]
    assert len(seen) == own


def test_match_command_and_export_on_postgres(on_pg, capsys, tmp_path):
    vacature_id = rows(on_pg, f"SELECT vacature_id FROM {MATCHES} WHERE rang = 1 ORDER BY vacature_id LIMIT 1")[0]
    _check_match_command(capsys, vacature_id["vacature_id"])
    _check_export(tmp_path, capsys, on_pg, demo_deliveries().bsns)


def test_export_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    bad = {"schemaVersie": "1.0", "standaard": "x", "partnerId": "p", "regioCode": "AM21",
           "aangemaaktOp": "2026-01-01T00:00:00", "aantalWerkzoekenden": 1,
           "werkzoekenden": [{"idWerkzoekende": "123456782", "bsn": "123456782"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)

