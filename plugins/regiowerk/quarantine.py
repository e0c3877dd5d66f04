"""The quarantine: rows that failed at the door, kept so that they can be re-processed after a mapping fix.

Every quarantined row in ``audit.quarantine`` keeps
- ``redenen``: every reason, ``; ``-separated (never a personal value in clear);
- ``waarden``: its canonical, pseudonymised values as JSON (``persoon_id``, ``postcode4``, ``geboortejaar``, ...);
- ``bronwaarden``: JSON of the partner's *own* values of the mapped columns that are not personal, keyed by
  canonical column (e.g. ``{"regeling": "ARB-3", "peildatum": "31-10-2026"}``): what a replay re-maps with the
  current partner file. A BSN, name, address, postcode or birth date is never among them (``personal``
  columns of :mod:`regiowerk.canonical`; unmapped columns never get this far, see :mod:`regiowerk.drift`).

The pseudonymise stage writes those source values to the landing Parquet as ``_bron__<column>`` text columns
(cheap: Arrow strings, no per-row JSON); the load turns them into ``bronwaarden`` for quarantined rows only.

``regiowerk quarantine replay`` (:func:`replay`) re-maps open quarantined rows with the current partner file,
validates them exactly as the pipeline does, and loads the rows that now pass as a ``replayed`` delivery.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from regiowerk import canonical

SOURCE_PREFIX = "_bron__"


def replayable_columns(partner, dataset: str) -> list[tuple[str, str]]:
    """(canonical column, partner column) of the mapped columns whose source value may be kept: not personal."""
    ds = canonical.dataset(dataset)
    mapping = partner.datasets[dataset]
    return [(c.name, mapping.columns[c.name]) for c in ds.columns
            if c.name in mapping.columns and not c.personal]


def source_frame(frame: pd.DataFrame, partner, dataset: str) -> pd.DataFrame:
    """The ``_bron__<column>`` text columns for the landing file, from the partner's extract ``frame``."""
    from regiowerk import masking

    ds = canonical.dataset(dataset)
    out = {}
    for name, partner_col in replayable_columns(partner, dataset):
        values = frame[partner_col].reset_index(drop=True)
        values = values.astype(object).where(values.notna(), None)
        date_column = ds.column(name).type == "date"
        # a personal value in the wrong column (a BSN under doelgroep) is never kept, not even for a replay
        masked = {v: masking.mask_value(v, date_column=date_column) for v in values.dropna().unique()}
        out[SOURCE_PREFIX + name] = values.map(lambda v, masked=masked: masked.get(v, v) if v is not None else None)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def source_values(frame: pd.DataFrame) -> pd.Series:
    """JSON ``bronwaarden`` per row of a landing frame (None for a landing file written before they existed)."""
    cols = [c for c in frame.columns if c.startswith(SOURCE_PREFIX)]
    if not cols:
        return pd.Series([None] * len(frame), dtype=object)
    records = frame[cols].astype(object).where(frame[cols].notna(), None).to_dict("records")
    return pd.Series([json.dumps({k[len(SOURCE_PREFIX):]: v for k, v in rec.items()}, ensure_ascii=False)
                      for rec in records], dtype=object)


# ------------------------------------------------------------------------------------------------------------
# Replay
# ------------------------------------------------------------------------------------------------------------

REPLAYED = "replayed"


@dataclass
class ReplaySummary:
    """What one replay did (or, with --dry-run, would do) to the open quarantined rows of one delivery."""

    partner_id: str
    dataset: str
    delivery_id: str
    rows: int = 0  # open quarantined rows re-processed
    passed: int = 0  # ... that now pass (loaded)
    replay_id: str | None = None
    still_failing: Counter = field(default_factory=Counter)  # reason -> rows
    skipped: str | None = None  # why the delivery's rows could not be re-processed

    def line(self, dry_run: bool = False) -> str:
        head = f"{self.partner_id}  {self.dataset}  {self.delivery_id}: "
        if self.skipped:
            return head + f"skipped: {self.skipped}"
        verb = "would load" if dry_run else ("loaded as " + self.replay_id if self.replay_id else "loaded")
        text = head + f"{self.rows} open row(s) re-processed, {self.passed} now pass ({verb}), " \
                      f"{self.rows - self.passed} still quarantined"
        for reason, n in self.still_failing.most_common(5):
            text += f"\n    {n} x {reason}"
        return text


# Reasons found at the door about a personal column: their clear value is gone, so a replay cannot check them
# again; they stay with the row (a mapping fix cannot repair a wrong BSN, postcode or birth date anyway).
def _personal_reasons(redenen: str, ds: canonical.Dataset) -> list[str]:
    from regiowerk.pipeline import REASON_SEPARATOR

    personal = tuple(f"{c.name}:" for c in ds.columns if c.personal and c.name not in ds.stored_names)
    return [r for r in redenen.split(REASON_SEPARATOR) if r.startswith(personal)]


def _replay_partner(partner, dataset: str):
    """The partner with only the replayable (non-personal) columns mapped: what ``bronwaarden`` can feed."""
    mapping = partner.datasets[dataset]
    keep = {name for name, _ in replayable_columns(partner, dataset)}
    columns = {k: v for k, v in mapping.columns.items() if k in keep}
    narrowed = mapping.model_copy(update={"columns": columns, "strict_columns": False})
    return partner.model_copy(update={"datasets": {**partner.datasets, dataset: narrowed}})


def remap(rows: pd.DataFrame, partner, dataset: str) -> pd.DataFrame:
    """Landing-shaped frame (stored columns, bron_rij, _redenen) of quarantined ``rows`` (columns bron_rij,
    redenen, waarden, bronwaarden) re-mapped with the *current* partner file, before validation."""
    from regiowerk.connectors.base import ROW_NUMBER_COLUMN
    from regiowerk.mapping import map_to_canonical
    from regiowerk.pipeline import REASON_SEPARATOR, REASONS

    ds = canonical.dataset(dataset)
    source = [json.loads(b) for b in rows["bronwaarden"]]
    frame = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    for name, partner_col in replayable_columns(partner, dataset):
        if partner_col not in frame.columns:
            frame[partner_col] = pd.Series([s.get(name) for s in source], dtype=object)
    frame[ROW_NUMBER_COLUMN] = rows["bron_rij"].astype("int64").to_numpy()
    mapped = map_to_canonical(frame, _replay_partner(partner, dataset), dataset, key=b"replay: no BSN is read",
                              source="quarantine replay")
    out = mapped.frame
    waarden = [json.loads(w) for w in rows["waarden"]]
    for col in ds.stored_columns:
        if col.personal:  # pseudonymised/minimised at the door: taken as stored
            out[col.name] = pd.Series([w.get(col.name) for w in waarden], dtype=out[col.name].dtype)
    reasons = []
    for pos, redenen in enumerate(rows["redenen"]):
        texts = _personal_reasons(redenen, ds) + mapped.reasons.get(pos, [])
        reasons.append(REASON_SEPARATOR.join(dict.fromkeys(texts)) or None)
    out[REASONS] = pd.Series(reasons, dtype=object)
    return _round_trip(out)


def _round_trip(frame: pd.DataFrame) -> pd.DataFrame:
    """The types a landing file has after Parquet (what validation sees in the pipeline)."""
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return pq.read_table(io.BytesIO(sink.getvalue())).to_pandas()


def replay(*, partner_id: str | None = None, dataset: str | None = None, delivery_id: str | None = None,
           dry_run: bool = False, con=None) -> list[ReplaySummary]:
    """Re-process the open quarantined rows (optionally of one partner, dataset or delivery) with the current
    partner files; load the rows that now pass as a ``replayed`` delivery per original delivery (one
    transaction each). See the module doc and README "What happens to bad data"."""
    from regiowerk import pipeline, warehouse_conn
    from regiowerk.registry import load_registry

    partners = load_registry()
    summaries = []
    with warehouse_conn.borrowed(con) as wh:
        if not dry_run:
            pipeline.prepare_warehouse(wh)
        rows = warehouse_conn.execute(
            wh, "SELECT q.partner_id, q.dataset, q.delivery_id, q.bron_rij, q.redenen, q.waarden, q.bronwaarden, "
                "d.regio_code, d.source FROM audit.quarantine q JOIN audit.deliveries d USING (delivery_id) "
                "WHERE q.status = 'open' AND (? IS NULL OR q.partner_id = ?) AND (? IS NULL OR q.dataset = ?) "
                "AND (? IS NULL OR q.delivery_id = ?) ORDER BY q.delivery_id, q.bron_rij",
            [partner_id, partner_id, dataset, dataset, delivery_id, delivery_id])
        if pipeline._use_postgres(wh):
            wh.rollback()
        frame = pd.DataFrame(rows, columns=["partner_id", "dataset", "delivery_id", "bron_rij", "redenen",
                                            "waarden", "bronwaarden", "regio_code", "source"])
        for (pid, ds_name, original), group in frame.groupby(["partner_id", "dataset", "delivery_id"], sort=True):
            summary = ReplaySummary(pid, ds_name, original, rows=len(group))
            summaries.append(summary)
            if pid not in partners or ds_name not in partners[pid].datasets:
                summary.skipped = f"partner {pid} no longer delivers {ds_name} (partners/{pid}.yml)"
                continue
            if group["bronwaarden"].isna().any():
                summary.skipped = "quarantined before source values were kept (bronwaarden): ask for a new delivery"
                continue
            _replay_delivery(wh, partners[pid], group.reset_index(drop=True), summary, dry_run)
    return summaries


def _replay_delivery(con, partner, group: pd.DataFrame, summary: ReplaySummary, dry_run: bool) -> None:
    from regiowerk import pg, pipeline, warehouse, warehouse_conn

    dataset, original = summary.dataset, summary.delivery_id
    landing = remap(group, partner, dataset)
    pipeline.add_validation_reasons(landing, partner, dataset)
    reasons = landing[pipeline.REASONS]
    passing = reasons.isna().to_numpy()
    summary.passed = int(passing.sum())
    for texts in reasons[~passing]:
        summary.still_failing.update(texts.split(pipeline.REASON_SEPARATOR))
    changed = [(r, int(b)) for r, b, old in zip(reasons[~passing], group["bron_rij"][~passing],
                                                  group["redenen"][~passing], strict=True) if r != old]
    if dry_run or (summary.passed == 0 and not changed):
        return  # a second replay of the same rows changes nothing
    now = datetime.now(UTC).replace(tzinfo=None)
    previous = warehouse_conn.execute(con, "SELECT count(*) FROM audit.deliveries WHERE replay_of = ?", [original])
    replay_id = f"{original}.replay{int(previous[0][0]) + 1}"
    d = pipeline.Delivery(partner_id=partner.partner_id, dataset=dataset, delivery_id=replay_id,
                          regio_code=group["regio_code"].iloc[0], source=group["source"].iloc[0], fingerprint="",
                          received_at=now.isoformat(timespec="seconds"), rows_received=len(group))
    good, _ = pg.split_frame(d, landing, now)
    done = [int(b) for b in group["bron_rij"][passing]]
    is_pg = pg.is_pg_connection(con)
    if not is_pg:
        con.execute("BEGIN TRANSACTION")
    try:
        if summary.passed:
            if is_pg:
                with con.cursor() as cur:
                    pg._copy(cur, warehouse.raw_table(dataset), warehouse.raw_columns(dataset), good)
            else:
                pipeline.insert_frame(con, warehouse.raw_table(dataset),
                                      [c for c, _ in warehouse.raw_columns(dataset)], good)
            for bron_rij in done:
                warehouse_conn.execute(con, "UPDATE audit.quarantine SET status = ? WHERE delivery_id = ? "
                                            "AND bron_rij = ? AND status = 'open'", [REPLAYED, original, bron_rij])
            warehouse_conn.execute(con, "UPDATE audit.deliveries SET rows_loaded = rows_loaded + ?, rows_quarantined = "
                                        "rows_quarantined - ? WHERE delivery_id = ?",
                                   [summary.passed, summary.passed, original])
            warehouse.insert_delivery(
                con, partner_id=d.partner_id, dataset=dataset, delivery_id=replay_id, regio_code=d.regio_code,
                source=d.source, fingerprint="", received_at=now, loaded_at=now, rows_received=len(group),
                rows_loaded=summary.passed, rows_quarantined=len(group) - summary.passed, status=REPLAYED,
                message=f"quarantine replay of {original}: {summary.passed} of {len(group)} open row(s) now pass",
                replay_of=original)
            summary.replay_id = replay_id
        for redenen, bron_rij in changed:
            warehouse_conn.execute(con, "UPDATE audit.quarantine SET redenen = ? WHERE delivery_id = ? "
                                        "AND bron_rij = ? AND status = 'open'", [redenen, original, bron_rij])
        if is_pg:
            con.commit()
        else:
            con.execute("COMMIT")
    except BaseException:
        if is_pg:
            con.rollback()
        else:
            con.execute("ROLLBACK")
        raise
