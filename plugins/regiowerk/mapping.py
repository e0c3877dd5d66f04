"""From a partner's extract (its own column names, codes, formats) to the canonical dataset, minimised.

This is where the partner file's ``columns``, ``values``, ``constants``, ``date_format``, booleans and list
separators are applied, where the BSN becomes ``persoon_id`` (see :mod:`regiowerk.pseudonymise`), the postcode
becomes ``postcode4`` and the birth date ``geboortejaar``. Only canonical stored columns leave this module:
names, street addresses and any other partner column are dropped here.

Problems with single values never raise: they become reasons on that row (the row is quarantined later).
A mapped column that is missing from the delivery rejects the whole delivery.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from regiowerk import canonical
from regiowerk.errors import DeliveryError
from regiowerk.pseudonymise import elfproef, pseudonym
from regiowerk.registry import DatasetMapping, FileConnector, Partner

ROW_COLUMN = "_bron_rij"
_POSTCODE = r"^\s*([1-9][0-9]{3})\s?([A-Za-z]{2})?\s*$"


@dataclass
class Mapped:
    frame: pd.DataFrame  # canonical stored columns (typed) + bron_rij
    reasons: dict[int, list[str]]  # positional row -> reasons found while mapping


def inert(value: object, limit: int = 50) -> str:
    """A value quoted for a message or report: shortened, and formula-like text made inert."""
    text = str(value).replace("\x00", "")
    if len(text) > limit:
        text = text[:limit] + "…"
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return f"'{text}'"


class _Collector:
    def __init__(self, n: int):
        self.reasons: dict[int, list[str]] = {}
        self.n = n

    def add(self, mask: np.ndarray | pd.Series, message_for) -> None:
        """Add a reason to every row where mask is true; message_for(position) builds the text."""
        positions = np.flatnonzero(np.asarray(mask, dtype=bool))
        for pos in positions:
            self.reasons.setdefault(int(pos), []).append(message_for(int(pos)))


def _source_series(frame: pd.DataFrame, mapping: DatasetMapping, column: str, n: int) -> pd.Series | None:
    if column in mapping.columns:
        s = frame[mapping.columns[column]]
        return s.where(s.notna(), None).astype(object)
    if column in mapping.constants:
        return pd.Series([mapping.constants[column]] * n, dtype=object)
    return None


def _apply_values(s: pd.Series, col: canonical.Column, table: dict[str, str | None], where: str,
                  out: _Collector) -> pd.Series:
    lookup = {str(k).strip(): v for k, v in table.items()}
    present = s.notna()
    stripped = s.where(~present, s.astype(str).str.strip()) if present.any() else s
    if col.type == "list":
        def map_list(text):
            if text is None:
                return None, []
            parts = [p.strip() for p in str(text).split(",") if p.strip()]
            bad = [p for p in parts if p not in lookup]
            return ",".join(v for p in parts if p in lookup and (v := lookup[p])), bad

        results = [map_list(t) for t in stripped]
        mapped = pd.Series([r[0] or None for r in results], dtype=object)
        for pos, (_, bad) in enumerate(results):
            for b in bad:
                out.reasons.setdefault(pos, []).append(
                    f"{col.name}: local code {inert(b)} has no mapping ({where}.values.{col.name})")
        return mapped
    mapped = stripped.map(lambda v: lookup.get(v) if v is not None else None).astype(object)
    unmapped = present & ~stripped.isin(list(lookup))
    out.add(unmapped, lambda p: f"{col.name}: local code {inert(stripped.iloc[p])} has no mapping "
                                f"({where}.values.{col.name})")
    return mapped.where(~unmapped, None)


def _shown(col: canonical.Column, value: object) -> str:
    return "(value masked)" if col.personal else inert(value)


def _parse(s: pd.Series, col: canonical.Column, mapping: DatasetMapping, decimal: str, out: _Collector) -> pd.Series:
    present = s.notna()
    if col.type == "text":
        return s.where(~present, s.astype(str).str.strip()).astype(object)
    if col.type == "list":
        sep = mapping.list_separator
        text = s.where(~present, s.astype(str))
        return text.map(lambda t: ",".join(p.strip() for p in t.split(sep) if p.strip()) or None
                        if t is not None else None).astype(object)
    if col.type in ("integer", "number"):
        text = s.astype(object).where(present, None).map(lambda t: str(t).strip() if t is not None else None)
        if decimal == ",":
            text = text.map(lambda t: t.replace(".", "").replace(",", ".") if t is not None else None)
        num = pd.to_numeric(text, errors="coerce")
        bad = present & num.isna()
        if col.type == "integer":
            frac = num.notna() & (num % 1 != 0)
            bad = bad | frac
            num = num.where(~frac)
        kind = "a whole number" if col.type == "integer" else "a number"
        out.add(bad, lambda p: f"{col.name}: {_shown(col, s.iloc[p])} is not {kind}")
        return num.astype("Int64" if col.type == "integer" else "Float64")
    if col.type == "date":
        text = s.astype(object).where(present, None).map(lambda t: str(t).strip() if t is not None else None)
        parsed = pd.to_datetime(text, format=mapping.date_format, errors="coerce")
        bad = present & parsed.isna()
        out.add(bad, lambda p: f"{col.name}: {_shown(col, s.iloc[p])} is not a date in format "
                               f"{mapping.date_format}")
        return parsed.dt.date.astype(object).where(parsed.notna(), None)
    if col.type == "boolean":
        lower = s.astype(object).where(present, None).map(lambda t: str(t).strip().lower() if t is not None else None)
        trues = {v.lower() for v in mapping.true_values}
        falses = {v.lower() for v in mapping.false_values}
        result = lower.map(lambda v: True if v in trues else (False if v in falses else None))
        bad = present & result.isna()
        out.add(bad, lambda p: f"{col.name}: {inert(s.iloc[p])} is not one of the configured yes/no values")
        return result.astype("boolean")
    raise AssertionError(f"unhandled column type {col.type}")


def _persoon_ids(bsn: pd.Series, key: bytes, out: _Collector) -> pd.Series:
    text = bsn.astype(object).where(bsn.notna(), None).map(lambda t: str(t).strip() if t is not None else "")
    digits = text.str.fullmatch(r"[0-9]{8,9}")
    bsn9 = text.where(digits, "").str.zfill(9)
    valid = digits & bsn9.map(elfproef)
    out.add(text == "", lambda p: "bsn: missing (required)")
    out.add((text != "") & ~digits, lambda p: "bsn: not 8 or 9 digits (value masked)")
    out.add(digits & ~valid, lambda p: "bsn: fails the elfproef (value masked)")
    return pd.Series([pseudonym(b, key) if ok else None for b, ok in zip(bsn9, valid, strict=True)], dtype=object)


def map_to_canonical(frame: pd.DataFrame, partner: Partner, dataset: str, *, key: bytes, source: str) -> Mapped:
    """Map one extract onto the canonical dataset. ``frame`` holds strings/None and the ``_bron_rij`` column."""
    ds = canonical.dataset(dataset)
    mapping = partner.datasets[dataset]
    where = f"partners/{partner.partner_id}.yml datasets.{dataset}"
    missing = [pc for pc in mapping.columns.values() if pc not in frame.columns]
    if missing:
        raise DeliveryError(partner.partner_id, dataset, source,
                            f"mapped column(s) missing from the delivery: {', '.join(map(repr, missing))}; "
                            f"columns present: {', '.join(map(repr, [c for c in frame.columns if c != ROW_COLUMN]))}",
                            column=missing[0])
    frame = frame.reset_index(drop=True)
    n = len(frame)
    out = _Collector(n)
    decimal = partner.connector.decimal if isinstance(partner.connector, FileConnector) else "."
    result: dict[str, pd.Series] = {}
    for col in ds.columns:
        if col.name == "persoon_id":
            continue
        s = _source_series(frame, mapping, col.name, n)
        if s is None:
            continue
        if col.type == "list":  # split on the partner's separator first, so code tables see single codes
            s = _parse(s, col, mapping, decimal, out)
        if col.name in mapping.values:
            s = _apply_values(s, col, mapping.values[col.name], where, out)
        if col.type == "list":
            result[col.name] = s
            continue
        if col.name == "bsn":
            result["persoon_id"] = _persoon_ids(s, key, out)
            continue
        if col.name == "postcode":
            present = s.notna()
            m = s.astype(object).where(present, "").astype(str).str.extract(_POSTCODE)[0]
            out.add(present & m.isna(), lambda p: "postcode: not a Dutch postcode (value masked)")
            result["postcode4"] = m.astype(object).where(m.notna(), None)
            continue
        parsed = _parse(s, col, mapping, decimal, out)
        if col.name == "geboortedatum":
            result["geboortejaar"] = pd.Series([d.year if d is not None else None for d in parsed], dtype="Int64")
            continue
        result[col.name] = parsed

    columns = {}
    for col in ds.stored_columns:
        if col.name in result:
            columns[col.name] = result[col.name]
        else:
            columns[col.name] = pd.Series([None] * n, dtype=_empty_dtype(col.type))
    typed = pd.DataFrame(columns)
    typed["bron_rij"] = frame[ROW_COLUMN].astype("int64").to_numpy()
    return Mapped(typed, out.reasons)


def _empty_dtype(t: str) -> str:
    return {"integer": "Int64", "number": "Float64", "boolean": "boolean"}.get(t, "object")
