"""Rotation of the pseudonymisation key by a keyed chain, recorded in ``audit.sleutelversies``.

Why a chain
-----------
``persoon_id = HMAC-SHA256(k1, bsn)`` is one-way and the warehouse holds no BSN, so a warehouse cannot be
re-pseudonymised "from scratch" with a new key, and keeping a BSN <-> pseudonym table to make that possible would
be exactly the reversible link the door must not keep. Rotation therefore re-keys the pseudonyms themselves::

    persoon_id_v1 = HMAC(k1, bsn)                       (what pseudonymise writes at the door)
    persoon_id_v2 = HMAC(k2, persoon_id_v1)             (hex string in, hex string out)
    persoon_id_vn = HMAC(kn, persoon_id_v(n-1))

:func:`rotate_key` applies one step, in ONE transaction, to every value of every pseudonym-holding column of
every base table (``persoon_id``, and any other text column holding the same value, e.g. dbt's
``bron_sleutel``; the ``persoon_id`` inside the JSON of ``audit.quarantine.waarden`` too), and records the new
version's fingerprint (``HMAC(key, "regiowerk key fingerprint v1")``, 16 hex; never the key) in
``audit.sleutelversies``. The same person still has one pseudonym everywhere, so links between sources and all
counts are unchanged. The step is deterministic, so partner tables, marts and future loads agree.

What this buys: someone who obtains ``k1`` (e.g. from an old backup of the Airflow Variables) and a BSN can no
longer compute the warehouse's pseudonym without also holding ``k2..kn``; an old warehouse extract cannot be
joined to the current warehouse. What it does not: the door still needs ``k1`` (it only sees BSNs), so all
keys of the chain stay secrets (``REGIOWERK_PSEUDONYM_KEY_V<n>``, version 1 is the region key). Retiring ``k1``
completely requires re-delivery of all sources by the partners (a full reload with a new base key).

Future loads produce the current version at the door: :func:`regiowerk.pseudonymise.persoon_ids` applies the
chain named by ``REGIOWERK_PSEUDONYM_KEY_VERSION`` (secret store; the value the rotation prints) and fails closed
when a chain key is missing or does not match its fingerprint. Both loaders (PostgreSQL and DuckDB) call
:func:`check_delivery_keys`, which fails the load when that value does not name the fingerprints recorded in
``audit.sleutelversies`` (a rotation the door does not know about yet, or a wrong region key).

Procedure (``regiowerk keys rotate --help``): pause the partner DAGs and let every delivery in flight load; put
the new key in the secret store as ``REGIOWERK_PSEUDONYM_KEY_V<n+1>``; run ``regiowerk keys rotate`` (refuses
while a landing file is not loaded yet); set the printed ``REGIOWERK_PSEUDONYM_KEY_VERSION`` value; unpause.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from regiowerk.errors import ConfigurationError, RegiowerkError
from regiowerk.warehouse import AUDIT_SLEUTELVERSIES

KEY_ENV = "REGIOWERK_PSEUDONYM_KEY_V{versie}"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SKIP_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast", "access")
_SKIP_TABLES = (("audit", "sleutelversies"), ("raw", "partners"), ("audit", "deliveries"), ("audit", "purges"))


class KeyRotationError(RegiowerkError, ValueError):
    """The old key does not match the warehouse's current key version, or the new key was used before."""


@dataclass(frozen=True)
class KeyVersion:
    versie: int
    vingerafdruk: str
    methode: str
    geroteerd_op: datetime | None


def fingerprint(key: bytes) -> str:
    return hmac.new(key, b"regiowerk key fingerprint v1", hashlib.sha256).hexdigest()[:16]


def rekey(persoon_id: str, key: bytes) -> str:
    """One step of the chain: HMAC-SHA256(key, persoon_id) as lower-case hex."""
    return hmac.new(key, persoon_id.encode("ascii"), hashlib.sha256).hexdigest()


def apply_chain(persoon_id: str, keys: list[bytes]) -> str:
    """persoon_id_v1 -> persoon_id_vn with the keys of versions 2..n (in order)."""
    for k in keys:
        persoon_id = rekey(persoon_id, k)
    return persoon_id


class Db:
    """The few operations rotation needs, on a psycopg2 or a DuckDB connection."""

    def __init__(self, con) -> None:
        self.con = con
        self.pg = type(con).__module__.startswith("psycopg2")

    def execute(self, sql: str, params=()) -> list[tuple]:
        if self.pg:
            with self.con.cursor() as cur:
                cur.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
                return cur.fetchall() if cur.description else []
        res = self.con.execute(sql, list(params))
        return res.fetchall() if res.description else []

    def begin(self) -> None:
        if not self.pg:
            self.con.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.con.commit() if self.pg else self.con.execute("COMMIT")

    def rollback(self) -> None:
        self.con.rollback() if self.pg else self.con.execute("ROLLBACK")

    def qi(self, *parts: str) -> str:
        return ".".join('"' + p.replace('"', '""') + '"' for p in parts)

    def text_columns(self) -> list[tuple[str, str, str]]:
        rows = self.execute(
            "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE t.table_type = 'BASE TABLE' AND lower(c.data_type) IN ('character varying', 'text', 'varchar') "
            "AND t.table_catalog = current_database() ORDER BY 1, 2, 3")
        return [r for r in rows if r[0] not in _SKIP_SCHEMAS and not r[0].startswith("pg_temp")
                and (r[0], r[1]) not in _SKIP_TABLES]

    def load_map(self, pairs: list[tuple[str, str]]) -> None:
        self.execute("CREATE TEMP TABLE _rw_sleutelmap (oud VARCHAR PRIMARY KEY, nieuw VARCHAR NOT NULL)")
        if not pairs:
            return
        if self.pg:
            from psycopg2.extras import execute_values

            with self.con.cursor() as cur:
                execute_values(cur, "INSERT INTO _rw_sleutelmap VALUES %s", pairs, page_size=5000)
        else:
            import pandas as pd

            self.con.register("_rw_sleutelmap_df", pd.DataFrame(pairs, columns=["oud", "nieuw"]))
            self.execute("INSERT INTO _rw_sleutelmap SELECT oud, nieuw FROM _rw_sleutelmap_df")
            self.con.unregister("_rw_sleutelmap_df")


def ensure_audit_table(db: Db, ddl: str) -> None:
    """Run one ``CREATE TABLE IF NOT EXISTS audit....`` statement, creating the audit schema first if needed."""
    # CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists: ask first, so
    # the loader role (no CREATE on the database) can run this.
    if not db.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'audit'")[0][0]:
        db.execute("CREATE SCHEMA audit")
    db.execute(ddl)


def _ensure(db: Db) -> None:
    ensure_audit_table(db, AUDIT_SLEUTELVERSIES)


def current_chain(con) -> list[KeyVersion]:
    """The recorded key versions, oldest first (empty: never rotated, persoon_id is version 1)."""
    db = Db(con)
    exists = db.execute("SELECT count(*) FROM information_schema.tables "
                        "WHERE table_schema = 'audit' AND table_name = 'sleutelversies'")[0][0]
    if not exists:
        return []
    rows = db.execute("SELECT versie, vingerafdruk, methode, geroteerd_op FROM audit.sleutelversies ORDER BY versie")
    return [KeyVersion(int(v), f, m, t) for v, f, m, t in rows]


def record_versions(con, fingerprints: list[str] | tuple[str, ...]) -> None:
    """Record key versions 1..n (a warehouse's first load: the pseudonyms it gets are made with these keys)."""
    db = Db(con)
    _ensure(db)
    now = datetime.now(UTC).replace(tzinfo=None)
    for versie, fp in enumerate(fingerprints, start=1):
        # two first loads racing (PostgreSQL): the second waits for the first and records nothing
        db.execute("INSERT INTO audit.sleutelversies VALUES (?, ?, ?, NULL, ?) ON CONFLICT DO NOTHING",
                   (versie, fp, _METHOD[versie == 1], now))


_METHOD = {True: "HMAC-SHA256(k1, bsn)", False: "HMAC-SHA256(k_n, persoon_id_v(n-1))"}


def check_delivery_keys(con, regio_code: str, *, what: str = "delivery") -> None:
    """Fail the load (ConfigurationError) unless the door's key chain is the warehouse's current chain.

    The door (:func:`regiowerk.pseudonymise.persoon_ids`) made the delivery's pseudonyms with the region key
    and the chain named by ``REGIOWERK_PSEUDONYM_KEY_VERSION``; the warehouse records its versions in
    ``audit.sleutelversies``. Both must name the same fingerprints, and version 1 must be the region key. A
    warehouse without recorded versions (first load) records the door's chain. Runs inside the caller's
    transaction on PostgreSQL; ``what`` names the delivery in the message.
    """
    from regiowerk.pseudonymise import VERSION_NAME, configured_fingerprints, region_key, version_value

    base = fingerprint(region_key(regio_code))
    door = configured_fingerprints() or (base,)
    if door[0] != base:
        raise ConfigurationError(f"{what}: the pseudonymisation key of region {regio_code} is not key version 1 "
                                 f"of {VERSION_NAME}; nothing was loaded")
    recorded = tuple(v.vingerafdruk for v in current_chain(con))
    if not recorded:
        record_versions(con, door)
        return
    if recorded[0] != base:
        raise ConfigurationError(f"{what}: the pseudonymisation key of region {regio_code} is not key version 1 "
                                 "of audit.sleutelversies: these pseudonyms would not join the warehouse; "
                                 "nothing was loaded")
    if door != recorded:
        raise ConfigurationError(
            f"{what}: its pseudonyms were made with key version {len(door)} ({VERSION_NAME}) but the warehouse "
            f"is at key version {len(recorded)} (audit.sleutelversies); nothing was loaded. Set "
            f"{VERSION_NAME}={version_value(recorded)} (and REGIOWERK_PSEUDONYM_KEY_V2..V{len(recorded)}), then "
            "run the delivery again from extract")


def _rekey_json(text: str, fn: Callable[[str], str]) -> str:
    try:
        rec = json.loads(text)
    except (TypeError, ValueError):
        return text
    if isinstance(rec, dict) and isinstance(rec.get("persoon_id"), str) and _HEX64.match(rec["persoon_id"]):
        rec["persoon_id"] = fn(rec["persoon_id"])
        return json.dumps(rec, default=str, ensure_ascii=False)
    return text


def rotate_key(con, old_key: bytes, new_key: bytes) -> int:
    """Re-key every pseudonym in the warehouse from the current version to HMAC(new_key, .), in ONE transaction.

    ``old_key`` must be the key of the current version. Version 1 is recorded by the first load (fingerprint
    of the region key, :func:`check_delivery_keys`); a warehouse without any recorded version (loaded before
    this module existed) cannot check ``old_key`` on the first rotation and records it as version 1. ``con`` is
    a psycopg2 or DuckDB connection. Returns the new version number. Afterwards the door must know the new
    version (``REGIOWERK_PSEUDONYM_KEY_VERSION``, see :func:`regiowerk.pseudonymise.persoon_ids`); re-running
    :func:`regiowerk.access.apply_roles` is not needed (no table is recreated).
    """
    if not old_key or not new_key or old_key == new_key:
        raise KeyRotationError("old and new key must be non-empty and different")
    db = Db(con)
    now = datetime.now(UTC).replace(tzinfo=None)
    db.begin()
    try:
        _ensure(db)
        chain = db.execute("SELECT versie, vingerafdruk FROM audit.sleutelversies ORDER BY versie")
        if not chain:
            db.execute("INSERT INTO audit.sleutelversies VALUES (1, ?, ?, NULL, ?)",
                       (fingerprint(old_key), _METHOD[True], now))
            chain = [(1, fingerprint(old_key))]
        if chain[-1][1] != fingerprint(old_key):
            raise KeyRotationError(f"old_key is not the current key (version {chain[-1][0]})")
        if fingerprint(new_key) in {f for _, f in chain}:
            raise KeyRotationError("new_key was used before in this warehouse")
        versie = int(chain[-1][0]) + 1

        columns = db.text_columns()
        old_ids: set[str] = set()
        for schema, table, column in columns:
            if column == "persoon_id":
                old_ids.update(r[0] for r in db.execute(
                    f"SELECT DISTINCT {db.qi(column)} FROM {db.qi(schema, table)} WHERE {db.qi(column)} IS NOT NULL"))
        quarantine = [r[0] for r in db.execute(
            "SELECT DISTINCT waarden FROM audit.quarantine WHERE waarden LIKE '%persoon_id%'")] \
            if any(s == "audit" and t == "quarantine" for s, t, _ in columns) else []
        for w in quarantine:
            _rekey_json(w, lambda p: old_ids.add(p) or p)
        mapping = {p: rekey(p, new_key) for p in old_ids if _HEX64.match(p)}
        db.load_map(sorted(mapping.items()))
        for schema, table, column in columns:
            if (schema, table, column) == ("audit", "quarantine", "waarden"):
                continue
            db.execute(f"UPDATE {db.qi(schema, table)} AS t SET {db.qi(column)} = m.nieuw FROM _rw_sleutelmap AS m "
                       f"WHERE t.{db.qi(column)} = m.oud")
        for w in quarantine:
            new_w = _rekey_json(w, lambda p: mapping.get(p, p))
            if new_w != w:
                db.execute("UPDATE audit.quarantine SET waarden = ? WHERE waarden = ?", (new_w, w))
        db.execute("DROP TABLE _rw_sleutelmap")
        db.execute("INSERT INTO audit.sleutelversies VALUES (?, ?, ?, ?, ?)",
                   (versie, fingerprint(new_key), _METHOD[False], len(mapping), now))
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return versie


# ---- command line: regiowerk keys status|rotate ---------------------------------------------------------------

ROTATE_HELP = """Re-key every pseudonym in the warehouse to a new key version, in ONE transaction.

persoon_id_v(n+1) = HMAC-SHA256(k(n+1), persoon_id_vn) in every table (raw, audit.quarantine values, all
dbt schemas), so links between sources and all counts stay intact. The warehouse is REGIOWERK_WAREHOUSE_URL
(PostgreSQL; connect as the owner of the warehouse tables, regiowerk_etl in docker-compose) or the DuckDB file
REGIOWERK_WAREHOUSE.

Procedure:
  1. Pause the partner DAGs and let every delivery in flight load (the command refuses while a landing file
     in the data dir is not loaded: its pseudonyms are of the old version).
  2. Generate a new key (e.g. python -c "import secrets; print(secrets.token_urlsafe(32))") and put it in
     the secret store as REGIOWERK_PSEUDONYM_KEY_V<n+1> (environment, or Airflow Variable
     regiowerk_pseudonym_key_v<n+1>); 'regiowerk keys status' shows n.
  3. Run 'regiowerk keys rotate'. It checks that the region key and the keys of versions 2..n match the
     fingerprints in audit.sleutelversies, re-keys, and records the new version's fingerprint (never the key).
  4. Set REGIOWERK_PSEUDONYM_KEY_VERSION to the value it prints (environment or Airflow Variable
     regiowerk_pseudonym_key_version): from then on pseudonymise makes version n+1 pseudonyms. Until it is
     set, loads fail with a message naming the value (nothing half-keyed gets in).
  5. Unpause the DAGs. Keep every key of the chain (the region key and V2..V(n+1)): the door needs them all.
"""


def _regio(args) -> str:
    from regiowerk.registry import load_registry

    if args.regio:
        return args.regio.upper()
    regios = sorted({p.regio_code for p in load_registry().values()})
    if len(regios) != 1:
        raise ConfigurationError(f"the registry names regions {', '.join(regios) or '(none)'}: pass --regio")
    return regios[0]


def pending_landing(con) -> list[str]:
    """Landing files (data/landing/<partner>/<dataset>/<delivery_id>.parquet) whose delivery is not loaded."""
    from regiowerk.settings import paths

    files = sorted(paths().landing.glob("*/*/*.parquet"))
    if not files:
        return []
    loaded = {r[0] for r in Db(con).execute("SELECT delivery_id FROM audit.deliveries WHERE status = 'loaded'")}
    return [str(f.relative_to(paths().landing)) for f in files if f.stem not in loaded]


def _cmd_status(args) -> int:
    from regiowerk import warehouse_conn
    from regiowerk.pseudonymise import VERSION_NAME, configured_fingerprints, region_key, version_value

    regio = _regio(args)
    con = warehouse_conn.connect()
    try:
        chain = current_chain(con)
    finally:
        con.close()
    for v in chain:
        print(f"version {v.versie}  fingerprint {v.vingerafdruk}  {v.methode}  {v.geroteerd_op or ''}")
    recorded = tuple(v.vingerafdruk for v in chain)
    door = configured_fingerprints() or (fingerprint(region_key(regio)),)
    print(f"warehouse: key version {len(recorded) or '- (nothing loaded yet)'}; door ({VERSION_NAME}): "
          f"key version {len(door)}")
    if recorded and door != recorded:
        print(f"MISMATCH: loads fail until {VERSION_NAME}={version_value(recorded)} is set")
        return 1
    return 0


def _cmd_rotate(args) -> int:
    from regiowerk import warehouse_conn
    from regiowerk.pseudonymise import VERSION_NAME, chain_keys_from_store, region_key, secret, version_value

    regio = _regio(args)
    con = warehouse_conn.connect()
    try:
        recorded = [v.vingerafdruk for v in current_chain(con)]
        base = region_key(regio)
        if recorded and fingerprint(base) != recorded[0]:
            raise KeyRotationError(f"the key of region {regio} is not key version 1 of audit.sleutelversies")
        chain = chain_keys_from_store(recorded or [fingerprint(base)], "audit.sleutelversies")
        old = chain[-1] if chain else base
        versie = max(len(recorded), 1) + 1
        name = KEY_ENV.format(versie=versie)
        new = secret(name)
        if not new:
            raise ConfigurationError(f"put the new key in the secret store as {name} (environment or Airflow "
                                     f"Variable {name.lower()}) first; see 'regiowerk keys rotate --help'")
        pending = pending_landing(con)
        if pending and not args.force:
            raise KeyRotationError(f"{len(pending)} landing file(s) are not loaded yet (e.g. {pending[0]}): load "
                                   "them first, or delete them and pass --force")
        if con.__class__.__module__.startswith("psycopg2"):
            con.commit()  # the checks above read in a transaction; rotation runs in its own
        rotate_key(con, old, new.encode("utf-8"))
        fingerprints = [v.vingerafdruk for v in current_chain(con)]
    finally:
        con.close()
    print(f"rotated to key version {versie}. Now set (environment or Airflow Variable {VERSION_NAME.lower()}):")
    print(f"{VERSION_NAME}={version_value(fingerprints)}")
    return 0


def add_parser(subparsers):
    """Register ``regiowerk keys status|rotate``."""
    import argparse

    k = subparsers.add_parser("keys", help="pseudonymisation key versions: status, rotation",
                              description=__doc__.split("\n\n")[0])
    ksub = k.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    p = ksub.add_parser("status", help="the warehouse's key versions and whether the door's version matches")
    p.add_argument("--regio", default=None, help="arbeidsmarktregio code (default: the registry's only region)")
    p.set_defaults(func=_cmd_status)
    p = ksub.add_parser("rotate", help="re-key every pseudonym to a new key version (see --help)",
                        description=ROTATE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--regio", default=None, help="arbeidsmarktregio code (default: the registry's only region)")
    p.add_argument("--force", action="store_true",
                   help="rotate although landing files are not loaded (they keep old-version pseudonyms)")
    p.set_defaults(func=_cmd_rotate)
    return k
