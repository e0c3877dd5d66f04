"""``regiowerk run --partner ID``: one partner's DAG end to end and the warehouse DAG, on the configured warehouse."""

from __future__ import annotations

from regiowerk import cli, warehouse
from regiowerk.demo.generate import generate_demo


def test_run_one_partner_through_the_pipeline_and_the_warehouse(tmp_path, monkeypatch, capsys, dbt_manifest):
    monkeypatch.setenv("REGIOWERK_DROP_DIR", str(tmp_path / "drop"))
    monkeypatch.setenv("REGIOWERK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIOWERK_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)
    generate_demo(tmp_path / "drop", tmp_path / "sis.sqlite")
    code = cli.main(["run", "--partner", "gemeente_delft"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "partner_gemeente_delft: success" in out and "regiowerk_warehouse: success" in out
    assert "deliveries of gemeente_delft" in out
    con = warehouse.connect()  # same configuration as dbt-duckdb's open connection
    try:
        deliveries = con.execute("SELECT partner_id, status, rows_received, rows_loaded + rows_quarantined "
                                 "FROM audit.deliveries").fetchall()
        persons = con.execute("SELECT count(*) FROM marts.dim_kandidaat").fetchone()[0]
    finally:
        con.close()
    # Only Delft was run (the other partners' sources lie in the drop zone untouched), and the marts were built.
    assert {d[0] for d in deliveries} == {"gemeente_delft"}
    assert all(status == "loaded" and received == total for _, status, received, total in deliveries)
    assert persons > 0


def test_unknown_partner_exits_2(capsys):
    assert cli.main(["run", "--partner", "nobody"]) == 2
    assert "no partner 'nobody'" in capsys.readouterr().err
