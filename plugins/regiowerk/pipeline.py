"""The four stages of a delivery: extract -> pseudonymise -> validate -> load.

Each stage is a plain function that takes and returns a small JSON-able dict (the Airflow XCom), so the
partner DAGs, ``regiowerk demo``, ``regiowerk check`` and the benchmarks all call the same code.

Hand-over between stages is by file, and no file holds a clear BSN:
- extract writes the partner's rows *encrypted* (Fernet, key derived from the region key) to
  ``data/staging``; pseudonymise reads it, deletes it, and writes canonical, pseudonymised Parquet to
  ``data/landing/<partner>/<dataset>/<delivery_id>.parquet``;
- validate adds the reasons per row to that Parquet file; load moves it into the warehouse in one transaction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.fernet import Fernet

from regiowerk import canonical, drift, reference, warehouse
from regiowerk.errors import DeliveryError
from regiowerk.mapping import map_to_canonical
from regiowerk.pseudonymise import region_key
from regiowerk.registry import Partner, load_registry
from regiowerk.settings import paths

log = logging.getLogger(__name__)
REASONS = "_redenen"
REASON_SEPARATOR = "; "


@dataclass
class Delivery:
    """What travels between the stages (as a dict through XCom). Counts only, never personal data."""

    partner_id: str
    dataset: str
    delivery_id: str
    regio_code: str
    source: str
    fingerprint: str
    received_at: str
    rows_received: int
    watermark: str | None = None
    rows_loaded: int | None = None
    rows_quarantined: int | None = None
    status: str = "extracted"
    seconds: dict[str, float] = field(default_factory=dict)

    def to_xcom(self) -> dict:
        return asdict(self)

    @classmethod
    def from_xcom(cls, data: dict) -> Delivery:
        return cls(**data)


def _partner(partner_id: str) -> Partner:
    partners = load_registry()
    if partner_id not in partners:
        raise KeyError(f"no partner {partner_id!r} in {paths().partners}")
    return partners[partner_id]


def _fernet(regio_code: str) -> Fernet:
    derived = hmac.new(region_key(regio_code), b"regiowerk staging encryption v1", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def _staging_file(d: Delivery) -> Path:
    return paths().staging / d.partner_id / d.dataset / f"{d.delivery_id}.arrow.enc"


def landing_file(d: Delivery) -> Path:
    return paths().landing / d.partner_id / d.dataset / f"{d.delivery_id}.parquet"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def extract(partner_id: str, dataset: str, *, partner: Partner | None = None) -> dict:
    """Fetch one delivery from the partner; keep it only encrypted until pseudonymisation."""
    from regiowerk.connectors import extract as connector_extract
    from regiowerk.watermarks import WatermarkStore

    partner = partner or _partner(partner_id)
    started = time.perf_counter()
    ex = connector_extract(partner, dataset, watermarks=WatermarkStore(paths().state))
    drift.check_columns(list(ex.frame.columns), partner, dataset, ex.source)
    frame = drift.keep_known(ex.frame, partner.datasets[dataset])  # names/addresses go no further than here
    d = Delivery(
        partner_id=partner.partner_id, dataset=dataset,
        delivery_id=f"{partner.partner_id}.{dataset}.{ex.fingerprint[:20]}",
        regio_code=partner.regio_code, source=ex.source, fingerprint=ex.fingerprint,
        received_at=datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds"),
        rows_received=len(frame), watermark=ex.watermark,
    )
    sink = io.BytesIO()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    _write_atomic(_staging_file(d), _fernet(d.regio_code).encrypt(sink.getvalue()))
    d.seconds["extract"] = round(time.perf_counter() - started, 3)
    log.info("extracted %s rows from %s (delivery %s)", d.rows_received, d.source, d.delivery_id)
    return d.to_xcom()


def pseudonymise(delivery: dict, *, partner: Partner | None = None) -> dict:
    """Decrypt the extract, map it to the canonical dataset, pseudonymise and minimise it, write landing Parquet."""
    d = Delivery.from_xcom(delivery)
    partner = partner or _partner(d.partner_id)
    started = time.perf_counter()
    staged = _staging_file(d)
    raw = _fernet(d.regio_code).decrypt(staged.read_bytes())
    frame = pa.ipc.open_stream(raw).read_all().to_pandas()
    try:
        mapped = map_to_canonical(frame, partner, d.dataset, key=region_key(d.regio_code), source=d.source)
    finally:
        staged.unlink(missing_ok=True)
    out = mapped.frame
    out[REASONS] = [REASON_SEPARATOR.join(mapped.reasons[i]) if i in mapped.reasons else None
                    for i in range(len(out))]
    _write_parquet(out, landing_file(d))
    d.status = "pseudonymised"
    d.seconds["pseudonymise"] = round(time.perf_counter() - started, 3)
    return d.to_xcom()


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    _write_atomic(path, sink.getvalue())


# Datasets whose gemeente must lie in the partner's region (a job seeker registered in the region, a vacancy
# worked in it). An MBO student may live in a neighbouring region: there any CBS gemeente code is valid.
REGION_BOUND_DATASETS = ("werkzoekenden", "vacatures")


def _allowed_gemeenten(partner: Partner, dataset: str) -> set[str]:
    if dataset in REGION_BOUND_DATASETS:
        return {g.code for g in reference.gemeenten_in(partner.regio_code)}
    return set(reference.gemeenten())


def validate(delivery: dict, *, partner: Partner | None = None) -> dict:
    """Run the Great Expectations suite and the business rules; every failing row gets all its reasons."""
    from regiowerk.validation import validate as gx_validate

    d = Delivery.from_xcom(delivery)
    partner = partner or _partner(d.partner_id)
    started = time.perf_counter()
    path = landing_file(d)
    frame = pd.read_parquet(path)
    ds = canonical.dataset(d.dataset)
    result = gx_validate(frame[list(ds.stored_names) + ["bron_rij"]], d.dataset,
                         allowed_gemeenten=_allowed_gemeenten(partner, d.dataset), regio_code=partner.regio_code)
    reasons = [r if isinstance(r, str) and r else None for r in frame[REASONS]]
    for pos, extra in result.reasons.items():
        joined = REASON_SEPARATOR.join(extra)
        reasons[pos] = f"{reasons[pos]}{REASON_SEPARATOR}{joined}" if reasons[pos] else joined
    frame[REASONS] = reasons
    _write_parquet(frame, path)
    d.rows_quarantined = sum(r is not None for r in reasons)
    d.rows_loaded = d.rows_received - d.rows_quarantined
    d.status = "validated"
    d.seconds["validate"] = round(time.perf_counter() - started, 3)
    log.info("validated %s: %s rows pass, %s to quarantine", d.delivery_id, d.rows_loaded, d.rows_quarantined)
    return d.to_xcom()


def load(delivery: dict, *, partner: Partner | None = None, con=None) -> dict:
    """Load valid rows into raw.<dataset> and failing rows into audit.quarantine, in one transaction.

    A delivery that is already loaded is not loaded again: running the same delivery twice gives the same
    warehouse as running it once. The watermark is committed only after the transaction.
    """
    from regiowerk.watermarks import WatermarkStore

    d = Delivery.from_xcom(delivery)
    partner = partner or _partner(d.partner_id)
    started = time.perf_counter()
    frame = pd.read_parquet(landing_file(d))
    if len(frame) != d.rows_received:
        raise DeliveryError(d.partner_id, d.dataset, d.source,
                            f"landing file has {len(frame)} rows, {d.rows_received} were received")
    if _use_postgres(con):
        d.status = _load_postgres(con, d, frame)
    else:
        d.status = _load_duckdb(con, d, frame)
    if d.watermark:
        WatermarkStore(paths().state).set(d.partner_id, d.dataset, d.watermark)
    d.seconds["load"] = round(time.perf_counter() - started, 3)
    log.info("%s %s: %s loaded, %s quarantined", d.delivery_id, d.status, d.rows_loaded, d.rows_quarantined)
    return d.to_xcom()


def _use_postgres(con) -> bool:
    """PostgreSQL when given a psycopg2 connection, or when none is given and REGIOWERK_WAREHOUSE_URL is a
    postgresql:// URL; the embedded DuckDB warehouse otherwise."""
    from regiowerk import pg

    return pg.is_pg_connection(con) or (con is None and pg.is_postgres_url(pg.warehouse_url()))


def _load_postgres(con, d: Delivery, frame: pd.DataFrame) -> str:
    from regiowerk import pg

    own = con is None
    con = con or pg.connect()
    try:
        pg.ensure_schema(con)
        pg.refresh_partners(con, load_registry().values())
        return _load_transaction(con, d, frame)
    finally:
        if own:
            con.close()


def _load_duckdb(con, d: Delivery, frame: pd.DataFrame) -> str:
    own = con is None
    con = con or warehouse.connect()
    try:
        warehouse.ensure_schema(con)
        warehouse.refresh_partners(con, load_registry().values())
        already = con.execute("SELECT status FROM audit.deliveries WHERE delivery_id = ?",
                              [d.delivery_id]).fetchone()
        if already and already[0] == "loaded":
            counts = con.execute("SELECT rows_loaded, rows_quarantined FROM audit.deliveries WHERE delivery_id = ?",
                                 [d.delivery_id]).fetchone()
            d.rows_loaded, d.rows_quarantined = int(counts[0]), int(counts[1])
            return "already_loaded"
        _load_transaction(con, d, frame)
        return "loaded"
    finally:
        if own:
            con.close()


def _load_transaction(con, d: Delivery, frame: pd.DataFrame) -> str | None:
    """One delivery in one transaction. A psycopg2 connection goes through regiowerk.pg (COPY; returns 'loaded'
    or 'already_loaded'); a DuckDB connection is loaded as before (returns None)."""
    from regiowerk import pg

    if pg.is_pg_connection(con):
        return pg.load_delivery(con, d, frame)
    ds = canonical.dataset(d.dataset)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    bad = frame[REASONS].map(lambda r: isinstance(r, str) and r != "").astype(bool)
    good = frame.loc[~bad, list(ds.stored_names) + ["bron_rij"]].reset_index(drop=True)
    quarantined = frame.loc[bad].reset_index(drop=True)
    waarden = [json.dumps(rec, default=str, ensure_ascii=False) for rec in
               quarantined[list(ds.stored_names)].astype(object).where(quarantined[list(ds.stored_names)].notna(),
                                                                         None).to_dict("records")]
    q = pd.DataFrame({
        "partner_id": d.partner_id, "dataset": d.dataset, "delivery_id": d.delivery_id,
        "bron_rij": quarantined["bron_rij"].astype("int64"), "redenen": quarantined[REASONS].astype(object),
        "waarden": pd.Series(waarden, dtype=object), "quarantined_at": now, "status": "open",
    })
    good_arrow = pa.Table.from_pandas(good, preserve_index=False)
    q_arrow = pa.Table.from_pandas(q, preserve_index=False)
    cols = [c for c, _ in warehouse.raw_columns(d.dataset)]
    select = ", ".join(
        {"partner_id": "? AS partner_id", "regio_code": "? AS regio_code", "delivery_id": "? AS delivery_id",
         "geladen_op": "? AS geladen_op"}.get(c, c) for c in cols)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {warehouse.raw_table(d.dataset)} WHERE delivery_id = ?", [d.delivery_id])
        con.execute("DELETE FROM audit.quarantine WHERE delivery_id = ?", [d.delivery_id])
        con.execute("DELETE FROM audit.deliveries WHERE delivery_id = ?", [d.delivery_id])
        con.register("_rw_good", good_arrow)
        con.execute(f"INSERT INTO {warehouse.raw_table(d.dataset)} ({', '.join(cols)}) SELECT {select} FROM _rw_good",
                    [d.partner_id, d.regio_code, d.delivery_id, now])
        con.register("_rw_quarantine", q_arrow)
        con.execute("INSERT INTO audit.quarantine SELECT partner_id, dataset, delivery_id, bron_rij, redenen, "
                    "waarden, quarantined_at, status FROM _rw_quarantine")
        con.execute(
            "INSERT INTO audit.deliveries (partner_id, dataset, delivery_id, regio_code, source, fingerprint, "
            "received_at, loaded_at, rows_received, rows_loaded, rows_quarantined, status, message) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'loaded', NULL)",
            [d.partner_id, d.dataset, d.delivery_id, d.regio_code, d.source, d.fingerprint,
             datetime.fromisoformat(d.received_at), now, d.rows_received, len(good), len(q)])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for name in ("_rw_good", "_rw_quarantine"):
            try:
                con.unregister(name)
            except Exception:  # noqa: BLE001 - a view that was never registered
                pass
    d.rows_loaded, d.rows_quarantined = len(good), len(q)


def record_rejection(partner_id: str, dataset: str, error: Exception, *, con=None) -> None:
    """Write a rejected delivery to audit.deliveries so the failure is visible next to the good ones."""
    own = con is None
    con = con or warehouse.connect()
    try:
        warehouse.ensure_schema(con)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        source = getattr(error, "source", "")
        regio = _partner(partner_id).regio_code
        delivery_id = f"{partner_id}.{dataset}.rejected.{now:%Y%m%dT%H%M%S%f}"
        con.execute(
            "INSERT INTO audit.deliveries VALUES (?, ?, ?, ?, ?, '', ?, NULL, 0, 0, 0, 'rejected', ?)",
            [partner_id, dataset, delivery_id, regio, source, now, str(error)[:2000]])
    finally:
        if own:
            con.close()


def run_delivery(partner_id: str, dataset: str) -> dict:
    """All four stages in one process (the same functions the DAG tasks call)."""
    d = extract(partner_id, dataset)
    d = pseudonymise(d)
    d = validate(d)
    return load(d)
