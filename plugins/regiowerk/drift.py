"""Schema drift at the door: the delivery's columns against what the partner file says it delivers.

One rule, used by the pipeline (right after extract, before anything is staged), by ``map_to_canonical`` and
so by ``regiowerk check``:

- every partner column mapped in ``columns`` must be present (else the delivery is rejected);
- every other column must be known: the dataset's ``watermark_column`` or a column listed in ``ignore_columns``
  (the partner's names, addresses, internal numbers: delivered knowingly, never taken). Any other column
  rejects the delivery, because an unknown column is a changed export: a rename, a new field, or personal data
  nobody agreed to receive. ``strict_columns: false`` turns this second rule off for one dataset.

Messages name column headers only, never a cell value. A header that looks like data (a BSN, a postcode, a date)
means the export has no header row: the delivery is rejected as "header row missing", without listing the
headers (they are the first person's values). :func:`check_misplaced` rejects a delivery whose columns are
probably shifted or swapped: a column whose values mostly look like another column's personal data.

When a missing column and an unexpected one look alike (same letters up to case, spaces and punctuation, or a
close spelling) the message says which rename it probably is.

:func:`keep_known` then drops the ignored columns, so names and addresses never reach staging, landing, the
warehouse or the quarantine.
"""

from __future__ import annotations

import difflib
import re

import pandas as pd

from regiowerk import canonical, masking
from regiowerk.connectors.base import ROW_NUMBER_COLUMN
from regiowerk.errors import DeliveryError
from regiowerk.registry import DatasetMapping, Partner


def _normal(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def looks_like(name: str, candidates: list[str]) -> str | None:
    """The candidate ``name`` is probably a rename of, or None."""
    for c in candidates:
        if _normal(c) == _normal(name):
            return c
    close = difflib.get_close_matches(name.casefold(), [c.casefold() for c in candidates], n=1, cutoff=0.75)
    if close:
        return next(c for c in candidates if c.casefold() == close[0])
    return None


def taken_columns(mapping: DatasetMapping) -> list[str]:
    """The partner columns regiowerk reads: mapped columns and the watermark column, in mapping order."""
    cols = list(dict.fromkeys(mapping.columns.values()))
    if mapping.watermark_column and mapping.watermark_column not in cols:
        cols.append(mapping.watermark_column)
    return cols


def check_columns(columns: list[str], partner: Partner, dataset: str, source: str) -> None:
    """Raise DeliveryError when a mapped column is missing or (strict_columns) an unknown column is present."""
    mapping = partner.datasets[dataset]
    where = f"partners/{partner.partner_id}.yml datasets.{dataset}"
    present = [c for c in columns if c != ROW_NUMBER_COLUMN]
    data_like = [pos for pos, c in enumerate(present, start=1)
                 if c is not None and (masking.looks_personal(c) or re.fullmatch(r"\s*[0-9][0-9 .,-]*\s*", str(c)))]
    if data_like and not set(present) >= set(mapping.columns.values()):
        raise DeliveryError(partner.partner_id, dataset, source,
                            f"header row missing: the first row holds values, not column names (column(s) "
                            f"{', '.join(map(str, data_like))} of the first row look like data); the export must "
                            f"start with the header row the partner file maps ({where}.columns)")
    missing = [pc for pc in dict.fromkeys(mapping.columns.values()) if pc not in present]
    known = set(taken_columns(mapping)) | set(mapping.ignore_columns)
    extra = [c for c in present if c not in known]
    if missing:
        renames = [f"{looks!r} looks like a rename of {m!r}" for m in missing
                   if (looks := looks_like(m, extra)) is not None]
        hint = f" ({'; '.join(renames)})" if renames else ""
        raise DeliveryError(partner.partner_id, dataset, source,
                            f"mapped column(s) missing from the delivery: {', '.join(map(repr, missing))}{hint}; "
                            f"columns present: {', '.join(map(repr, present))}", column=missing[0])
    if extra and mapping.strict_columns:
        renames = [f"{e!r} looks like a rename of {looks!r}" for e in extra
                   if (looks := looks_like(e, list(known))) is not None]
        hint = f" ({'; '.join(renames)})" if renames else ""
        raise DeliveryError(partner.partner_id, dataset, source,
                            f"unexpected column(s) in the delivery: {', '.join(map(repr, extra))}{hint}; the "
                            f"partner file does not know them. Map them in {where}.columns, list them in "
                            f"{where}.ignore_columns if the partner delivers them knowingly and regiowerk must "
                            f"not take them, or have them removed from the export", column=extra[0])


def keep_known(frame: pd.DataFrame, mapping: DatasetMapping) -> pd.DataFrame:
    """Only the columns regiowerk takes (plus the row number): ignored and unknown columns are dropped here."""
    keep = [c for c in frame.columns if c == ROW_NUMBER_COLUMN or c in set(taken_columns(mapping))]
    return frame[keep]


def check_misplaced(texts, partner: Partner, dataset: str, source: str) -> None:
    """Raise DeliveryError when a mapped column's values mostly look like personal data it should not hold (a
    BSN, a full postcode, a date outside a date column): the columns are probably shifted or swapped. The
    message names the columns, never a value. ``texts(partner_column)`` gives a column as text or None."""
    ds = canonical.dataset(dataset)
    mapping = partner.datasets[dataset]
    allowed: dict[str, set[str]] = {}
    for canon, partner_col in mapping.columns.items():
        allowed.setdefault(partner_col, set()).update(masking.allowed_kinds(ds.column(canon)))
    found = masking.suspicious_columns({col: (kinds, texts(col)) for col, kinds in allowed.items()})
    if not found:
        return
    home = {"bsn": mapping.columns.get("bsn"), "postcode": mapping.columns.get("postcode"),
            "date": mapping.columns.get("geboortedatum")}
    parts = []
    for col, kind in found:
        belongs = f" (they belong in column {home[kind]!r})" if home.get(kind) else ""
        parts.append(f"column {col!r} holds mostly {masking.KINDS[kind]}{belongs}")
    raise DeliveryError(partner.partner_id, dataset, source,
                        f"columns probably shifted or swapped: {'; '.join(parts)}. Check the column order and "
                        f"headers of the export against partners/{partner.partner_id}.yml datasets.{dataset}."
                        f"columns; nothing was loaded (values are not shown)", column=found[0][0])
