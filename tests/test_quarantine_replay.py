"""regiowerk quarantine replay: a row quarantined for an unknown local code loads after the partner file maps the
code, exactly once, and the counts of the original delivery keep reconciling. On DuckDB and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from pg_server import fresh_database
from regiowerk import cli, pipeline, warehouse_conn
from regiowerk.quarantine import replay
from small_partner import PARTNER, PARTNER_ID, SmallPartner, bsns, row

FIXED_CODES = {**PARTNER["datasets"]["werkzoekenden"]["values"]["regeling"], "ARB-3": "participatiewet"}


@pytest.fixture(params=["duckdb", "postgres"])
def small(request, tmp_path, monkeypatch):
    if request.param == "postgres":
        monkeypatch.setenv("REGIOWERK_WAREHOUSE_URL", fresh_database("rw_replay"))
    else:
        monkeypatch.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)
    return SmallPartner(tmp_path, monkeypatch)


def q(sql: str, params=()):
    with warehouse_conn.borrowed() as con:
        rows = warehouse_conn.execute(con, sql, params)
        if pipeline._use_postgres(con):
            con.rollback()
    return rows


def test_replay_after_a_mapping_fix_loads_the_row_once(small, capsys):
    good = bsns(2)
    fixable = bsns(1, 300_000_000)[0]
    hopeless = "123456780"  # fails the elfproef: no mapping fix repairs a BSN
    small.deliver([row(good[0]), row(good[1]), row(fixable, regeling="ARB-3", naam="Zwaantje Zonderland"),
                   row(hopeless, regeling="ARB-3")])
    first = small.run()
    original = first["delivery_id"]
    assert (first["rows_received"], first["rows_loaded"], first["rows_quarantined"]) == (4, 2, 2)

    kept = dict(q("SELECT bron_rij, bronwaarden FROM audit.quarantine WHERE delivery_id = ?", [original]))
    source = json.loads(kept[4])
    assert source["regeling"] == "ARB-3" and source["gemeente_code"] == "GM0503"
    assert not {"bsn", "postcode", "geboortedatum", "naam"} & set(source)  # never a BSN, name or address
    assert fixable not in kept[4] and "Zonderland" not in kept[4]

    # the mapping is not fixed yet: a replay loads nothing and changes nothing
    assert [s.passed for s in replay()] == [0]
    assert q("SELECT count(*) FROM audit.deliveries") == [(1,)]

    small.write_partner(values={"regeling": FIXED_CODES})
    dry = replay(dry_run=True)
    assert [(s.rows, s.passed) for s in dry] == [(2, 1)]
    assert q("SELECT count(*) FROM raw.werkzoekenden") == [(2,)]  # dry run: nothing changed

    assert cli.main(["quarantine", "replay", "--partner", PARTNER_ID]) == 0
    out = capsys.readouterr().out
    assert f"{original}: 2 open row(s) re-processed, 1 now pass (loaded as {original}.replay1)" in out
    assert "bsn: fails the elfproef" in out

    raw = q("SELECT delivery_id, bron_rij, regeling FROM raw.werkzoekenden ORDER BY bron_rij")
    assert [(r[1], r[2]) for r in raw] == [(2, "participatiewet"), (3, "participatiewet"), (4, "participatiewet")]
    assert raw[2][0] == f"{original}.replay1"
    deliveries = {r[0]: r[1:] for r in q(
        "SELECT delivery_id, status, rows_received, rows_loaded, rows_quarantined, replay_of FROM audit.deliveries")}
    assert deliveries[original] == ("loaded", 4, 3, 1, None)  # still reconciles: 4 = 3 + 1
    assert deliveries[f"{original}.replay1"] == ("replayed", 2, 1, 1, original)
    quarantine = {r[0]: r[1:] for r in q("SELECT bron_rij, status, redenen FROM audit.quarantine")}
    assert quarantine[4][0] == "replayed"
    assert quarantine[5][0] == "open" and "bsn: fails the elfproef" in quarantine[5][1]
    assert "ARB-3" not in quarantine[5][1]  # the reason the mapping fixed is gone

    # counted once: a second replay does nothing
    again = replay()
    assert [(s.rows, s.passed, s.replay_id) for s in again] == [(1, 0, None)]
    assert q("SELECT count(*) FROM raw.werkzoekenden") == [(3,)]
    assert q("SELECT count(*) FROM audit.deliveries") == [(2,)]
    loaded = q("SELECT sum(rows_loaded), sum(rows_quarantined) FROM audit.deliveries WHERE status = 'loaded'")
    assert [tuple(int(x) for x in loaded[0])] == [(3, 1)]
    assert q("SELECT count(*) FROM audit.quarantine WHERE status = 'open'") == [(1,)]


def test_plaatsingen_replay_after_a_contract_code_is_mapped(tmp_path, monkeypatch):
    """plaatsingen is quarantined and replayed like every other dataset: Den Haag's own placement export (its
    partner file as committed), one row with a contract code the file does not map yet."""
    import yaml
    from regiowerk.settings import paths

    partner = yaml.safe_load((paths().root / "partners" / "gemeente_den_haag.yml").read_text(encoding="utf-8"))
    partner["datasets"] = {"plaatsingen": partner["datasets"]["plaatsingen"]}
    for name in ("partners", "drop/gemeente_den_haag", "data"):
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
    monkeypatch.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("REGIOWERK_PARTNERS_DIR", str(tmp_path / "partners"))
    monkeypatch.setenv("REGIOWERK_DROP_DIR", str(tmp_path / "drop"))
    monkeypatch.setenv("REGIOWERK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIOWERK_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))

    def write_partner():
        (tmp_path / "partners" / "gemeente_den_haag.yml").write_text(yaml.safe_dump(partner), encoding="utf-8")

    write_partner()
    header = ("Clientnummer;BSN;Werkgever;KvK-nummer werkgever;Datum aanvang;Datum einde;Uren per week;"
              "Soort contract;Ingezette instrumenten;Peildatum")
    a, b = bsns(2, 400_000_000)
    rows = [f"SZW1;{a};Bakkerij De Korenaar;12345678;01-03-2026;;24;VAST;JC;01-11-2026",
            f"SZW2;{b};Kwekerij Westerlicht;87654321;01-04-2026;;32,5;DETA;\"LKS;PP\";01-11-2026"]
    (tmp_path / "drop" / "gemeente_den_haag" / "plaatsingen_2026-11-01.csv").write_bytes(
        "\r\n".join([header, *rows, ""]).encode("cp1252"))
    d = pipeline.extract("gemeente_den_haag", "plaatsingen")
    first = pipeline.load(pipeline.validate(pipeline.pseudonymise(d)))
    assert (first["rows_received"], first["rows_loaded"], first["rows_quarantined"]) == (2, 1, 1)
    reasons = q("SELECT redenen FROM audit.quarantine WHERE dataset = 'plaatsingen'")[0][0]
    assert "contractvorm" in reasons and "DETA" in reasons

    partner["datasets"]["plaatsingen"]["values"]["contractvorm"]["DETA"] = "uitzend"  # detachering
    write_partner()
    assert [(s.rows, s.passed) for s in replay(partner_id="gemeente_den_haag", dataset="plaatsingen")] == [(1, 1)]
    loaded = q("SELECT contractvorm, uren_per_week, instrumenten FROM raw.plaatsingen ORDER BY startdatum")
    assert [(r[0], float(r[1])) for r in loaded] == [("vast", 24.0), ("uitzend", 32.5)]
    assert sorted(loaded[1][2].split(",")) == ["loonkostensubsidie", "proefplaatsing"]
    assert q("SELECT rows_loaded, rows_quarantined FROM audit.deliveries WHERE delivery_id = ?",
             [first["delivery_id"]]) == [(2, 0)]
