"""The load stage's fixed cost per delivery: once the landing schema exists and raw.partners equals the
registry, preparing the warehouse again runs one SELECT each (no DDL, no DELETE/INSERT of raw.partners)."""

from types import SimpleNamespace

import duckdb
from regiowerk import pipeline, warehouse


class Spy:
    """A DuckDB connection that records the SQL it is given."""

    def __init__(self, con):
        self.con, self.sql = con, []

    def execute(self, sql, *args):
        self.sql.append(sql)
        return self.con.execute(sql, *args)

    def executemany(self, sql, *args):
        self.sql.append(sql)
        return self.con.executemany(sql, *args)

    def __getattr__(self, name):
        return getattr(self.con, name)


def _partner(pid, gemeente="0518"):
    return SimpleNamespace(partner_id=pid, naam=pid.title(), kind="gemeente", regio_code="AM21",
                           gemeente_code=gemeente)


def test_second_prepare_does_not_rewrite_partners_or_run_ddl():
    con = Spy(duckdb.connect())
    partners = [_partner("a"), _partner("b", gemeente=None)]
    warehouse.ensure_schema(con)
    warehouse.refresh_partners(con, partners)
    assert any(s.startswith("CREATE TABLE") for s in con.sql)
    assert "DELETE FROM raw.partners" in con.sql
    con.sql.clear()
    warehouse.ensure_schema(con)
    warehouse.refresh_partners(con, list(reversed(partners)))  # order does not matter
    assert len(con.sql) == 2 and all(s.lstrip().startswith("SELECT") for s in con.sql), con.sql
    # the registry changed: raw.partners is rewritten to match it
    warehouse.refresh_partners(con, [_partner("a", gemeente="0599")])
    assert "DELETE FROM raw.partners" in con.sql
    assert con.execute(warehouse.PARTNER_SELECT).fetchall() == [("a", "A", "gemeente", "AM21", "0599")]


def test_missing_table_or_added_column_is_still_created():
    con = duckdb.connect()
    warehouse.ensure_schema(con)
    con.execute("ALTER TABLE audit.deliveries DROP COLUMN report_path")
    con.execute("DROP TABLE audit.bronversheid")
    assert not warehouse.schema_complete(con)
    warehouse.ensure_schema(con)
    assert warehouse.schema_complete(con)
    assert con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'deliveries' "
                       "AND column_name = 'report_path'").fetchone()[0] == 1


def test_prepare_warehouse_with_the_registry_twice(tmp_path):
    con = Spy(duckdb.connect(str(tmp_path / "w.duckdb")))
    pipeline.prepare_warehouse(con)
    con.sql.clear()
    pipeline.prepare_warehouse(con)
    assert not [s for s in con.sql if not s.lstrip().startswith("SELECT")], con.sql
