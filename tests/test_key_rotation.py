"""Key rotation by a keyed chain (regiowerk.keys): links between sources and all counts survive, in one
transaction, on PostgreSQL (raw, audit and the dbt marts) and on DuckDB."""

import hashlib
import hmac
import json
import re

import duckdb
import psycopg2
import pytest
from pg_server import demo_deliveries, demo_warehouse, fresh_database
from regiowerk import keys, pipeline, warehouse
from regiowerk.errors import ConfigurationError
from regiowerk.pseudonymise import DEMO_KEY, VERSION_NAME, version_value

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


def redeliver(tmp_path, monkeypatch, con) -> dict:
    """A NEW Den Haag delivery (the demo export again without its last client, in a new file: a different
    delivery, within the row-count drop guard) through extract -> pseudonymise -> validate -> load into ``con``;
    the load's xcom."""
    src = demo_deliveries().sources.den_haag_csv
    head = src.read_bytes().splitlines(keepends=True)[:-1]
    drop = tmp_path / "drop"
    (drop / "gemeente_den_haag").mkdir(parents=True)
    (drop / "gemeente_den_haag" / "clienten_2099-01-01.csv").write_bytes(b"".join(head))
    monkeypatch.setenv("REGIOWERK_DROP_DIR", str(drop))
    monkeypatch.setenv("REGIOWERK_DATA_DIR", str(tmp_path / "data"))
    d = pipeline.extract("gemeente_den_haag", "werkzoekenden")
    d = pipeline.validate(pipeline.pseudonymise(d))
    return pipeline.load(d, con=con)


def door_knows(monkeypatch, con, *keys_v2_n: bytes) -> None:
    """What the operator does after a rotation: chain keys and the printed version value in the secret store."""
    for versie, key in enumerate(keys_v2_n, start=2):
        monkeypatch.setenv(f"REGIOWERK_PSEUDONYM_KEY_V{versie}", key.decode())
    monkeypatch.setenv(VERSION_NAME, version_value([v.vingerafdruk for v in keys.current_chain(con)]))


def delivered_ids(rows, con, delivery_id: str, mark: str) -> set[str]:
    """Every persoon_id of a delivery: loaded rows and the quarantined rows' values (rotated alike)."""
    loaded = {r[0] for r in rows(con, f"SELECT persoon_id FROM raw.werkzoekenden WHERE delivery_id = {mark}",
                                 delivery_id)}
    held = rows(con, f"SELECT waarden FROM audit.quarantine WHERE delivery_id = {mark}", delivery_id)
    return loaded | {json.loads(w)["persoon_id"] for (w,) in held if json.loads(w).get("persoon_id")}


def assert_same_persons(new: set[str], old: set[str]) -> None:
    assert len(new) >= 3  # a few valid clients were delivered again
    assert new <= old, "a re-delivered client got another persoon_id after rotation"


def test_new_delivery_after_rotation_joins_on_postgres(conn, tmp_path, monkeypatch):
    original = next(x for x, _ in demo_deliveries().deliveries if x["partner_id"] == "gemeente_den_haag")
    keys.rotate_key(conn, OLD, NEW)
    door_knows(monkeypatch, conn, NEW)
    out = redeliver(tmp_path, monkeypatch, conn)
    assert out["status"] == "loaded" and out["delivery_id"] != original["delivery_id"]
    q = "SELECT persoon_id FROM raw.werkzoekenden WHERE delivery_id = %s"
    assert_same_persons({r[0] for r in one_p(conn, q, out["delivery_id"])},
                        delivered_ids(one_p, conn, original["delivery_id"], "%s"))
    # and the person still links to what UWV delivered, through the mart-level pseudonym
    assert one_p(conn, "SELECT count(*) FROM raw.werkzoekenden n JOIN marts.dim_kandidaat k "
                       "ON k.persoon_id = n.persoon_id WHERE n.delivery_id = %s", out["delivery_id"])[0][0] >= 3


def test_door_without_the_new_version_cannot_load_after_rotation(conn, tmp_path, monkeypatch):
    keys.rotate_key(conn, OLD, NEW)
    monkeypatch.delenv(VERSION_NAME, raising=False)  # rotated, but the door was not told
    with pytest.raises(ConfigurationError, match=r"key version 1 .* warehouse is at key version 2.*"
                                                 + VERSION_NAME + "=2:"):
        redeliver(tmp_path, monkeypatch, conn)
    assert one_p(conn, "SELECT count(*) FROM audit.deliveries WHERE delivery_id LIKE %s",
                 "%clienten_2099%")[0][0] == 0


def test_missing_or_wrong_chain_key_fails_closed_at_the_door(conn, tmp_path, monkeypatch):
    keys.rotate_key(conn, OLD, NEW)
    door_knows(monkeypatch, conn, NEW)
    monkeypatch.delenv("REGIOWERK_PSEUDONYM_KEY_V2")
    with pytest.raises(ConfigurationError, match="REGIOWERK_PSEUDONYM_KEY_V2 must be set"):
        redeliver(tmp_path / "a", monkeypatch, conn)
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_V2", "a wrong key")
    with pytest.raises(ConfigurationError, match="does not match the fingerprint of key version 2"):
        redeliver(tmp_path / "b", monkeypatch, conn)
    # nothing of the delivery reached the landing folder: the failure is before any pseudonym is written
    assert not list((tmp_path / "b" / "data").glob("landing/**/*.parquet"))


def one_p(conn, query, *params):
    with conn.cursor() as cur:
        cur.execute(query, params)
        rows = cur.fetchall()
    conn.rollback()
    return rows


def test_rotation_on_duckdb(tmp_path, monkeypatch):
    monkeypatch.delenv(VERSION_NAME, raising=False)
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
    # the first load recorded which key made the pseudonyms
    assert [(v.versie, v.vingerafdruk) for v in keys.current_chain(con)] == [(1, keys.fingerprint(OLD))]
    assert keys.rotate_key(con, OLD, NEW) == 2
    assert con.execute(link).fetchall() == before
    assert con.execute("SELECT count(*), count(DISTINCT persoon_id) FROM raw.werkzoekenden").fetchall() == counts
    new = {r[0] for r in con.execute("SELECT persoon_id FROM raw.werkzoekenden").fetchall()}
    assert new == {hmac.new(NEW, p.encode(), hashlib.sha256).hexdigest() for p in old}
    assert [v.versie for v in keys.current_chain(con)] == [1, 2]

    # a new delivery of persons loaded before: refused until the door knows version 2, then the same persoon_id
    original = next(x for x, _ in demo_deliveries().deliveries if x["partner_id"] == "gemeente_den_haag")
    with pytest.raises(ConfigurationError, match="warehouse is at key version 2"):
        redeliver(tmp_path / "stale", monkeypatch, con)
    door_knows(monkeypatch, con, NEW)
    out = redeliver(tmp_path / "new", monkeypatch, con)
    assert out["status"] == "loaded"
    q = "SELECT persoon_id FROM raw.werkzoekenden WHERE delivery_id = ?"
    assert_same_persons({r[0] for r in con.execute(q, [out["delivery_id"]]).fetchall()},
                        delivered_ids(lambda c, sql, p: c.execute(sql, [p]).fetchall(), con,
                                      original["delivery_id"], "?"))
    con.close()


def test_keys_rotate_command_on_duckdb(tmp_path, monkeypatch, capsys):
    from regiowerk.cli import main

    demo = demo_deliveries()  # built first: it writes landing files under the data dir of its time
    monkeypatch.delenv(VERSION_NAME, raising=False)
    monkeypatch.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("REGIOWERK_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("REGIOWERK_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(SystemExit):
        main(["keys", "rotate", "--help"])
    help_text = capsys.readouterr().out
    for step in ("Pause the partner DAGs", "REGIOWERK_PSEUDONYM_KEY_V<n+1>", "REGIOWERK_PSEUDONYM_KEY_VERSION"):
        assert step in help_text

    con = warehouse.connect()
    warehouse.ensure_schema(con)
    xcom, frame = next((x, f) for x, f in demo.deliveries if x["partner_id"] == "gemeente_westland")
    pipeline._load_transaction(con, pipeline.Delivery.from_xcom(dict(xcom)), frame)
    con.close()
    # no new key in the secret store yet
    monkeypatch.delenv("REGIOWERK_PSEUDONYM_KEY_V2", raising=False)
    assert main(["keys", "rotate"]) == 2
    assert "REGIOWERK_PSEUDONYM_KEY_V2" in capsys.readouterr().err
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_V2", NEW.decode())
    # a landing file that is not loaded yet holds old-version pseudonyms: refused
    pending = tmp_path / "data" / "landing" / "gemeente_westland" / "werkzoekenden" / "x.notloaded.parquet"
    pending.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(pending)
    assert main(["keys", "rotate"]) == 2
    assert "not loaded yet" in capsys.readouterr().err
    pending.unlink()
    assert main(["keys", "rotate"]) == 0
    out = capsys.readouterr().out
    value = re.search(VERSION_NAME + r"=(\S+)", out).group(1)
    assert value == version_value([keys.fingerprint(OLD), keys.fingerprint(NEW)])
    assert main(["keys", "status"]) == 1  # the door does not know version 2 yet
    assert "MISMATCH" in capsys.readouterr().out
    monkeypatch.setenv(VERSION_NAME, value)
    assert main(["keys", "status"]) == 0
    con = warehouse.connect(read_only=True)
    assert [v.versie for v in keys.current_chain(con)] == [1, 2]
    con.close()


def test_keys_rotate_command_on_postgres(tmp_path, monkeypatch, capsys):
    from regiowerk.cli import main

    demo_warehouse()
    url = fresh_database("rw_keys_cli", template=demo_warehouse())
    monkeypatch.setenv("REGIOWERK_WAREHOUSE_URL", url)
    monkeypatch.setenv("REGIOWERK_DATA_DIR", str(tmp_path / "data"))  # no landing file in flight
    monkeypatch.delenv(VERSION_NAME, raising=False)
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_V2", NEW.decode())
    conn = psycopg2.connect(url)
    before = one(conn, LINKS["gemeente_uwv"])
    conn.rollback()
    assert main(["keys", "rotate"]) == 0
    value = re.search(VERSION_NAME + r"=(\S+)", capsys.readouterr().out).group(1)
    assert one(conn, LINKS["gemeente_uwv"]) == before
    assert [v.versie for v in keys.current_chain(conn)] == [1, 2]
    conn.close()
    monkeypatch.setenv(VERSION_NAME, value)
    assert main(["keys", "status"]) == 0
    # the next rotation needs V3, and checks V2 against its fingerprint first
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_V2", "not the key of version 2")
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_V3", "key three")
    assert main(["keys", "rotate"]) == 2
    assert "does not match the fingerprint of key version 2" in capsys.readouterr().err
