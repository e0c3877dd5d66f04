"""PostgreSQL as the warehouse: the real stages load the demo deliveries with COPY, idempotently, and dbt builds.

The server is pgserver (or REGIOWERK_TEST_PG_URL); see tests/pg_server.py.
"""

import psycopg2
import pytest
from pg_server import demo_deliveries, demo_warehouse, fresh_database
from regiowerk import pg, pipeline, warehouse

FILE_PARTNERS = ("gemeente_den_haag", "gemeente_delft", "gemeente_westland")


@pytest.fixture(scope="module")
def demo():
    return demo_deliveries()


@pytest.fixture()
def conn():
    c = psycopg2.connect(fresh_database("rw_load"))
    yield c
    c.close()


def _counts(conn):
    with conn.cursor() as cur:
        out = {}
        for name in ("werkzoekenden", "vacatures", "mbo_inschrijvingen", "mbo_diplomas"):
            cur.execute(f"SELECT count(*) FROM {warehouse.raw_table(name)}")
            out[name] = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM audit.quarantine")
        out["quarantine"] = cur.fetchone()[0]
        cur.execute("SELECT count(*), sum(rows_loaded), sum(rows_quarantined) FROM audit.deliveries")
        out["deliveries"] = cur.fetchone()
    return out


def test_pipeline_load_dispatches_on_env_and_reconciles(demo, monkeypatch):
    """pipeline.load with REGIOWERK_WAREHOUSE_URL set loads the file partners into PostgreSQL (not DuckDB)."""
    url = fresh_database("rw_env")
    monkeypatch.setenv("REGIOWERK_WAREHOUSE_URL", url)
    demo.restore_landing()
    results = [pipeline.load(x) for x, _ in demo.deliveries
               if x["partner_id"] in FILE_PARTNERS and x["dataset"] == "werkzoekenden"]
    assert [r["status"] for r in results] == ["loaded"] * 3
    expected = demo.sources.expected
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            for r in results:
                exp = expected[r["partner_id"]]["werkzoekenden"]
                cur.execute("SELECT count(*) FROM raw.werkzoekenden WHERE delivery_id = %s", (r["delivery_id"],))
                n_raw = cur.fetchone()[0]
                cur.execute("SELECT count(*) FROM audit.quarantine WHERE delivery_id = %s", (r["delivery_id"],))
                n_q = cur.fetchone()[0]
                # reconciliation: every received row is in raw or in quarantine, and the audit row says so
                assert n_raw + n_q == r["rows_received"] == exp["rows"]
                assert n_raw == r["rows_loaded"] and n_q == r["rows_quarantined"]
                frame = next(f for x, f in demo.deliveries if x["delivery_id"] == r["delivery_id"])
                assert n_q == int(frame[pipeline.REASONS].notna().sum()) >= sum(exp["defects"].values())
                cur.execute("SELECT rows_received, rows_loaded, rows_quarantined, status FROM audit.deliveries "
                            "WHERE delivery_id = %s", (r["delivery_id"],))
                assert cur.fetchone() == (exp["rows"], n_raw, n_q, "loaded")
            cur.execute("SELECT count(*) FROM raw.partners")
            assert cur.fetchone()[0] == 5
        before = _counts(conn)
        again = [pipeline.load(x) for x, _ in demo.deliveries
               if x["partner_id"] in FILE_PARTNERS and x["dataset"] == "werkzoekenden"]
        assert [r["status"] for r in again] == ["already_loaded"] * 3
        assert [(r["rows_loaded"], r["rows_quarantined"]) for r in again] == \
            [(r["rows_loaded"], r["rows_quarantined"]) for r in results]
        assert _counts(conn) == before
    finally:
        conn.close()
    # DuckDB was not touched by this load
    monkeypatch.delenv("REGIOWERK_WAREHOUSE_URL")
    assert not pg.is_postgres_url(pg.warehouse_url())


def test_load_is_one_transaction(demo, conn, monkeypatch):
    """A failure after the raw COPY leaves nothing of the delivery behind; a retry then loads it fully."""
    xcom, frame = demo.deliveries[0]
    pg.ensure_schema(conn)
    d = pipeline.Delivery.from_xcom(dict(xcom))
    real_copy = pg._copy

    def failing_copy(cur, table, columns, f):
        real_copy(cur, table, columns, f)
        if table == "audit.quarantine":
            raise RuntimeError("disk full")

    monkeypatch.setattr(pg, "_copy", failing_copy)
    with pytest.raises(RuntimeError, match="disk full"):
        pg.load_delivery(conn, d, frame)
    assert _counts(conn)["werkzoekenden"] == 0 and _counts(conn)["deliveries"][0] == 0
    monkeypatch.setattr(pg, "_copy", real_copy)
    assert pg.load_delivery(conn, d, frame) == "loaded"
    assert _counts(conn)["werkzoekenden"] == d.rows_loaded > 0
    assert pg.load_delivery(conn, pipeline.Delivery.from_xcom(dict(xcom)), frame) == "already_loaded"


def test_null_and_empty_string_survive_copy(demo, conn):
    """COPY keeps NULL and typed values: what is in raw equals the landing frame, column by column."""
    xcom, frame = next((x, f) for x, f in demo.deliveries if x["partner_id"] == "gemeente_delft")
    pg.ensure_schema(conn)
    pg.load_delivery(conn, pipeline.Delivery.from_xcom(dict(xcom)), frame)
    good = frame[frame[pipeline.REASONS].isna()]
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM raw.werkzoekenden WHERE taalniveau_nl IS NULL")
        assert cur.fetchone()[0] == int(good["taalniveau_nl"].isna().sum())
        cur.execute("SELECT count(*) FROM raw.werkzoekenden WHERE persoon_id !~ '^[0-9a-f]{64}$'")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT sum(geboortejaar), count(uren_beschikbaar_per_week) FROM raw.werkzoekenden")
        s, n = cur.fetchone()
        assert s == int(good["geboortejaar"].sum()) and n == int(good["uren_beschikbaar_per_week"].notna().sum())


def test_second_prepare_does_not_rewrite_partners(conn):
    """Once per delivery: an existing schema and an unchanged registry cost one SELECT each, no rewrite of
    raw.partners (its row versions, xmin, stay the same); a changed registry is mirrored again."""
    pipeline.prepare_warehouse(conn)

    def versions():
        with conn.cursor() as cur:
            cur.execute("SELECT partner_id, xmin::text FROM raw.partners ORDER BY partner_id")
            out = cur.fetchall()
        conn.commit()
        return out

    before = versions()
    assert before
    with conn.cursor() as cur:  # what pg.ensure_schema's fast path checks: every table and column is there
        cur.execute("SELECT table_schema, table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema IN ('raw', 'audit')")
        assert warehouse.expected_columns(warehouse.ddl_statements()) <= set(cur.fetchall())
    conn.commit()
    pipeline.prepare_warehouse(conn)
    assert versions() == before
    partners = list(pipeline.load_registry().values())
    pg.refresh_partners(conn, partners[1:])
    assert [p for p, _ in versions()] == sorted(p.partner_id for p in partners[1:])


def test_dbt_build_on_postgres_fills_the_marts(demo):
    conn = psycopg2.connect(demo_warehouse())
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*), count(DISTINCT persoon_id) FROM marts.dim_kandidaat")
            n, distinct = cur.fetchone()
            assert n > 100 and distinct == n
            cur.execute("SELECT count(*) FROM marts.kpi_regio_maand")
            assert cur.fetchone()[0] > 0
            # werkfit per source on PostgreSQL too: UWV-only job seekers can be werkfit (ontheffing does not
            # apply to WW/Wajong/WIA), MBO-only students are not assessed as job seekers
            cur.execute("SELECT count(*) FROM marts.fct_werkfit_beoordeling f JOIN marts.dim_kandidaat k "
                        "USING (persoon_id, regio_code) WHERE k.bronnen = 'uwv_haaglanden' "
                        "AND f.werkfit_status = 'werkfit'")
            assert cur.fetchone()[0] > 0
            cur.execute("SELECT DISTINCT f.werkfit_status FROM marts.fct_werkfit_beoordeling f "
                        "JOIN marts.dim_kandidaat k USING (persoon_id, regio_code) "
                        "WHERE k.bronnen = 'mbo_roc_mondriaan'")
            assert [r[0] for r in cur.fetchall()] == ["geen_werkzoekende"]
            # one month rule: the stock by age group adds up to kpi_regio_maand's stock
            cur.execute("SELECT (SELECT sum(aantal_werkzoekenden) FROM marts.kpi_werkzoekenden_maand), "
                        "(SELECT sum(aantal_werkzoekenden) FROM marts.kpi_regio_maand)")
            by_age, total = cur.fetchone()
            assert total > 0 and by_age == total
            # a person delivered by a gemeente and by UWV is one candidate with both sources
            cur.execute("SELECT count(*) FROM marts.dim_kandidaat WHERE bronnen LIKE '%gemeente_%' "
                        "AND bronnen LIKE '%uwv_haaglanden%'")
            assert cur.fetchone()[0] > 0
            # the primary key of the candidate profile (a post-hook on PostgreSQL only, see _marts.yml)
            cur.execute("SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_index i "
                        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                        "WHERE i.indrelid = 'marts.dim_kandidaat'::regclass AND i.indisprimary")
            assert cur.fetchone()[0] == ["persoon_id", "regio_code"]
    finally:
        conn.close()
