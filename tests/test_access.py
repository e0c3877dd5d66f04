"""Least privilege on real PostgreSQL: roles and row-level security from regiowerk.access, checked by SET ROLE.

One database holds all five demo partners' deliveries (through the real stages) and the dbt build on top;
tests/pg_server.py builds it once per session.
"""

import re

import psycopg2
import pytest
from pg_server import demo_deliveries, demo_warehouse, fresh_database
from psycopg2 import errors
from regiowerk import access, pg, pipeline
from regiowerk.registry import load_registry

REGIO = "AM21"


@pytest.fixture(scope="module")
def admin():
    conn = psycopg2.connect(demo_warehouse())
    access.apply_roles(conn, load_registry().values(), [REGIO])
    access.apply_roles(conn, load_registry().values(), [REGIO])  # idempotent: a second run changes nothing
    yield conn
    conn.close()


def as_role(conn, role, query, params=()):
    """Rows of ``query`` run as ``role`` inside a transaction that is rolled back."""
    try:
        with conn.cursor() as cur:
            cur.execute(f"SET LOCAL ROLE {role}")  # role names are constants of this test
            cur.execute(query, params)
            return cur.fetchall()
    finally:
        conn.rollback()


def admin_rows(conn, query, params=()):
    with conn.cursor() as cur:
        cur.execute(query, params)
        rows = cur.fetchall()
    conn.rollback()
    return rows


def tables(conn, schemas=None):
    rows = admin_rows(conn, "SELECT table_schema, table_name FROM information_schema.tables "
                            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2")
    return [r for r in rows if schemas is None or r[0] in schemas]


def test_roles_exist_as_nologin_groups(admin):
    roles = dict(admin_rows(admin, "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'regiowerk%%'"))
    expected = {"regiowerk_loader", "regiowerk_transformer", "regiowerk_engineer", "regiowerk_bi_reader",
                "regiowerk_regio_am21"} | {f"regiowerk_partner_{p}" for p in load_registry()}
    assert expected <= set(roles)
    assert not any(roles[r] for r in expected)
    scope = admin_rows(admin, "SELECT role_name, partner_id, gemeente_code, regio_code FROM access.partner_scope "
                              "ORDER BY 1")
    assert ("regiowerk_partner_gemeente_delft", "gemeente_delft", "GM0503", "AM21") in scope
    assert ("regiowerk_partner_uwv_haaglanden", "uwv_haaglanden", None, "AM21") in scope
    assert ("regiowerk_regio_am21", None, None, "AM21") in scope


def test_gemeente_sees_only_persons_it_delivered_or_who_live_in_it(admin):
    total = admin_rows(admin, "SELECT count(*) FROM marts.dim_kandidaat")[0][0]
    rows = as_role(admin, "regiowerk_partner_gemeente_delft",
                   "SELECT persoon_id, bronnen, gemeente_code FROM marts.dim_kandidaat")
    assert 0 < len(rows) < total
    assert all("gemeente_delft" in b.split(",") or g == "GM0503" for _, b, g in rows)
    expected = admin_rows(admin, "SELECT count(*) FROM marts.dim_kandidaat "
                                 "WHERE 'gemeente_delft' = ANY(string_to_array(bronnen, ',')) "
                                 "OR gemeente_code = 'GM0503'")
    assert len(rows) == expected[0][0]
    # a Den Haag client who never was in Delft is invisible to Delft
    den_haag_only = admin_rows(admin, "SELECT persoon_id FROM marts.dim_kandidaat "
                                      "WHERE bronnen = 'gemeente_den_haag' AND gemeente_code <> 'GM0503' LIMIT 5")
    assert den_haag_only
    visible = {r[0] for r in rows}
    assert not visible & {r[0] for r in den_haag_only}
    # the assessments follow the candidates
    fct = as_role(admin, "regiowerk_partner_gemeente_delft",
                  "SELECT DISTINCT persoon_id FROM marts.fct_werkfit_beoordeling")
    assert {r[0] for r in fct} == visible
    # raw: only its own deliveries
    raw = as_role(admin, "regiowerk_partner_gemeente_delft", "SELECT DISTINCT partner_id FROM raw.werkzoekenden")
    assert raw == [("gemeente_delft",)]


@pytest.mark.parametrize("partner_id", ["uwv_haaglanden", "mbo_roc_mondriaan"])
def test_uwv_and_school_see_only_persons_they_delivered(admin, partner_id):
    rows = as_role(admin, f"regiowerk_partner_{partner_id}", "SELECT bronnen FROM marts.dim_kandidaat")
    delivered = admin_rows(admin, "SELECT count(*) FROM marts.dim_kandidaat "
                                  "WHERE %s = ANY(string_to_array(bronnen, ','))", (partner_id,))[0][0]
    assert rows and len(rows) == delivered
    assert all(partner_id in b.split(",") for (b,) in rows)
    for table in ("werkzoekenden", "mbo_inschrijvingen", "mbo_diplomas", "plaatsingen"):
        seen = as_role(admin, f"regiowerk_partner_{partner_id}", f"SELECT DISTINCT partner_id FROM raw.{table}")
        assert set(seen) <= {(partner_id,)}


def test_placements_follow_the_candidates_a_partner_may_see(admin):
    visible = {r[0] for r in as_role(admin, "regiowerk_partner_gemeente_den_haag",
                                     "SELECT persoon_id FROM marts.dim_kandidaat")}
    placed = as_role(admin, "regiowerk_partner_gemeente_den_haag", "SELECT plaatsing_id FROM marts.fct_plaatsing")
    total = admin_rows(admin, "SELECT count(*) FROM marts.fct_plaatsing")[0][0]
    assert placed and len(placed) < total
    # those of candidates it may see, and those it delivered itself (also of a person unknown to dim_kandidaat)
    expected = {r[0] for r in admin_rows(admin, "SELECT plaatsing_id, persoon_id, bronnen FROM marts.fct_plaatsing")
                if r[1] in visible or "gemeente_den_haag" in r[2].split(",")}
    assert {r[0] for r in placed} == expected
    assert len(placed) == len(expected)
    assert as_role(admin, "regiowerk_regio_am21", "SELECT count(*) FROM marts.fct_plaatsing")[0][0] == total


def test_regional_team_sees_its_region(admin):
    total = admin_rows(admin, "SELECT count(*) FROM marts.dim_kandidaat WHERE regio_code = 'AM21'")[0][0]
    assert as_role(admin, "regiowerk_regio_am21", "SELECT count(*) FROM marts.dim_kandidaat")[0][0] == total


@pytest.mark.parametrize("role", ["regiowerk_partner_gemeente_den_haag", "regiowerk_regio_am21",
                                  "regiowerk_bi_reader"])
def test_audit_and_quarantine_only_for_engineers(admin, role):
    for table in ("audit.quarantine", "audit.deliveries", "audit.sleutelversies"):
        with pytest.raises(errors.InsufficientPrivilege):
            as_role(admin, role, f"SELECT count(*) FROM {table}")
    assert as_role(admin, "regiowerk_engineer", "SELECT count(*) FROM audit.quarantine")[0][0] > 0


def test_transformer_reads_quarantine_reasons_but_not_values(admin):
    assert as_role(admin, "regiowerk_transformer", "SELECT count(redenen) FROM audit.quarantine")[0][0] > 0
    with pytest.raises(errors.InsufficientPrivilege):
        as_role(admin, "regiowerk_transformer", "SELECT waarden FROM audit.quarantine")
    # dbt ran as a member of regiowerk_transformer: it owns what it built
    owners = admin_rows(admin, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'marts'")
    assert owners == [("regiowerk_test_dbt",)]


def bi_models() -> set[str]:
    """The aliases of the enabled bi models (dbt_project/models/bi/bi_<name>.sql)."""
    from regiowerk.settings import paths

    return {f.stem.removeprefix("bi_") for f in (paths().dbt_project / "models" / "bi").glob("bi_*.sql")}


def test_bi_reader_reads_every_bi_view_and_nothing_else(admin):
    checked = 0
    for schema, table in tables(admin):
        if schema == "bi":
            continue
        with pytest.raises(errors.InsufficientPrivilege):
            as_role(admin, "regiowerk_bi_reader", f'SELECT 1 FROM "{schema}"."{table}" LIMIT 1')
        checked += 1
    assert checked > 20
    names = {t for s, t in tables(admin, ("bi",))}
    assert names == bi_models() and {"kpi_regio_maand", "werkfit_versie_vergelijking", "versheid_per_partner"} <= names
    for name in names:
        cols = {r[0] for r in admin_rows(admin, "SELECT column_name FROM information_schema.columns "
                                                "WHERE table_schema = 'bi' AND table_name = %s", (name,))}
        assert "persoon_id" not in cols
        # kandidaten_anoniem is k-anonymous instead (every row >= 10 persons; tests/test_match.py)
        assert "onderdrukt" in cols or name in ("dagelijkse_samenvatting", "versheid_per_partner", "kandidaten_anoniem")
        as_role(admin, "regiowerk_bi_reader", f'SELECT * FROM bi."{name}" LIMIT 1')  # no error: readable
    assert as_role(admin, "regiowerk_bi_reader", "SELECT count(*) FROM bi.kpi_regio_maand")[0][0] > 0


KPI_PERSON_COUNTS = ["aantal_werkzoekenden", "aantal_werkfit", "aantal_werkfit_met_ondersteuning",
                     "aantal_in_ontwikkeling", "aantal_niet_bemiddelbaar", "aantal_onbekend", "instroom",
                     "uitstroom", "uitstroom_naar_werk"]


def test_bi_reader_sees_small_cells_suppressed(admin):
    cols = ", ".join(KPI_PERSON_COUNTS)
    rows = as_role(admin, "regiowerk_bi_reader",
                   f"SELECT regio_code, gemeente_code, maand, doelgroep, {cols}, onderdrukt FROM bi.kpi_regio_maand")
    raw = {r[:4]: r[4:] for r in admin_rows(
        admin, f"SELECT regio_code, gemeente_code, maand, doelgroep, {cols} FROM marts.kpi_regio_maand")}
    assert len(rows) == len(raw)
    suppressed = 0
    for r in rows:
        values, flag = r[4:-1], r[-1]
        truth = raw[r[:4]]
        for v, t in zip(values, truth, strict=True):
            if v is None:
                suppressed += 1
            else:
                assert v == t and (v == 0 or v >= 10)  # no visible small count
            if 0 < t < 10:
                assert v is None  # primary suppression
        assert flag == any(v is None for v in values)
        statuses = values[1:6]
        assert sum(v is None for v in statuses) != 1  # secondary: never exactly one suppressed status
    assert suppressed > 0
    # column groups: per gemeente, month and count, never exactly one doelgroep suppressed
    groups: dict = {}
    for r in rows:
        for i, v in enumerate(r[4:-1]):
            groups.setdefault((r[0], r[1], r[2], i), []).append(v)
    assert all(sum(v is None for v in g) != 1 for g in groups.values() if len(g) > 1)
    vergelijking = as_role(admin, "regiowerk_bi_reader",
                           "SELECT aantal_personen, van_werkfit, naar_werkfit, onderdrukt "
                           "FROM bi.werkfit_versie_vergelijking")
    assert vergelijking
    assert all(v is None or v == 0 or v >= 10 for row in vergelijking for v in row[:3])


class _NoSql:
    """A connection that fails the test if anything tries to run SQL on it."""

    def cursor(self):
        raise AssertionError("SQL was run before validation")

    def commit(self):
        raise AssertionError("commit")

    def rollback(self):
        pass


@pytest.mark.parametrize("bad", [
    "gemeente_x; DROP TABLE raw.werkzoekenden; --",
    'x" SUPERUSER; --',
    "Gemeente_Delft",
    "a",
    "x" * 80,
])
def test_injection_in_partner_id_is_rejected_before_any_sql(admin, bad):
    with pytest.raises(access.AccessError):
        access.apply_roles(_NoSql(), ["gemeente_delft", bad], [REGIO])
    with pytest.raises(access.AccessError):
        access.apply_roles(admin, [bad], [REGIO])
    assert admin_rows(admin, "SELECT count(*) FROM raw.werkzoekenden")[0][0] > 0


@pytest.mark.parametrize("bad_regio", ["AM21; DROP SCHEMA raw CASCADE", "am_21", "", "ÄM21"])
def test_injection_in_regio_code_is_rejected(bad_regio):
    with pytest.raises(access.AccessError):
        access.apply_roles(_NoSql(), ["gemeente_delft"], [bad_regio])


def test_injection_in_gemeente_code_of_a_partner_is_rejected():
    partner = load_registry()["gemeente_delft"].model_copy(update={"gemeente_code": "GM0503' OR '1'='1"})
    with pytest.raises(access.AccessError):
        access.apply_roles(_NoSql(), [partner], [REGIO])


def test_no_clear_bsn_in_any_text_column(admin):
    bsns = demo_deliveries().bsns
    assert len(bsns) > 300
    columns = admin_rows(admin, "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c "
                                "WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') "
                                "AND c.data_type IN ('character varying', 'text', 'character')")
    assert len(columns) > 100
    found = []
    for schema, table, column in columns:
        digits = admin_rows(admin, f'SELECT DISTINCT (regexp_matches("{column}", \'[0-9]{{8,9}}\', \'g\'))[1] '
                                   f'FROM "{schema}"."{table}"')
        hits = {d for (d,) in digits} & bsns
        if hits:
            found.append((schema, table, column, len(hits)))
    assert not found


def test_loader_role_can_load_with_least_privilege():
    """The loader writes raw and audit through the real code path as regiowerk_loader, and nothing else."""
    conn = psycopg2.connect(fresh_database("rw_loader"))
    try:
        pg.ensure_schema(conn)
        access.apply_roles(conn, load_registry().values(), [REGIO])
        xcom, frame = demo_deliveries().deliveries[0]
        with conn.cursor() as cur:
            cur.execute("SET ROLE regiowerk_loader")
        conn.commit()
        demo_deliveries().restore_landing()
        d = pipeline.load(dict(xcom), con=conn)  # ensure_schema, refresh_partners, COPY: all as the loader
        assert d["status"] == "loaded"
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM raw.werkzoekenden")
            assert cur.fetchone()[0] == d["rows_loaded"] > 0
            cur.execute("SELECT versie FROM audit.sleutelversies")
            assert cur.fetchall() == [(1,)]
        conn.rollback()
        with pytest.raises(errors.InsufficientPrivilege), conn.cursor() as cur:
            cur.execute("CREATE TABLE marts.x (a int)")
    finally:
        conn.close()


def test_role_names_are_validated_identifiers():
    assert access.partner_role("gemeente_delft") == "regiowerk_partner_gemeente_delft"
    assert access.regio_role("AM21") == "regiowerk_regio_am21"
    assert re.match(r"^[a-z_0-9]+$", access.partner_role("uwv_haaglanden"))


PARTNER = "regiowerk_partner_gemeente_delft"


@pytest.mark.parametrize("role", ["regiowerk_bi_reader", PARTNER, "regiowerk_regio_am21"])
def test_snapshots_kwaliteit_and_audit_are_not_for_partners_or_bi(admin, role):
    schemas = ("snapshots", "kwaliteit", "audit") + (("raw",) if role == "regiowerk_bi_reader" else ())
    found = tables(admin, schemas)
    assert ("snapshots", "snap_kandidaat_status") in found and any(s == "kwaliteit" for s, _ in found)
    for schema, table in found:
        with pytest.raises(errors.InsufficientPrivilege):
            as_role(admin, role, f'SELECT 1 FROM "{schema}"."{table}" LIMIT 1')
    # the engineers read them
    assert as_role(admin, "regiowerk_engineer", "SELECT count(*) FROM snapshots.snap_kandidaat_status")[0][0] > 0


def test_partner_cannot_read_snapshot_rows_of_other_partners_persons(admin):
    total = admin_rows(admin, "SELECT count(*) FROM snapshots.snap_kandidaat_status")[0][0]
    others = admin_rows(admin, "SELECT count(*) FROM snapshots.snap_kandidaat_status s WHERE NOT EXISTS ("
                               "SELECT 1 FROM raw.werkzoekenden w WHERE w.persoon_id = s.persoon_id "
                               "AND w.partner_id = 'gemeente_delft')")[0][0]
    assert total > others > 0
    with pytest.raises(errors.InsufficientPrivilege):
        as_role(admin, PARTNER, "SELECT count(*) FROM snapshots.snap_kandidaat_status")
    # second line: row-level security is on with no policy for partner roles, so even a stray GRANT shows no row
    try:
        with admin.cursor() as cur:
            cur.execute(f"GRANT USAGE ON SCHEMA snapshots TO {PARTNER}")
            cur.execute(f"GRANT SELECT ON snapshots.snap_kandidaat_status TO {PARTNER}")
            cur.execute(f"SET LOCAL ROLE {PARTNER}")
            cur.execute("SELECT count(*) FROM snapshots.snap_kandidaat_status")
            assert cur.fetchone()[0] == 0
    finally:
        admin.rollback()
    assert as_role(admin, "regiowerk_engineer", "SELECT count(*) FROM snapshots.snap_kandidaat_status")[0][0] == total


def test_operations_aggregates_are_for_the_regional_team_only(admin):
    registry = load_registry().values()
    with admin.cursor() as cur:  # what the ops models build: aggregates per partner, no persons
        cur.execute("CREATE TABLE operations.rw_test_versheid AS SELECT partner_id, count(*) AS leveringen "
                    "FROM audit.deliveries GROUP BY partner_id")
    admin.commit()
    try:
        access.apply_roles(admin, registry, [REGIO])
        assert as_role(admin, "regiowerk_regio_am21", "SELECT count(*) FROM operations.rw_test_versheid")[0][0] == 5
        for role in ("regiowerk_bi_reader", PARTNER):
            with pytest.raises(errors.InsufficientPrivilege):
                as_role(admin, role, "SELECT count(*) FROM operations.rw_test_versheid")
    finally:
        with admin.cursor() as cur:
            cur.execute("DROP TABLE operations.rw_test_versheid")
        admin.commit()


def test_dbt_rebuild_fails_closed_until_apply_roles_runs_again(admin):
    """dbt recreates the marts (no grants, no RLS) and drops the bi views with them: until apply_roles runs
    again, partners and BI get an error, never unfiltered rows. Runs last in this module (it rebuilds)."""
    from pg_server import dbt_login_url, run_dbt_build

    # the admin connection stays open and idle (rolled back) during the build
    run_dbt_build(dbt_login_url(demo_warehouse()))
    with pytest.raises(errors.InsufficientPrivilege):
        as_role(admin, "regiowerk_partner_gemeente_delft", "SELECT count(*) FROM marts.dim_kandidaat")
    with pytest.raises((errors.UndefinedTable, errors.InsufficientPrivilege)):
        as_role(admin, "regiowerk_bi_reader", "SELECT count(*) FROM bi.kpi_regio_maand")
    access.apply_roles(admin, load_registry().values(), [REGIO])
    rows = as_role(admin, "regiowerk_partner_gemeente_delft", "SELECT bronnen, gemeente_code FROM marts.dim_kandidaat")
    assert rows and all("gemeente_delft" in b.split(",") or g == "GM0503" for b, g in rows)
    assert as_role(admin, "regiowerk_bi_reader", "SELECT count(*) FROM bi.kpi_regio_maand")[0][0] > 0

