"""What every connector returns, and the helpers they share to get there.

A connector only *reads*: it turns a partner delivery into a frame of strings under the partner's own
column names. Parsing decimals, dates and code lists is the mapping step's job, so a partner-specific
format never leaks into connector code.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from regiowerk.errors import DeliveryError

ROW_NUMBER_COLUMN = "_bron_rij"


@dataclass
class Extraction:
    partner_id: str
    dataset: str
    # Partner column names; every value a str or None (object dtype), plus the int column ``_bron_rij``: the row
    # number as the partner sees it (spreadsheet row with header = 1; REST record index; SQL row, 1-based).
    frame: pd.DataFrame
    source: str  # file path, endpoint URL or "table X via conn Y"; never a secret
    fingerprint: str  # sha256 hex of the delivered content: the same content gives the same fingerprint
    watermark: str | None  # commit with WatermarkStore.set only AFTER the delivery has been loaded


@dataclass(frozen=True)
class DeliveryContext:
    """Who and where, so every error a connector raises names the partner, dataset and source."""

    partner_id: str
    dataset: str
    source: str

    def error(self, message: str, *, column: str | None = None) -> DeliveryError:
        return DeliveryError(self.partner_id, self.dataset, self.source, message, column=column)

    def read_bytes(self, path) -> bytes:
        """The delivered file's bytes; an unreadable file rejects the delivery."""
        try:
            return path.read_bytes()
        except OSError as e:
            raise self.error(f"cannot read the file: {e.strerror}") from None


def to_text(value: Any) -> str | None:
    """One delivered value as text: ``None`` for empty, integral floats without ``.0``, ISO dates,
    ``true``/``false`` for booleans, comma-joined lists and JSON text for objects."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        parts = [t for t in (to_text(v) for v in value) if t is not None]
        return ",".join(parts) if parts else None
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            return to_text(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return raw.hex()
    return to_text(str(value))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_json(value: Any) -> str:
    """Fingerprint of JSON-able content, independent of key order and whitespace."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return sha256_bytes(text.encode("utf-8"))


def make_frame(ctx: DeliveryContext, columns: Sequence[str], rows: Iterable[Sequence[Any]],
               row_numbers: Iterable[int]) -> pd.DataFrame:
    """The contract frame: text values under the partner's column names plus ``_bron_rij``.

    Values are converted with :func:`to_text`; rows shorter than the header are padded with ``None``.
    """
    columns = _checked_names(ctx, columns)
    width = len(columns)
    data = [row if len(row) == width else list(row[:width]) + [None] * (width - len(row)) for row in rows]
    raw = pd.DataFrame(data, columns=columns, dtype=object) if data else pd.DataFrame(columns=columns, dtype=object)
    frame = pd.DataFrame({name: pd.Series(texts_of(raw[name].to_numpy(dtype=object)), dtype=object, index=raw.index)
                          for name in columns}, index=raw.index, columns=columns)
    frame[ROW_NUMBER_COLUMN] = pd.Series(list(row_numbers), dtype="int64", index=frame.index)
    return frame


def frame_from_columns(ctx: DeliveryContext, columns: Sequence[str], values: Sequence[Sequence[Any]],
                       row_numbers: Sequence[int]) -> pd.DataFrame:
    """:func:`make_frame` from column-wise values (one sequence per column, all as long as ``row_numbers``):
    a reader that collects column by column never holds a list per row (bounded memory for big files)."""
    columns = _checked_names(ctx, columns)
    frame = pd.DataFrame({name: pd.Series(texts_of(np.asarray(column, dtype=object)), dtype=object)
                          for name, column in zip(columns, values, strict=True)}, columns=columns)
    frame[ROW_NUMBER_COLUMN] = pd.Series(np.asarray(row_numbers, dtype="int64"), dtype="int64")
    return frame


def _checked_names(ctx: DeliveryContext, columns: Sequence[str]) -> list[str]:
    columns = [str(c) for c in columns]
    seen: set[str] = set()
    for name in columns:
        if name == ROW_NUMBER_COLUMN:
            raise ctx.error(f"the column name {ROW_NUMBER_COLUMN!r} is reserved", column=name)
        if name in seen:
            raise ctx.error("the column name appears twice in the header; rename one of them", column=name)
        seen.add(name)
    return columns


def texts_of(values: np.ndarray) -> np.ndarray:
    """:func:`to_text` over a column (object array). A column of plain strings is converted once per distinct
    value (the usual case: CSV fields, most API and database text); anything else value by value."""
    if pd.api.types.infer_dtype(values, skipna=True) == "string":
        codes, uniques = pd.factorize(values)
        table = np.empty(len(uniques) + 1, dtype=object)
        table[:-1] = [u if u.strip() else None for u in uniques]
        table[-1] = None  # missing (None/NaN)
        return table[codes]
    out = np.empty(len(values), dtype=object)
    out[:] = [to_text(v) for v in values]
    return out


def blank_row(row: Sequence[Any]) -> bool:
    """True when every value of the row is empty text or missing (what :func:`to_text` turns into None)."""
    try:
        return not "".join(row).strip()  # all str: whitespace only (str.strip's definition, as to_text)
    except TypeError:
        return all(to_text(v) is None for v in row)
