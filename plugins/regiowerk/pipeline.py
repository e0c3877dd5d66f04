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
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.fernet import Fernet

from regiowerk import canonical, drift, quarantine, reference, warehouse, warehouse_conn
from regiowerk.errors import ConfigurationError, DeliveryError, unexpected_failure
from regiowerk.mapping import map_to_canonical
from regiowerk.pseudonymise import region_key
from regiowerk.registry import Partner, load_registry
from regiowerk.settings import paths

log = logging.getLogger(__name__)
REASONS = "_redenen"
REASON_SEPARATOR = "; "
ALREADY_LOADED = "already_loaded"


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
    full: bool = True  # the partner's whole dataset; False for the delta of an incremental dataset
    report_path: str | None = None  # the validation report (HTML) of this delivery

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


@contextmanager
def _rejecting(partner: Partner, dataset: str, source: str, stage: str):
    """Any exception of ``stage`` becomes a DeliveryError (a malformed delivery is a rejection, recorded in
    audit.deliveries by the caller, never a bare crash). DeliveryErrors pass unchanged, and so do
    ConfigurationErrors (a missing or unfit key is the platform's fault, not the delivery's: the task fails with
    that message and the same delivery is processed once the setting is fixed)."""
    try:
        yield
    except (DeliveryError, ConfigurationError):
        raise
    except Exception as e:  # noqa: BLE001 - every failure of a delivery is recorded as a rejection
        import traceback

        from regiowerk import masking

        # the traceback for engineers, masked: a library's message may quote a cell
        log.warning("%s of %s/%s failed unexpectedly:\n%s", stage, partner.partner_id, dataset,
                    masking.mask_text("".join(traceback.format_exception(e))))
        raise unexpected_failure(partner.partner_id, dataset, source, stage, e) from e


def _planned_source(partner: Partner, dataset: str) -> str:
    """Where a delivery comes from before the connector has said it (for the message of a failed extract)."""
    source = partner.datasets[dataset].source
    return f"{partner.delivery_folder()}/{source}" if partner.connector.type == "file" else source


def extract(partner_id: str, dataset: str, *, partner: Partner | None = None, con=None) -> dict:
    """Fetch one delivery from the partner; keep it only encrypted until pseudonymisation.

    A delivery whose content (fingerprint) is already loaded is recognised here: nothing is staged and the
    next stages pass it through as ``already_loaded`` (see :func:`_known_loaded`). A file drop is recognised
    from its bytes before it is parsed (:func:`_unchanged_file`). Any failure raises DeliveryError.
    """
    partner = partner or _partner(partner_id)
    with _rejecting(partner, dataset, _planned_source(partner, dataset), "extract"):
        return _extract(partner, dataset, con)


def _extract(partner: Partner, dataset: str, con) -> dict:
    from regiowerk.connectors import extract as connector_extract
    from regiowerk.watermarks import WatermarkStore

    mapping = partner.datasets[dataset]
    started = time.perf_counter()
    store = WatermarkStore(paths().state)
    incremental = mapping.incremental or bool(mapping.watermark_column)
    full = not incremental or store.get(partner.partner_id, dataset) is None
    known = _unchanged_file(partner, dataset, con)
    if known is not None:
        known.seconds["extract"] = round(time.perf_counter() - started, 3)
        log.info("delivery %s from %s is already loaded: not read again", known.delivery_id, known.source)
        return known.to_xcom()
    ex = connector_extract(partner, dataset, watermarks=store)
    drift.check_columns(list(ex.frame.columns), partner, dataset, ex.source)
    frame = drift.keep_known(ex.frame, mapping)  # names/addresses go no further than here
    d = _delivery(partner, dataset, ex.source, ex.fingerprint, len(frame), full, ex.watermark)
    if _known_loaded(d, con):
        d.status = ALREADY_LOADED
        _staging_file(d).unlink(missing_ok=True)
        d.seconds["extract"] = round(time.perf_counter() - started, 3)
        log.info("delivery %s from %s is already loaded: not processed again", d.delivery_id, d.source)
        return d.to_xcom()
    sink = io.BytesIO()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    _write_atomic(_staging_file(d), _fernet(d.regio_code).encrypt(sink.getvalue()))
    d.seconds["extract"] = round(time.perf_counter() - started, 3)
    log.info("extracted %s rows from %s (delivery %s)", d.rows_received, d.source, d.delivery_id)
    return d.to_xcom()


def _delivery(partner: Partner, dataset: str, source: str, fingerprint: str, rows: int, full: bool,
              watermark: str | None = None) -> Delivery:
    return Delivery(
        partner_id=partner.partner_id, dataset=dataset,
        delivery_id=f"{partner.partner_id}.{dataset}.{fingerprint[:20]}",
        regio_code=partner.regio_code, source=source, fingerprint=fingerprint,
        received_at=datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        rows_received=rows, watermark=watermark, full=full,
    )


def _unchanged_file(partner: Partner, dataset: str, con=None) -> Delivery | None:
    """A file drop whose newest file is already loaded, as an ``already_loaded`` delivery; None otherwise (not
    a file partner, a new file, or no counts known: then the file is read). On DuckDB only ``rows_received``
    comes from the marker: the load stage confirms the delivery in the warehouse and fills in the counts."""
    from regiowerk.connectors.file import newest_delivery

    if partner.connector.type != "file":
        return None
    path, fingerprint = newest_delivery(partner, dataset)
    d = _delivery(partner, dataset, str(path), fingerprint, 0, True)
    if _use_postgres(con):
        if not _known_loaded(d, con):
            return None
    else:
        counts = _marker_counts(d.delivery_id)
        if counts is None:
            return None
        d.rows_received = sum(counts)
    if d.rows_loaded is not None:
        d.rows_received = d.rows_loaded + d.rows_quarantined
    d.status = ALREADY_LOADED
    return d


def _loaded_marker(delivery_id: str) -> Path:
    """Set by the load stage after commit into a DuckDB warehouse: lets extract recognise a loaded delivery
    without opening DuckDB. Holds the loaded counts as JSON (``rows_loaded``, ``rows_quarantined``). Kept per
    warehouse file (a short hash of its path), so two warehouses sharing a data folder do not see each other's
    loads. PostgreSQL needs no marker: extract asks the warehouse itself."""
    key = hashlib.sha256(str(Path(paths().warehouse).resolve()).encode("utf-8")).hexdigest()[:12]
    return paths().state / "loaded" / key / f"{delivery_id}.done"


def _marker_counts(delivery_id: str) -> tuple[int, int] | None:
    """(rows_loaded, rows_quarantined) the load stage wrote into the marker; None without a marker (or with an
    empty one from before the counts were written)."""
    try:
        data = json.loads(_loaded_marker(delivery_id).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return int(data["rows_loaded"]), int(data["rows_quarantined"])


def _known_loaded(d: Delivery, con=None) -> bool:
    """Is the delivery already loaded? PostgreSQL: asked directly (counts filled in). DuckDB: the marker of the
    load stage, because opening the DuckDB file here, outside the warehouse pool, could make a concurrent
    writer (a load, dbt) fail on the file lock; the load stage confirms it in the warehouse."""
    if _use_postgres(con):
        with warehouse_conn.borrowed(con) as wh:
            counts = loaded_counts(d.delivery_id, con=wh)
        if counts is not None:
            d.rows_loaded, d.rows_quarantined = counts
        return counts is not None
    return _loaded_marker(d.delivery_id).exists()


def loaded_counts(delivery_id: str, *, con) -> tuple[int, int] | None:
    """(rows_loaded, rows_quarantined) when ``delivery_id`` is loaded in the warehouse ``con``, else None."""
    sql = "SELECT rows_loaded, rows_quarantined FROM audit.deliveries WHERE delivery_id = ? AND status = 'loaded'"
    try:
        rows = warehouse_conn.execute(con, sql, [delivery_id])
    except Exception as e:  # noqa: BLE001 - no audit schema yet
        if not _is_missing_table(e):
            raise
        rows = []
    if _use_postgres(con):
        con.rollback()
    return (int(rows[0][0]), int(rows[0][1])) if rows else None


def _is_missing_table(error: Exception) -> bool:
    return type(error).__name__ in ("UndefinedTable", "CatalogException")


def pseudonymise(delivery: dict, *, partner: Partner | None = None) -> dict:
    """Decrypt the extract, map it to the canonical dataset, pseudonymise and minimise it, write landing Parquet.
    Any failure raises DeliveryError."""
    d = Delivery.from_xcom(delivery)
    if d.status == ALREADY_LOADED:
        return d.to_xcom()
    partner = partner or _partner(d.partner_id)
    with _rejecting(partner, d.dataset, d.source, "pseudonymise"):
        return _pseudonymise(d, partner)


def _pseudonymise(d: Delivery, partner: Partner) -> dict:
    started = time.perf_counter()
    staged = _staging_file(d)
    raw = _fernet(d.regio_code).decrypt(staged.read_bytes())
    frame = pa.ipc.open_stream(raw).read_all().to_pandas()
    try:
        mapped = map_to_canonical(frame, partner, d.dataset, key=region_key(d.regio_code), source=d.source)
    finally:
        staged.unlink(missing_ok=True)
    out = pd.concat([mapped.frame, quarantine.source_frame(frame, partner, d.dataset)], axis=1)
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
    d = Delivery.from_xcom(delivery)
    if d.status == ALREADY_LOADED:
        return d.to_xcom()
    partner = partner or _partner(d.partner_id)
    started = time.perf_counter()
    path = landing_file(d)
    frame = pd.read_parquet(path)
    result = add_validation_reasons(frame, partner, d.dataset)
    _write_parquet(frame, path)
    d.rows_quarantined = int(frame[REASONS].notna().sum())
    d.rows_loaded = d.rows_received - d.rows_quarantined
    d.status = "validated"
    d.report_path = str(_write_report(d, frame, result))
    d.seconds["validate"] = round(time.perf_counter() - started, 3)
    log.info("validated %s: %s rows pass, %s to quarantine", d.delivery_id, d.rows_loaded, d.rows_quarantined)
    return d.to_xcom()


def report_dir(d: Delivery) -> Path:
    """Where the validation report of a delivery goes: ``data/runs/<received date>/<delivery_id>/`` (outside
    git: reports quote pseudonymised values)."""
    return paths().runs / d.received_at[:10] / d.delivery_id


def _write_report(d: Delivery, frame: pd.DataFrame, result) -> Path:
    """The compact HTML validation report of one delivery, with every reason of the mapping and validation."""
    import dataclasses

    from regiowerk.validation import build_data_docs

    started = time.perf_counter()
    reasons = {pos: text.split(REASON_SEPARATOR) for pos, text in enumerate(frame[REASONS]) if isinstance(text, str)}
    bron = frame["bron_rij"].to_numpy()
    full = dataclasses.replace(result, reasons=reasons, n_failed_rows=len(reasons),
                               reasons_by_bron_rij={int(bron[p]): texts for p, texts in reasons.items()})
    out = build_data_docs(report_dir(d), full, title=f"Delivery {d.delivery_id}", facts={
        "partner": d.partner_id, "dataset": d.dataset, "source": d.source, "received at (UTC)": d.received_at,
        "rows received": d.rows_received, "rows to load": d.rows_loaded, "rows to quarantine": d.rows_quarantined,
        "full delivery": "yes" if d.full else "no (incremental delta)"})
    log.info("validation report %s written in %.3f s", out, time.perf_counter() - started)  # part of validate
    return out


def add_validation_reasons(frame: pd.DataFrame, partner: Partner, dataset: str):
    """Validate a landing frame (canonical stored columns, ``bron_rij`` and the mapping's reasons in
    ``_redenen``) and append every failing row's reasons to ``_redenen`` (None: the row passes). The one
    validation of the pipeline, also used by ``regiowerk quarantine replay``. Returns the ValidationResult."""
    from regiowerk.validation import validate as gx_validate

    ds = canonical.dataset(dataset)
    result = gx_validate(frame[list(ds.stored_names) + ["bron_rij"]], dataset,
                         allowed_gemeenten=_allowed_gemeenten(partner, dataset), regio_code=partner.regio_code)
    reasons = [r if isinstance(r, str) and r else None for r in frame[REASONS]]
    for pos, extra in result.reasons.items():
        joined = REASON_SEPARATOR.join(extra)
        reasons[pos] = f"{reasons[pos]}{REASON_SEPARATOR}{joined}" if reasons[pos] else joined
    frame[REASONS] = pd.Series(reasons, dtype=object, index=frame.index)
    return result


def load(delivery: dict, *, partner: Partner | None = None, con=None) -> dict:
    """Load valid rows into raw.<dataset> and failing rows into audit.quarantine, in one transaction.

    A delivery that is already loaded is not loaded again: running the same delivery twice gives the same
    warehouse as running it once. A full delivery whose row count dropped too far against the previous loaded
    full delivery is rejected (``max_row_drop``). The watermark is committed only after the transaction.
    """
    from regiowerk.watermarks import WatermarkStore

    d = Delivery.from_xcom(delivery)
    partner = partner or _partner(d.partner_id)
    started = time.perf_counter()
    if d.status == ALREADY_LOADED and d.rows_loaded is None:
        with warehouse_conn.borrowed(con) as wh:
            counts = loaded_counts(d.delivery_id, con=wh)
        if counts is None:
            _loaded_marker(d.delivery_id).unlink(missing_ok=True)
            raise DeliveryError(d.partner_id, d.dataset, d.source,
                                f"delivery {d.delivery_id} was marked as loaded in {_loaded_marker(d.delivery_id)}"
                                f" but is not in the warehouse (was the warehouse replaced?); the marker is "
                                f"removed: run the whole delivery (extract first) again")
        d.rows_loaded, d.rows_quarantined = counts
    elif d.status != ALREADY_LOADED:
        frame = pd.read_parquet(landing_file(d))
        if len(frame) != d.rows_received:
            raise DeliveryError(d.partner_id, d.dataset, d.source,
                                f"landing file has {len(frame)} rows, {d.rows_received} were received")
        with warehouse_conn.borrowed(con) as wh:
            prepare_warehouse(wh)
            counts = loaded_counts(d.delivery_id, con=wh)
            if counts is not None:
                d.rows_loaded, d.rows_quarantined = counts
                d.status = ALREADY_LOADED
            else:
                check_row_drop(wh, d, partner)
                d.status = _load_transaction(wh, d, frame)
    if not _use_postgres(con):
        _write_atomic(_loaded_marker(d.delivery_id), json.dumps(
            {"rows_loaded": d.rows_loaded, "rows_quarantined": d.rows_quarantined}).encode("utf-8"))
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


def prepare_warehouse(con) -> None:
    """Schemas and tables exist, raw.partners mirrors the registry (DuckDB or PostgreSQL)."""
    from regiowerk import pg

    if pg.is_pg_connection(con):
        pg.ensure_schema(con)
        pg.refresh_partners(con, load_registry().values())
    else:
        warehouse.ensure_schema(con)
        warehouse.refresh_partners(con, load_registry().values())


def check_row_drop(con, d: Delivery, partner: Partner) -> None:
    """Reject a delivery whose rows dropped by more than ``max_row_drop`` against the previous loaded full
    delivery of the same partner and dataset (only full deliveries, unless ``row_drop_check: all``)."""
    mapping = partner.datasets[d.dataset]
    if mapping.max_row_drop is None or (mapping.row_drop_check == "full" and not d.full):
        return
    full_only = "AND volledig" if mapping.row_drop_check == "full" else ""
    rows = warehouse_conn.execute(
        con, "SELECT delivery_id, rows_received, loaded_at FROM audit.deliveries WHERE partner_id = ? "
             f"AND dataset = ? AND status = 'loaded' AND delivery_id <> ? {full_only} ORDER BY loaded_at DESC "
             "LIMIT 1", [d.partner_id, d.dataset, d.delivery_id])
    if _use_postgres(con):
        con.rollback()
    if not rows or not rows[0][1]:
        return
    previous_id, previous, loaded_at = rows[0][0], int(rows[0][1]), rows[0][2]
    if d.rows_received >= previous * (1 - mapping.max_row_drop):
        return
    drop = 1 - d.rows_received / previous
    raise DeliveryError(
        d.partner_id, d.dataset, d.source,
        f"row count dropped from {previous} (previous loaded delivery {previous_id}, {loaded_at:%Y-%m-%d %H:%M}) "
        f"to {d.rows_received} ({drop:.0%} fewer), more than max_row_drop {mapping.max_row_drop:g} allows; "
        f"nothing was loaded and the previous data stays. If the partner really delivers this few rows now, "
        f"raise datasets.{d.dataset}.max_row_drop (or set it to null) in partners/{d.partner_id}.yml and run "
        f"again")


def _load_transaction(con, d: Delivery, frame: pd.DataFrame) -> str:
    """One delivery in one transaction; 'loaded' (or 'already_loaded' when PostgreSQL finds it under its lock).
    A psycopg2 connection goes through :func:`regiowerk.pg.load_delivery` (COPY)."""
    from regiowerk import keys, pg

    if pg.is_pg_connection(con):
        return pg.load_delivery(con, d, frame)
    keys.check_delivery_keys(con, d.regio_code, what=pg.delivery_label(d))
    now = datetime.now(UTC).replace(tzinfo=None)
    good, q = pg.split_frame(d, frame, now)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {warehouse.raw_table(d.dataset)} WHERE delivery_id = ?", [d.delivery_id])
        con.execute("DELETE FROM audit.quarantine WHERE delivery_id = ?", [d.delivery_id])
        con.execute("DELETE FROM audit.deliveries WHERE delivery_id = ?", [d.delivery_id])
        insert_frame(con, warehouse.raw_table(d.dataset), [c for c, _ in warehouse.raw_columns(d.dataset)], good)
        insert_frame(con, "audit.quarantine", [c for c, _ in pg.QUARANTINE_COLUMNS], q)
        warehouse.insert_delivery(
            con, partner_id=d.partner_id, dataset=d.dataset, delivery_id=d.delivery_id, regio_code=d.regio_code,
            source=d.source, fingerprint=d.fingerprint, received_at=datetime.fromisoformat(d.received_at),
            loaded_at=now, rows_received=d.rows_received, rows_loaded=len(good), rows_quarantined=len(q),
            status="loaded", volledig=d.full, report_path=d.report_path)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    d.rows_loaded, d.rows_quarantined = len(good), len(q)
    return "loaded"


def insert_frame(con, table: str, columns: list[str], frame: pd.DataFrame) -> None:
    """INSERT the frame's ``columns`` into ``table`` of a DuckDB warehouse (inside the caller's transaction)."""
    if frame.empty:
        return
    con.register("_rw_frame", pa.Table.from_pandas(frame[columns], preserve_index=False))
    try:
        con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM _rw_frame")
    finally:
        con.unregister("_rw_frame")


def record_rejection(partner_id: str, dataset: str, error: Exception, *, con=None) -> None:
    """Write a rejected delivery to audit.deliveries (DuckDB or PostgreSQL warehouse) so the failure is visible
    next to the good ones. Counts are 0: nothing of a rejected delivery is loaded."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with warehouse_conn.borrowed(con) as wh:
        prepare_warehouse(wh)
        warehouse.insert_delivery(
            wh, partner_id=partner_id, dataset=dataset,
            delivery_id=f"{partner_id}.{dataset}.rejected.{now:%Y%m%dT%H%M%S%f}",
            regio_code=_partner(partner_id).regio_code, source=getattr(error, "source", ""), fingerprint="",
            received_at=now, rows_received=0, rows_loaded=0, rows_quarantined=0, status="rejected",
            message=str(error)[:2000])
        if _use_postgres(wh):
            wh.commit()


def run_delivery(partner_id: str, dataset: str) -> dict:
    """All four stages in one process (the same functions the DAG tasks call)."""
    d = extract(partner_id, dataset)
    d = pseudonymise(d)
    d = validate(d)
    return load(d)
