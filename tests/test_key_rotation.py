"""Key rotation by a keyed chain (regiowerk.keys): links between sources and all counts survive, in one
transaction, on PostgreSQL (raw, audit and the dbt marts) and on DuckDB."""

import hashlib
import hmac
import re

import duckdb
import psycopg2
import pytest
from pg_server import demo_deliveries, demo_warehouse, fresh_database

from regiowerk import keys, pg, pipeline, warehouse
from regiowerk.errors import ConfigurationError
from regiowerk.pseudonymise import DEMO_KEY

OLD = DEMO_KEY.encode()
NEW = b"rotated-key-version-2-for-tests"

LINKS = {
    "gemeente_uwv": "SELECT count(DISTINCT g.persoon_id) FROM raw.werkzoekenden g JOIN raw.werkzoekenden u "
                    "ON u.persoon_id = g.persoon_id WHERE g.partner_id LIKE 'gemeente_%' "
                    "AND u.partner_id = 'uwv_haaglanden'",
    "gemeente_mbo": "SELECT count(DISTINCT g.persoon_id) FROM raw.werkzoekenden g JOIN raw.mbo_inschrijvingen m "
                    "ON m.persoon_id = g.persoon_id",
}
MART_LINKS = {
    "kandidaat_multi": "SELECT count(*) FROM marts.dim_kandidaat WHERE bronnen LIKE '%,%'",
    "fct_dim": "SELECT count(*) FROM marts.fct_werkfit_beoordeling f JOIN marts.dim_kandidaat k "
               "ON k.persoon_id = f.persoon_id AND k.regio_code = f.regio_code",
    "dim": "SELECT count(*), count(DISTINCT persoon_id) FROM marts.dim_kandidaat",
    "bronnen": "SELECT count(*) FROM intermediate.int_kandidaat_bronnen b JOIN marts.dim_kandidaat k "
               "ON k.persoon_id = b.persoon_id AND b.bron_sleutel = b.persoon_id",
}


def one(conn, query):
    with conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def ids(conn, table):
    return {r[0] for r in one(conn, f"SELECT DISTINCT persoon_id FROM {table}")}


@pytest.fixture()
def conn():
    demo_warehouse()  # built (and its connections closed) before it is used as a template
    c = psycopg2.connect(fresh_database("rw_keys", template=demo_warehouse()))
    yield c
    c.close()


def test_rotation_keeps_links_and_counts_on_postgres(conn):
    queries = {**LINKS, **MART_LINKS,
               "raw": "SELECT count(*) FROM raw.werkzoekenden",
               "quarantine": "SELECT count(*) FROM audit.quarantine"}
    before = {k: one(conn, q) for k, q in queries.items()}
    assert before["gemeente_uwv"][0][0] > 0 and before["gemeente_mbo"][0][0] > 0
    old_raw = ids(conn, "raw.werkzoekenden")
    old_q = one(conn, "SELECT waarden FROM audit.quarantine WHERE dataset = 'werkzoekenden' "
                      "AND waarden LIKE '%persoon_id\": \"%' ORDER BY delivery_id, bron_rij")
    conn.commit()

    assert keys.rotate_key(conn, OLD, NEW) == 2

    assert {k: one(conn, q) for k, q in queries.items()} == before
    new_raw = ids(conn, "raw.werkzoekenden")
    assert new_raw == {keys.rekey(p, NEW) for p in old_raw}
    assert not new_raw & old_raw
    # no old pseudonym is left in any table (marts and intermediate included)
    for table in ("marts.dim_kandidaat", "marts.fct_werkfit_beoordeling", "intermediate.int_kandidaat_bronnen",
                  "raw.mbo_inschrijvingen", "raw.mbo_diplomas"):
        assert not ids(conn, table) & old_raw, table
    # the pseudonyms inside the quarantined rows' JSON are re-keyed too
    new_q = one(conn, "SELECT waarden FROM audit.quarantine WHERE dataset = 'werkzoekenden' "
                      "AND waarden LIKE '%persoon_id\": \"%' ORDER BY delivery_id, bron_rij")
    assert len(new_q) == len(old_q) > 0
    old_first = re.search(r'"persoon_id": "([0-9a-f]{64})"', old_q[0][0]).group(1)
    assert keys.rekey(old_first, NEW) in new_q[0][0] and old_first not in new_q[0][0]
    chain = keys.current_chain(conn)
    assert [(v.versie, v.vingerafdruk) for v in chain] == [(1, keys.fingerprint(OLD)), (2, keys.fingerprint(NEW))]
    assert NEW.decode() not in str(one(conn, "SELECT * FROM audit.sleutelversies"))
    conn.commit()

    # a third version chains on the second
    third = b"rotated-key-version-3"
    assert keys.rotate_key(conn, NEW, third) == 3
    assert ids(conn, "raw.werkzoekenden") == {keys.apply_chain(p, [NEW, third]) for p in old_raw}
    assert {k: one(conn, q) for k, q in queries.items()} == before


def test_wrong_or_reused_key_changes_nothing(conn):
    before = ids(conn, "raw.werkzoekenden")
    conn.commit()
    with pytest.raises(keys.KeyRotationError):
        keys.rotate_key(conn, b"not-the-current-key", NEW)
    assert ids(conn, "raw.werkzoekenden") == before
    assert [(v.versie, v.vingerafdruk) for v in keys.current_chain(conn)] == [(1, keys.fingerprint(OLD))]
    keys.rotate_key(conn, OLD, NEW)
    with pytest.raises(keys.KeyRotationError):
        keys.rotate_key(conn, NEW, OLD)  # back to a key that was used before
    with pytest.raises(keys.KeyRotationError):
        keys.rotate_key(conn, OLD, b"another")  # OLD is no longer the current key
    assert len(keys.current_chain(conn)) == 2


def test_loads_after_rotation_apply_the_chain(conn, monkeypatch):
    xcom, frame = next((x, f) for x, f in demo_deliveries().deliveries if x["partner_id"] == "gemeente_den_haag")
    keys.rotate_key(conn, OLD, NEW)
    redelivery = dict(xcom, delivery_id=xcom["delivery_id"] + ".herlevering")
    # fail closed: the chain key is not configured
    monkeypatch.delenv("REGIOWERK_PSEUDONYM_KEY_V2", raising=False)
    with pytest.raises(ConfigurationError, match="REGIOWERK_PSEUDONYM_KEY_V2"):
        pg.load_delivery(conn, pipeline.Delivery.from_xcom(dict(redelivery)), frame)
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_V2", "a wrong key")
    with pytest.raises(ConfigurationError, match="fingerprint"):
        pg.load_delivery(conn, pipeline.Delivery.from_xcom(dict(redelivery)), frame)
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_V2", NEW.decode())
    assert pg.load_delivery(conn, pipeline.Delivery.from_xcom(dict(redelivery)), frame) == "loaded"
    original = {r[0] for r in one(conn, f"SELECT persoon_id FROM raw.werkzoekenden WHERE delivery_id = "
                                        f"'{xcom['delivery_id']}'")}
    again = {r[0] for r in one(conn, f"SELECT persoon_id FROM raw.werkzoekenden WHERE delivery_id = "
                                     f"'{redelivery['delivery_id']}'")}
    assert again == original and len(again) > 50
    # the same person delivered by UWV still joins with the re-delivered rows
    assert one(conn, "SELECT count(*) FROM raw.werkzoekenden g JOIN raw.werkzoekenden u ON u.persoon_id = g.persoon_id "
                     f"WHERE g.delivery_id = '{redelivery['delivery_id']}' AND u.partner_id = 'uwv_haaglanden'")[0][0] > 0


def test_rotation_on_duckdb(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    warehouse.ensure_schema(con)
    for xcom, frame in demo_deliveries().deliveries:
        if xcom["dataset"] == "werkzoekenden":
            pipeline._load_transaction(con, pipeline.Delivery.from_xcom(dict(xcom)), frame)
    link = LINKS["gemeente_uwv"]
    before = con.execute(link).fetchall()
    counts = con.execute("SELECT count(*), count(DISTINCT persoon_id) FROM raw.werkzoekenden").fetchall()
    old = {r[0] for r in con.execute("SELECT persoon_id FROM raw.werkzoekenden").fetchall()}
    assert before[0][0] > 0
    assert keys.rotate_key(con, OLD, NEW) == 2
    assert con.execute(link).fetchall() == before
    assert con.execute("SELECT count(*), count(DISTINCT persoon_id) FROM raw.werkzoekenden").fetchall() == counts
    new = {r[0] for r in con.execute("SELECT persoon_id FROM raw.werkzoekenden").fetchall()}
    assert new == {hmac.new(NEW, p.encode(), hashlib.sha256).hexdigest() for p in old}
    assert [v.versie for v in keys.current_chain(con)] == [1, 2]
    con.close()
