"""Operations: freshness expectations from the registry, `dbt source freshness` into audit.bronversheid, the
operations models and `regiowerk summary`, on DuckDB and on PostgreSQL (pgserver)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from pg_server import dbt_env, fresh_database
from pydantic import ValidationError
from regiowerk import cli, freshness, summary, warehouse, warehouse_conn
from regiowerk.dbt_runner import run_dbt
from regiowerk.registry import Freshness, RegistryError, load_partner, load_registry

NOW = datetime.now(UTC).replace(tzinfo=None)


# --- config: expectations and the generated dbt sources -------------------------------------------------------

def test_generated_sources_are_in_sync_with_the_registry():
    assert freshness.sources_in_sync(), "run `uv run regiowerk freshness` and commit the file"
    assert cli.main(["freshness", "--check"]) == 0


def test_out_of_sync_sources_are_detected(tmp_path, capsys):
    path = tmp_path / "_versheid_sources.yml"
    assert freshness.write_sources(path=path) is True
    assert freshness.write_sources(path=path) is False  # unchanged content is not rewritten (manifest stays fresh)
    partners = load_registry()
    one = dict(list(partners.items())[:1])
    assert not freshness.sources_in_sync(one, path)


def test_every_partner_dataset_is_one_source_table_filtered_on_the_partner():
    partners = load_registry()
    doc = yaml.safe_load(freshness.sources_yaml(partners))
    (source,) = doc["sources"]
    assert source["schema"] == "raw" and source["config"]["loaded_at_field"] == "geladen_op"
    tables = {t["name"]: t for t in source["tables"]}
    assert set(tables) == {f"{p.partner_id}__{ds}" for p in partners.values() for ds in p.datasets}
    t = tables["gemeente_den_haag__werkzoekenden"]
    assert t["identifier"] == "werkzoekenden"
    assert t["config"]["freshness"]["filter"] == "partner_id = 'gemeente_den_haag'"


def test_defaults_follow_the_schedule_and_the_partner_file_overrides():
    partners = load_registry()
    weekly, daily, monthly = partners["gemeente_den_haag"], partners["uwv_haaglanden"], partners["gemeente_delft"]
    assert freshness.policy(weekly, "werkzoekenden") == Freshness(warn_after_hours=192, error_after_hours=360)
    assert freshness.policy(daily, "vacatures") == Freshness(warn_after_hours=48, error_after_hours=72)
    assert freshness.policy(monthly, "werkzoekenden").warn_after_hours == 31 * 24 + 24  # longest month + a day
    own = weekly.model_copy(update={"freshness": Freshness(warn_after_hours=10, error_after_hours=20)})
    assert freshness.policy(own, "werkzoekenden").warn_after_hours == 10
    per_dataset = own.model_copy(update={"datasets": {"werkzoekenden": own.datasets["werkzoekenden"].model_copy(
        update={"freshness": Freshness(warn_after_hours=1, error_after_hours=2)})}})
    assert freshness.policy(per_dataset, "werkzoekenden").error_after_hours == 2


def test_freshness_in_a_partner_file_is_validated(tmp_path):
    with pytest.raises(ValidationError):
        Freshness(warn_after_hours=48, error_after_hours=24)
    data = yaml.safe_load((freshness.sources_file().parents[3] / "partners" / "gemeente_westland.yml").read_text())
    data["freshness"] = {"warn_after_hours": 48, "error_after_hours": 24}
    f = tmp_path / "gemeente_westland.yml"
    f.write_text(yaml.safe_dump(data))
    with pytest.raises(RegistryError, match=r"freshness: .*error_after_hours must be at least warn_after_hours"):
        load_partner(f)
    data["freshness"] = {"warn_after_hours": 30, "error_after_hours": 50}
    f.write_text(yaml.safe_dump(data))
    assert load_partner(f).freshness == Freshness(warn_after_hours=30, error_after_hours=50)


def test_parse_results_reads_dbt_sources_json():
    sources_json = {"results": [
        {"unique_id": "source.regiowerk.versheid.uwv_haaglanden__vacatures", "status": "warn",
         "max_loaded_at": "2026-03-01T06:00:00+00:00", "max_loaded_at_time_ago_in_s": 60 * 3600,
         "criteria": {"warn_after": {"count": 48, "period": "hour"}, "error_after": {"count": 3, "period": "day"}}},
        {"unique_id": "source.regiowerk.versheid.gemeente_delft__werkzoekenden", "status": "error",
         "max_loaded_at": "0001-01-01T00:00:00+00:00", "max_loaded_at_time_ago_in_s": 6.3e10,
         "criteria": {"warn_after": {"count": 768, "period": "hour"},
                      "error_after": {"count": 1512, "period": "hour"}}},
        {"unique_id": "source.regiowerk.versheid.mbo_x__mbo_diplomas", "status": "runtime error",
         "error": "relation raw.mbo_diplomas does not exist"},
        {"unique_id": "source.regiowerk.raw.werkzoekenden", "status": "pass"},  # not a partner source
    ]}
    rows = {(r.partner_id, r.dataset): r for r in freshness.parse_results(sources_json, NOW)}
    assert set(rows) == {("uwv_haaglanden", "vacatures"), ("gemeente_delft", "werkzoekenden"),
                         ("mbo_x", "mbo_diplomas")}
    warn = rows["uwv_haaglanden", "vacatures"]
    assert (warn.status, warn.age_hours, warn.warn_after_hours, warn.error_after_hours) == ("warn", 60.0, 48, 72)
    assert warn.max_loaded_at == datetime(2026, 3, 1, 6) and warn.late
    never = rows["gemeente_delft", "werkzoekenden"]
    assert never.max_loaded_at is None and never.age_hours is None  # never loaded, not "2000 years old"
    assert rows["mbo_x", "mbo_diplomas"].message.startswith("relation raw.mbo_diplomas")


def test_summary_date_argument_is_checked(capsys):
    with pytest.raises(SystemExit):
        cli.main(["summary", "--date", "25-11-2026"])
    assert "is not a date (YYYY-MM-DD)" in capsys.readouterr().err


# --- end to end on both engines -------------------------------------------------------------------------------

def _seed(con) -> None:
    """Den Haag loaded an hour ago (pass), UWV vacancies 60 h ago (daily partner: warn), the rest never."""
    rows = [
        ("gemeente_den_haag", "werkzoekenden", "d1", NOW - timedelta(hours=1), "loaded", 10, 8, 2),
        ("gemeente_den_haag", "werkzoekenden", "d2", NOW - timedelta(minutes=30), "rejected", 0, 0, 0),
        ("uwv_haaglanden", "vacatures", "d3", NOW - timedelta(hours=60), "loaded", 5, 5, 0),
    ]
    for pid, ds, did, at, status, received, loaded, quarantined in rows:
        warehouse.insert_delivery(
            con, partner_id=pid, dataset=ds, delivery_id=did, regio_code="AM21", source="x.csv", fingerprint="",
            received_at=at, loaded_at=at if status == "loaded" else None, rows_received=received,
            rows_loaded=loaded, rows_quarantined=quarantined, status=status)
        if status == "loaded":
            warehouse_conn.execute(
                con, f"INSERT INTO {warehouse.raw_table(ds)} (partner_id, regio_code, delivery_id, bron_rij, "
                     "geladen_op) VALUES (?, 'AM21', ?, 2, ?)", [pid, did, at])


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def operations_warehouse(request, tmp_path_factory, dbt_manifest):
    """A warehouse with a few deliveries, one freshness run stored and the operations models built."""
    mp = pytest.MonkeyPatch()
    engine = request.param
    if engine == "duckdb":
        mp.setenv("REGIOWERK_WAREHOUSE", str(tmp_path_factory.mktemp("ops") / "w.duckdb"))
        mp.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)
    else:
        url = fresh_database("rw_ops")
        mp.setenv("REGIOWERK_WAREHOUSE_URL", url)
        for k, v in dbt_env(url).items():
            mp.setenv(k, v)
    target = "duckdb" if engine == "duckdb" else "postgres"
    try:
        from regiowerk.dag_factory import prepare_warehouse

        prepare_warehouse()
        with warehouse_conn.connection() as con:
            _seed(con)
        results = freshness.check_and_store(target=target)
        run_dbt(["build", "--select", "path:models/operations"], target=target)
        yield engine, results
    finally:
        mp.undo()


def _query(sql):
    with warehouse_conn.connection(read_only=True) as con:
        return warehouse_conn.execute(con, sql)


def test_freshness_results_are_stored_per_partner_dataset(operations_warehouse):
    _, results = operations_warehouse
    by_key = {(r.partner_id, r.dataset): r.status for r in results}
    expected = {(p.partner_id, ds) for p in load_registry().values() for ds in p.datasets}
    assert set(by_key) == expected
    assert by_key["gemeente_den_haag", "werkzoekenden"] == "pass"
    assert by_key["uwv_haaglanden", "vacatures"] == "warn"
    assert by_key["gemeente_delft", "werkzoekenden"] == "error"  # never delivered
    stored = _query("SELECT count(*), count(DISTINCT checked_at) FROM audit.bronversheid")
    assert stored == [(len(expected), 1)]


def test_versheid_per_partner_shows_last_load_age_and_status(operations_warehouse):
    rows = {(r[0], r[1]): r[2:] for r in _query(
        "SELECT partner_id, dataset, partner_naam, status, te_laat, leeftijd_uren, laatst_geladen_op "
        "FROM operations.versheid_per_partner")}
    naam, status, late, age, loaded = rows["uwv_haaglanden", "vacatures"]
    assert naam == load_registry()["uwv_haaglanden"].naam
    assert (status, late) == ("warn", True) and 59.5 < age < 61
    assert rows["gemeente_den_haag", "werkzoekenden"][1:3] == ("pass", False)
    assert rows["gemeente_delft", "werkzoekenden"][1] == "error" and rows["gemeente_delft", "werkzoekenden"][4] is None


def test_daily_summary_counts_and_late_partners(operations_warehouse):
    today = summary.daily_summary(NOW.date())
    by_key = {(r.partner_id, r.dataset): r for r in today}
    dh = by_key["gemeente_den_haag", "werkzoekenden"]
    assert (dh.leveringen_ontvangen, dh.leveringen_geladen, dh.leveringen_afgewezen) == (2, 1, 1)
    assert (dh.rijen_ontvangen, dh.rijen_geladen, dh.rijen_in_quarantaine, dh.te_laat) == (10, 8, 2, False)
    uwv = by_key["uwv_haaglanden", "vacatures"]
    assert uwv.te_laat and uwv.versheid_status == "warn" and uwv.leveringen_ontvangen == 0  # delivered days ago
    earlier = {(r.partner_id, r.dataset): r for r in summary.daily_summary((NOW - timedelta(hours=60)).date())}
    if (NOW - timedelta(hours=60)).date() != NOW.date():
        assert earlier["uwv_haaglanden", "vacatures"].rijen_geladen == 5


def test_summary_command_prints_the_day(operations_warehouse, capsys):
    assert cli.main(["summary", "--date", NOW.date().isoformat()]) == 0
    out = capsys.readouterr().out
    assert f"regiowerk daily summary for {NOW.date().isoformat()}" in out
    assert "total: 2 deliveries (1 loaded, 1 rejected); 10 rows (8 loaded, 2 quarantined)" in out
    assert "late: " in out and "uwv_haaglanden/vacatures (warn)" in out and "gemeente_den_haag/werkzoekenden" \
        not in out.split("late: ")[1]
    assert cli.main(["summary", "--date", "2001-01-01"]) == 0
    assert "no deliveries and no freshness checks" in capsys.readouterr().out


def test_summary_without_operations_models_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REGIOWERK_WAREHOUSE", str(tmp_path / "empty.duckdb"))
    monkeypatch.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)
    con = warehouse.connect()
    warehouse.ensure_schema(con)
    con.close()
    assert cli.main(["summary"]) == 2
    assert "run the warehouse DAG" in capsys.readouterr().err


def test_daily_task_logs_the_same_summary(operations_warehouse):
    lines: list[str] = []
    rows = summary.log_daily_summary(NOW.date(), out=lines.append)
    assert lines == summary.format_summary(NOW.date(), rows)
    assert lines[-1].startswith("late: ") and "uwv_haaglanden/vacatures (warn)" in lines[-1]


def test_apply_roles_task_covers_the_operations_models(operations_warehouse):
    """The warehouse DAG's apply_roles task (PostgreSQL): dbt can read audit.bronversheid, engineers read the
    operations views, BI and partners do not."""
    engine, _ = operations_warehouse
    if engine != "postgres":
        return  # roles exist only in PostgreSQL; the DuckDB run of this module covers the rest
    from regiowerk.dag_factory import run_apply_roles

    run_apply_roles()
    checks = {
        ("regiowerk_transformer", "audit.bronversheid"): True,
        ("regiowerk_engineer", "operations.versheid_per_partner"): True,
        ("regiowerk_engineer", "operations.dagelijkse_samenvatting"): True,
        ("regiowerk_bi_reader", "operations.dagelijkse_samenvatting"): False,
        ("regiowerk_partner_gemeente_den_haag", "operations.versheid_per_partner"): False,
    }
    with warehouse_conn.connection() as con:
        for (role, table), allowed in checks.items():
            (got,) = warehouse_conn.execute(con, "SELECT has_table_privilege(?, ?, 'SELECT')", [role, table])[0]
            assert got is allowed, (role, table)
