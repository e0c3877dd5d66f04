"""Least privilege in the PostgreSQL warehouse: roles, grants, row-level security and BI suppression, as code.

:func:`apply_roles` is idempotent (run it after every ``dbt build``: dbt recreates the mart tables, and a new
table has no grants, so until then everything fails closed). Every identifier is validated against
:data:`regiowerk.registry.IDENTIFIER` (and the CBS code patterns) BEFORE any SQL runs, and quoted with
``psycopg2.sql.Identifier``; values go in as parameters. Everything happens in one transaction.

Access model (group roles, NOLOGIN; login users are made members of them)
-------------------------------------------------------------------------
===============================  ==========================================================================
role                             may
===============================  ==========================================================================
regiowerk_loader                 read/write ``raw.*`` and ``audit.*`` (the loader); nothing dbt builds
regiowerk_transformer            read ``raw.*``; create and write the dbt schemas (``staging``,
                                 ``intermediate``, ``marts``, ``ref``, ``snapshots``, ``kwaliteit``,
                                 ``operations``, ``bi``, and any other ``+schema`` of dbt_project.yml);
                                 ``audit.deliveries`` and the quarantine *reasons* (column grant, not
                                 ``waarden``) for ``kwaliteit``
regiowerk_engineer               read everything, including ``audit.deliveries``, ``audit.quarantine`` (the
                                 only role that may read quarantined rows besides the loader), ``kwaliteit``
                                 and the person-level history in ``snapshots`` (row-level security on, no
                                 policy for any other role)
regiowerk_partner_<partner_id>   person-level marts ``dim_kandidaat`` / ``fct_werkfit_beoordeling``, row-
                                 filtered: a gemeente sees persons it delivered (``bronnen``) or who live in
                                 it (``gemeente_code``); UWV and the school see only persons they delivered.
                                 ``raw`` person tables: only the rows of its own deliveries. ``dim_vacature``,
                                 schema ``bi``.
regiowerk_regio_<regio_code>     as a partner, filtered on ``regio_code`` (the regional team); plus schema
                                 ``operations`` (daily summary, freshness per partner: aggregates, no persons)
regiowerk_bi_reader              only schema ``bi``: every view dbt builds there (suppressed aggregates,
                                 ``dbt_project/models/bi/``); nothing person-level, nothing outside ``bi``
===============================  ==========================================================================

The row filters read ``access.partner_scope(role_name, partner_id, gemeente_code, regio_code)``, rewritten
from the registry on every run; a policy row applies to the current user when ``pg_has_role(current_user,
role_name, 'USAGE')``. Raw person tables are deliberately narrower than the marts (own deliveries only): the
integrated profile in the marts is what partners share; another partner's source rows are not.

Small-cell suppression for BI (threshold and rationale)
-------------------------------------------------------
The views of schema ``bi`` are dbt models (``dbt_project/models/bi/bi_<mart>.sql``, one per aggregate mart, on
DuckDB and PostgreSQL alike); the rule is written once, in the macro ``suppress_small_cells``
(``dbt_project/macros/suppression.sql``). Counts of persons below the dbt var ``bi_suppression_threshold``
(default **10**) are published as NULL, with ``onderdrukt = true`` on the row. Ten follows CBS practice: the
output rules of CBS for results from its microdata services (Remote Access) require at least 10 units (persons)
behind every published cell, because a small count about a small gemeente, doelgroep and month can single out a
person. Zero is shown (it cannot disclose a person's value). Suppressing one cell is not enough when a total or
the other cells of its group are visible (the cell is then a subtraction away), so **secondary suppression** is
applied: in every group of cells that add up to a visible total or to each other - the werkfit statuses of a
row, the ``van_*`` and ``naar_*`` statuses of a version comparison (which add up to ``aantal_personen``), and
each count across the doelgroepen of one gemeente/month (or region/version pair) - where exactly one cell is
suppressed, the next smallest cell (preferring non-zero) is suppressed too. Row and column passes alternate
three times. This is a pragmatic rule, not an optimal cell-suppression (tau-ARGUS). Vacancy counts are not
about persons and not suppressed; ratios (``spanning``, ``aandeel_*``) are NULL when a count behind them is.
:func:`apply_roles` grants ``regiowerk_bi_reader`` SELECT on every relation in ``bi`` and nothing else: a view
runs with its owner's (dbt's) rights, so the reader never needs the marts. dbt recreates the views on every
build (without grants), so until :func:`apply_roles` runs again the reader gets an error, never data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from psycopg2 import sql

from regiowerk.registry import IDENTIFIER

LOADER = "regiowerk_loader"
TRANSFORMER = "regiowerk_transformer"
ENGINEER = "regiowerk_engineer"
BI_READER = "regiowerk_bi_reader"
INTERNAL = (LOADER, TRANSFORMER, ENGINEER)

LANDING_SCHEMAS = ("raw", "audit")
_DBT_SCHEMAS = ("staging", "intermediate", "marts", "ref", "snapshots", "kwaliteit", "operations", "bi")
# person-level history (dbt snapshots): transformer and engineers only; row-level security with no policy for
# partner roles as a second line, so a stray GRANT still shows them nothing
PERSON_HISTORY_SCHEMAS = ("snapshots",)
# aggregates about the platform's own operation (daily summary, freshness per partner): no persons; the
# regional team reads them, partners and the BI reader do not (nothing in them is small-cell suppressed)
REGIONAL_AGGREGATE_SCHEMAS = ("operations",)


def dbt_schemas() -> tuple[str, ...]:
    """The schemas dbt builds: the known ones plus every ``+schema:``/``schema:`` in dbt_project.yml and
    snapshots/*.yml (so a schema added to the dbt project is owned by the transformer without a code change)."""
    from regiowerk.settings import paths

    found = list(_DBT_SCHEMAS)
    project = paths().dbt_project
    files = [project / "dbt_project.yml", *sorted((project / "snapshots").glob("*.yml"))]
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except OSError:
            continue
        for name in re.findall(r"^\s*\+?schema:\s*['\"]?([a-z][a-z0-9_]*)['\"]?\s*$", text, re.M):
            if name not in found and IDENTIFIER.match(name) and name not in ("raw", "audit", "bi", "access"):
                found.append(name)
    return tuple(found)


DBT_SCHEMAS = _DBT_SCHEMAS  # the static part; apply_roles uses dbt_schemas()

RAW_PERSON_TABLES = ("werkzoekenden", "mbo_inschrijvingen", "mbo_diplomas", "plaatsingen")
MART_PERSON_TABLES = ("dim_kandidaat", "fct_werkfit_beoordeling", "fct_plaatsing", "fct_kandidaat_vacature_match")
MART_SHARED_TABLES = ("dim_vacature",)

TRANSFORMER_QUARANTINE_COLUMNS = ("partner_id", "dataset", "delivery_id", "bron_rij", "redenen", "status",
                                  "quarantined_at")
_GEMEENTE = re.compile(r"^GM[0-9]{4}$")
_REGIO = re.compile(r"^[A-Za-z]{2}[0-9]{2}$")


class AccessError(ValueError):
    """An identifier that may not become a role or scope (rejected before any SQL ran)."""


@dataclass(frozen=True)
class Scope:
    role_name: str
    partner_id: str | None
    gemeente_code: str | None
    regio_code: str


def _identifier(value: object, what: str) -> str:
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise AccessError(f"{what} {value!r} is not a valid identifier ({IDENTIFIER.pattern})")
    return value


def partner_role(partner_id: str) -> str:
    return _identifier("regiowerk_partner_" + _identifier(partner_id, "partner id"), "role name")


def regio_role(regio_code: str) -> str:
    if not isinstance(regio_code, str) or not _REGIO.match(regio_code):
        raise AccessError(f"regio code {regio_code!r} is not an arbeidsmarktregio code (AMxx)")
    return _identifier("regiowerk_regio_" + regio_code.lower(), "role name")


def scopes(partners: Iterable, regio_codes: Iterable[str]) -> list[Scope]:
    """Validate everything and return the scope rows. Raises AccessError; no SQL is involved."""
    out: list[Scope] = []
    for p in partners:
        pid = p if isinstance(p, str) else getattr(p, "partner_id", None)
        kind = None if isinstance(p, str) else getattr(p, "kind", None)
        gemeente = None if isinstance(p, str) else getattr(p, "gemeente_code", None)
        regio = None if isinstance(p, str) else getattr(p, "regio_code", None)
        role = partner_role(pid)
        if gemeente is not None and (kind != "gemeente" or not _GEMEENTE.match(str(gemeente))):
            raise AccessError(f"partner {pid}: gemeente code {gemeente!r} is not valid for kind {kind!r}")
        if regio is not None:
            regio_role(regio)
        out.append(Scope(role, pid, gemeente if kind == "gemeente" else None, (regio or "").upper()))
    for r in regio_codes:
        out.append(Scope(regio_role(r), None, None, r.upper()))
    return out


def _roles_present(cur) -> set[str]:
    cur.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'regiowerk\\_%%'")
    return {r[0] for r in cur.fetchall()}


def _tables(cur, schema: str, kinds=("r", "p", "v", "m")) -> list[str]:
    cur.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind = ANY(%s) ORDER BY 1", (schema, list(kinds)))
    return [r[0] for r in cur.fetchall()]


def apply_roles(conn, partners: Iterable, regio_codes: Iterable[str]) -> None:
    """Create/refresh roles, grants and row-level security; idempotent, one transaction.

    ``partners``: registry :class:`~regiowerk.registry.Partner` objects (or bare partner ids: then no gemeente
    scope). ``conn``: a psycopg2 connection of a role that may create roles and owns (or is superuser over)
    the warehouse tables.
    """
    partners = list(partners)
    regio_codes = list(regio_codes)
    scope_rows = scopes(partners, regio_codes)  # validation first: nothing below runs on a bad identifier
    scoped_roles = sorted({s.role_name for s in scope_rows})
    built = dbt_schemas()
    all_schemas = (*LANDING_SCHEMAS, *built, "access")
    I = sql.Identifier  # noqa: E741

    try:
        with conn.cursor() as cur:
            present = _roles_present(cur)
            for role in (*INTERNAL, BI_READER, *scoped_roles):
                if role not in present:
                    cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN NOINHERIT").format(I(role))
                                if role == BI_READER else sql.SQL("CREATE ROLE {} NOLOGIN").format(I(role)))
            for schema in all_schemas:
                cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(I(schema)))

            # the scope table the row filters read
            cur.execute("CREATE TABLE IF NOT EXISTS access.partner_scope (role_name VARCHAR NOT NULL, "
                        "partner_id VARCHAR, gemeente_code VARCHAR, regio_code VARCHAR NOT NULL)")
            cur.execute("DELETE FROM access.partner_scope")
            for s in scope_rows:
                cur.execute("INSERT INTO access.partner_scope VALUES (%s, %s, %s, %s)",
                            (s.role_name, s.partner_id, s.gemeente_code, s.regio_code))

            # start from nothing: revoke every schema and table privilege of our roles and PUBLIC
            everyone = sql.SQL(", ").join([sql.SQL("PUBLIC")] + [I(r) for r in (*INTERNAL, BI_READER, *scoped_roles)])
            for schema in all_schemas:
                cur.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(I(schema), everyone))
                cur.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(I(schema), everyone))
            cur.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
            # older versions of the compose init script (deploy/postgres-init) gave the BI reader SELECT on
            # everything regiowerk_etl creates (default privileges); take that back: the reader gets schema bi only
            # (only for roles whose default privileges this login may change: itself, or roles it may SET ROLE to)
            for owner in ("regiowerk_etl", TRANSFORMER):
                cur.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (owner,))
                if not cur.fetchone()[0]:
                    continue
                cur.execute("SELECT pg_has_role(current_user, %s, 'SET')", (owner,))
                if cur.fetchone()[0]:
                    cur.execute(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} REVOKE ALL ON TABLES FROM {}")
                                .format(I(owner), I(BI_READER)))
                    cur.execute(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} REVOKE USAGE ON SCHEMAS FROM {}")
                                .format(I(owner), I(BI_READER)))

            def grant(privs: str, schema: str, roles: Iterable[str], tables: Iterable[str] | None = None) -> None:
                roles = list(roles)
                if not roles:
                    return
                who = sql.SQL(", ").join(I(r) for r in roles)
                if tables is None:
                    cur.execute(sql.SQL("GRANT " + privs + " ON ALL TABLES IN SCHEMA {} TO {}").format(I(schema), who))
                    return
                for t in tables:
                    if t in _tables(cur, schema):
                        cur.execute(sql.SQL("GRANT " + privs + " ON TABLE {} TO {}").format(I(schema, t), who))

            def usage(schema: str, roles: Iterable[str], create: bool = False) -> None:
                who = sql.SQL(", ").join(I(r) for r in roles)
                cur.execute(sql.SQL("GRANT USAGE" + (", CREATE" if create else "") + " ON SCHEMA {} TO {}")
                            .format(I(schema), who))

            # loader: raw + audit
            for schema in LANDING_SCHEMAS:
                usage(schema, [LOADER], create=True)
                grant("SELECT, INSERT, UPDATE, DELETE", schema, [LOADER])
            # transformer: reads raw, builds the dbt schemas
            usage("raw", [TRANSFORMER])
            grant("SELECT", "raw", [TRANSFORMER])
            for schema in built:
                usage(schema, [TRANSFORMER], create=True)
                grant("ALL", schema, [TRANSFORMER])
            # ... and, for the data-quality models (schema kwaliteit), the delivery counts and the quarantine
            # reasons: column privileges, so the quarantined values (audit.quarantine.waarden) stay out of reach
            usage("audit", [TRANSFORMER])
            grant("SELECT", "audit", [TRANSFORMER], ["deliveries", "bronversheid"])  # bronversheid: operations
            if "quarantine" in _tables(cur, "audit"):
                cur.execute(sql.SQL("GRANT SELECT ({}) ON TABLE audit.quarantine TO {}").format(
                    sql.SQL(", ").join(I(c) for c in TRANSFORMER_QUARANTINE_COLUMNS), I(TRANSFORMER)))
            # connecting is the deployment's business (pg_hba, LOGIN users), but the group roles carry CONNECT;
            # the loader needs TEMPORARY for COPY into row-level-secured tables (regiowerk.pg._copy)
            cur.execute("SELECT current_database()")
            db = I(cur.fetchone()[0])
            cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                db, sql.SQL(", ").join(I(r) for r in (*INTERNAL, BI_READER, *scoped_roles))))
            cur.execute(sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(db, I(LOADER)))
            # engineer: reads everything
            for schema in all_schemas:
                usage(schema, [ENGINEER])
                grant("SELECT", schema, [ENGINEER])
            # partners and regional teams: row-filtered person tables, vacancies, bi
            regional = [s.role_name for s in scope_rows if s.partner_id is None]
            for schema in REGIONAL_AGGREGATE_SCHEMAS:
                if regional and schema in built:
                    usage(schema, regional)
                    grant("SELECT", schema, regional)
            if scoped_roles:
                usage("access", scoped_roles)
                grant("SELECT", "access", scoped_roles, ["partner_scope"])
                usage("raw", scoped_roles)
                grant("SELECT", "raw", scoped_roles, RAW_PERSON_TABLES)
                usage("marts", scoped_roles)
                grant("SELECT", "marts", scoped_roles, MART_PERSON_TABLES + MART_SHARED_TABLES)

            _row_level_security(cur, scoped_roles)
            usage("bi", [BI_READER, *scoped_roles])
            usage("bi", [TRANSFORMER], create=True)  # dbt builds the views of models/bi (bi.kandidaten_anoniem)
            grant("SELECT", "bi", [BI_READER, *scoped_roles])
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


_SCOPE_MATCH = """EXISTS (SELECT 1 FROM access.partner_scope AS s
    WHERE pg_has_role(current_user, s.role_name, 'USAGE') AND ({cond}))"""


def _row_level_security(cur, scoped_roles: list[str]) -> None:
    I = sql.Identifier  # noqa: E741
    conditions = {
        ("marts", "dim_kandidaat"): _SCOPE_MATCH.format(cond=(
            "(s.partner_id IS NOT NULL AND s.partner_id = ANY(string_to_array(dim_kandidaat.bronnen, ',')))"
            " OR (s.gemeente_code IS NOT NULL AND s.gemeente_code = dim_kandidaat.gemeente_code"
            " AND s.regio_code = dim_kandidaat.regio_code)"
            " OR (s.partner_id IS NULL AND s.regio_code = dim_kandidaat.regio_code)")),
        ("marts", "fct_werkfit_beoordeling"): (
            "EXISTS (SELECT 1 FROM marts.dim_kandidaat AS k WHERE k.persoon_id = fct_werkfit_beoordeling.persoon_id"
            " AND k.regio_code = fct_werkfit_beoordeling.regio_code)"),  # dim_kandidaat's own filter applies
        # placements: those of a candidate the role may see, plus those the partner delivered (or of the region)
        ("marts", "fct_plaatsing"): (
            "EXISTS (SELECT 1 FROM marts.dim_kandidaat AS k WHERE k.persoon_id = fct_plaatsing.persoon_id"
            " AND k.regio_code = fct_plaatsing.regio_code) OR " + _SCOPE_MATCH.format(cond=(
                "(s.partner_id IS NOT NULL AND s.partner_id = ANY(string_to_array(fct_plaatsing.bronnen, ',')))"
                " OR (s.partner_id IS NULL AND s.regio_code = fct_plaatsing.regio_code)"))),
        ("marts", "fct_kandidaat_vacature_match"): (
            # the candidate's own filter (dim_kandidaat's policy) applies
            "EXISTS (SELECT 1 FROM marts.dim_kandidaat AS k"
            " WHERE k.persoon_id = fct_kandidaat_vacature_match.persoon_id"
            " AND k.regio_code = fct_kandidaat_vacature_match.regio_code)"),
    }
    for t in RAW_PERSON_TABLES:
        conditions[("raw", t)] = _SCOPE_MATCH.format(cond=(
            f"(s.partner_id IS NOT NULL AND s.partner_id = {t}.partner_id)"
            f" OR (s.partner_id IS NULL AND s.regio_code = {t}.regio_code)"))
    for schema in PERSON_HISTORY_SCHEMAS:
        for table in _tables(cur, schema, ("r", "p")):
            conditions.setdefault((schema, table), None)  # internal roles only
    for (schema, table), cond in conditions.items():
        if table not in _tables(cur, schema, ("r", "p")):
            continue
        target = I(schema, table)
        cur.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(target))
        cur.execute(sql.SQL("DROP POLICY IF EXISTS rw_intern ON {}").format(target))
        cur.execute(sql.SQL("DROP POLICY IF EXISTS rw_scope ON {}").format(target))
        cur.execute(sql.SQL("CREATE POLICY rw_intern ON {} FOR ALL TO {} USING (true) WITH CHECK (true)")
                    .format(target, sql.SQL(", ").join(I(r) for r in INTERNAL)))
        if scoped_roles and cond is not None:
            cur.execute(sql.SQL("CREATE POLICY rw_scope ON {} FOR SELECT TO {} USING (" + cond + ")")
                        .format(target, sql.SQL(", ").join(I(r) for r in scoped_roles)))
