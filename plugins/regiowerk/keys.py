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

Future loads must apply the same chain: :func:`apply_current_chain` does that in the PostgreSQL loader
(:func:`regiowerk.pg.load_delivery`) and fails closed when a chain key is missing or does not match its
fingerprint. :func:`current_chain` / :func:`chain_keys` / :func:`apply_chain` are what pseudonymise can call to
apply the chain at the door instead (not wired into :mod:`regiowerk.pseudonymise` or the DuckDB loader yet).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from regiowerk.errors import ConfigurationError

SLEUTELVERSIES = """
CREATE TABLE IF NOT EXISTS audit.sleutelversies (
    versie BIGINT NOT NULL,
    vingerafdruk VARCHAR NOT NULL,
    methode VARCHAR NOT NULL,
    aantal_pseudoniemen BIGINT,
    geroteerd_op TIMESTAMP NOT NULL,
    PRIMARY KEY (versie)
)"""
KEY_ENV = "REGIOWERK_PSEUDONYM_KEY_V{versie}"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SKIP_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast", "access")
_SKIP_TABLES = (("audit", "sleutelversies"), ("raw", "partners"), ("audit", "deliveries"))


class KeyRotationError(ValueError):
    """The old key does not match the warehouse's current key version, or the new key was used before."""


@dataclass(frozen=True)
class KeyVersion:
    versie: int
    vingerafdruk: str
    methode: str
    geroteerd_op: datetime


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


class _Db:
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


def _ensure(db: _Db) -> None:
    # CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists: ask first, so
    # the loader role (no CREATE on the database) can run this.
    if not db.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'audit'")[0][0]:
        db.execute("CREATE SCHEMA audit")
    db.execute(SLEUTELVERSIES)


def current_chain(con) -> list[KeyVersion]:
    """The recorded key versions, oldest first (empty: never rotated, persoon_id is version 1)."""
    db = _Db(con)
    exists = db.execute("SELECT count(*) FROM information_schema.tables "
                        "WHERE table_schema = 'audit' AND table_name = 'sleutelversies'")[0][0]
    if not exists:
        return []
    rows = db.execute("SELECT versie, vingerafdruk, methode, geroteerd_op FROM audit.sleutelversies ORDER BY versie")
    return [KeyVersion(int(v), f, m, t) for v, f, m, t in rows]


def chain_keys(chain: list[KeyVersion], lookup: Callable[[int], str | bytes | None] | None = None) -> list[bytes]:
    """The keys of versions 2..n, looked up (default: env/Airflow Variable REGIOWERK_PSEUDONYM_KEY_V<n>) and
    checked against their fingerprints. Raises ConfigurationError when one is missing or wrong (fail closed)."""
    from regiowerk.secret_store import get_variable

    def default(versie: int) -> str | None:
        name = KEY_ENV.format(versie=versie)
        return os.environ.get(name) or get_variable(name.lower())

    lookup = lookup or default
    keys = []
    for v in chain[1:]:
        key = lookup(v.versie)
        key = key.encode("utf-8") if isinstance(key, str) else key
        if not key:
            raise ConfigurationError(f"pseudonym key version {v.versie} is needed: set {KEY_ENV.format(versie=v.versie)}")
        if fingerprint(key) != v.vingerafdruk:
            raise ConfigurationError(f"{KEY_ENV.format(versie=v.versie)} does not match the fingerprint of "
                                     f"key version {v.versie} in audit.sleutelversies")
        keys.append(key)
    return keys


def apply_current_chain(con, good, quarantine, *, regio_code: str | None = None, lookup=None):
    """Re-key the persoon_id of a delivery being loaded (raw rows, quarantine JSON) to the current version.

    No-op while the warehouse was never rotated. With ``regio_code``: the first load records the region key's
    fingerprint as version 1; later loads check that the region key is still that key (fail closed).
    Runs inside the caller's transaction (psycopg2).
    """
    chain = current_chain(con)
    if regio_code:
        from regiowerk.pseudonymise import region_key

        base = fingerprint(region_key(regio_code))
        if not chain:  # first load: record which key made the pseudonyms (version 1), so rotation can check it
            db = _Db(con)
            _ensure(db)
            db.execute("INSERT INTO audit.sleutelversies VALUES (1, ?, 'HMAC-SHA256(k1, bsn)', NULL, ?)",
                       (base, datetime.now(timezone.utc).replace(tzinfo=None)))
            return good, quarantine
        if base != chain[0].vingerafdruk:
            raise ConfigurationError(f"region key of {regio_code} is not key version 1 of audit.sleutelversies: "
                                     "these pseudonyms would not join the warehouse")
    if len(chain) <= 1:
        return good, quarantine
    keys = chain_keys(chain, lookup)
    good = good.copy()
    if "persoon_id" in good.columns:
        good["persoon_id"] = [apply_chain(p, keys) if isinstance(p, str) else p for p in good["persoon_id"]]
    if len(quarantine):
        quarantine = quarantine.copy()
        quarantine["waarden"] = [_rekey_json(w, lambda p: apply_chain(p, keys)) for w in quarantine["waarden"]]
    return good, quarantine


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

    ``old_key`` must be the key of the current version. Version 1 is recorded by the first PostgreSQL load
    (fingerprint of the region key); a warehouse without any recorded version (DuckDB, or loaded before this
    module existed) cannot check ``old_key`` on the first rotation and records it as version 1. ``con`` is a psycopg2 or DuckDB connection. Returns the new
    version number. Afterwards set ``REGIOWERK_PSEUDONYM_KEY_V<n>`` so that future loads apply the chain, and
    re-run :func:`regiowerk.access.apply_roles` is not needed (no table is recreated).
    """
    if not old_key or not new_key or old_key == new_key:
        raise KeyRotationError("old and new key must be non-empty and different")
    db = _Db(con)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    db.begin()
    try:
        _ensure(db)
        chain = db.execute("SELECT versie, vingerafdruk FROM audit.sleutelversies ORDER BY versie")
        if not chain:
            db.execute("INSERT INTO audit.sleutelversies VALUES (1, ?, 'HMAC-SHA256(k1, bsn)', NULL, ?)",
                       (fingerprint(old_key), now))
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
        db.execute("INSERT INTO audit.sleutelversies VALUES (?, ?, 'HMAC-SHA256(k_n, persoon_id_v(n-1))', ?, ?)",
                   (versie, fingerprint(new_key), len(mapping), now))
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return versie
