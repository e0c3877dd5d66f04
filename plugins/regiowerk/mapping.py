"""From a partner's extract (its own column names, codes, formats) to the canonical dataset, minimised.

This is where the partner file's ``columns``, ``values``, ``constants``, ``date_format``, booleans and list
separators are applied, where the BSN becomes ``persoon_id`` (see :mod:`regiowerk.pseudonymise`), the postcode
becomes ``postcode4`` and the birth date ``geboortejaar``. Only canonical stored columns leave this module:
names, street addresses and any other partner column are dropped here.

Problems with single values never raise: they become reasons on that row (the row is quarantined later).
Every conversion works on the *distinct* values of a column (``pd.factorize``) and is then spread back over the
rows, so a code table, date format or yes/no list is applied once per distinct value, not once per row.
A mapped column that is missing from the delivery rejects the whole delivery, and so does a column the partner
file does not know (see :mod:`regiowerk.drift`). Besides the per-column checks, this step
quarantines: a data row that repeats the header (reason ``row repeats the header row``), a value longer than
:data:`MAX_VALUE_CHARS` characters, a date that looks like an Excel serial day number (with a hint in the
reason) and a birth date in the future.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from regiowerk import canonical, masking
from regiowerk.drift import check_columns, check_misplaced
from regiowerk.pseudonymise import elfproef, normalise_bsn, persoon_ids
from regiowerk.registry import DatasetMapping, FileConnector, Partner, value_key

ROW_COLUMN = "_bron_rij"
_POSTCODE = r"^\s*([1-9][0-9]{3})\s?([A-Za-z]{2})?\s*$"
_POSTCODE_MATCH = re.compile(_POSTCODE).match


def _postcode4(text: str) -> str | None:
    m = _POSTCODE_MATCH(text)
    return m.group(1) if m else None
MIN_YEAR = 1900  # no date of a person, benefit or vacancy lies before; 0001-01-01 is an exporter's "no date"
MAX_VALUE_CHARS = 1000  # no canonical value is longer; a longer one is a broken export (or an attack)
HEADER_REPEATED = "row repeats the header row (column names as values); remove the extra header from the export"
_EXCEL_SERIAL = re.compile(r"^[1-9][0-9]{4}(\.[0-9]+)?$")  # 10000..99999: 1927-05-18 .. 2173-10-14


@dataclass
class Mapped:
    frame: pd.DataFrame  # canonical stored columns (typed) + bron_rij
    reasons: dict[int, list[str]]  # positional row -> reasons found while mapping


def inert(value: object, limit: int = 50, *, date_column: bool = False) -> str:
    """A value quoted for a message or report: personal-looking values masked (:mod:`regiowerk.masking`; a date
    only outside a date column), shortened, and formula-like text made inert."""
    text = str(masking.mask_value(str(value), date_column=date_column)).replace("\x00", "")
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


def _per_distinct(values, convert, missing=None) -> np.ndarray:
    """``convert`` applied once per distinct non-missing value and spread back over the rows (object array);
    a missing value (None/NaN) becomes ``missing`` without calling ``convert``."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    table = np.empty(len(uniques) + 1, dtype=object)
    for i, value in enumerate(uniques):
        table[i] = convert(value)
    table[-1] = missing  # code -1 = missing
    return table[codes]


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    return str(value).strip() or None


def _texts(values) -> pd.Series:
    """Strings stripped of surrounding white space, None for anything missing (object dtype, never NaN)."""
    if isinstance(values, pd.Series):
        arr = values.to_numpy(dtype=object, na_value=None)
    else:
        arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=object)
    if pd.api.types.infer_dtype(arr, skipna=True) in ("string", "empty"):
        return pd.Series(_per_distinct(arr, lambda v: v.strip() or None), dtype=object)
    # Anything but str/None (a test frame with numbers, say): value by value, so 1 and 1.0 stay apart.
    return pd.Series([_text(v) for v in arr], dtype=object)


def _source_series(texts, mapping: DatasetMapping, column: str, n: int) -> pd.Series | None:
    if column in mapping.columns:
        return texts(mapping.columns[column])
    if column in mapping.constants:
        return pd.Series([mapping.constants[column]] * n, dtype=object)
    return None


def _apply_values(s: pd.Series, col: canonical.Column, mapping: DatasetMapping, where: str,
                  out: _Collector) -> pd.Series:
    """Local codes and full words to canonical codes; case and spacing do not count (registry.value_key)."""
    lookup: dict[str, str | None] = {}
    if mapping.accept_canonical_codes:
        lookup.update({value_key(c): c for c in canonical.CODE_LISTS.get(col.code_list or "", ())})
    lookup.update({value_key(k): v for k, v in mapping.values.get(col.name, {}).items()})

    def convert(text: str) -> tuple[str | None, list[str]]:
        parts = text.split(",") if col.type == "list" else [text]
        codes, problems = [], []
        for part in parts:
            key = value_key(part)
            if key in lookup:
                if lookup[key] is not None:
                    codes.append(lookup[key])
            else:
                problems.append(f"{col.name}: local code {inert(part)} has no mapping ({where}.values.{col.name})")
        return ",".join(codes) or None, problems

    converted = _per_distinct(s, convert, missing=(None, []))
    mapped = np.empty(len(converted), dtype=object)
    for pos, (value, problems) in enumerate(converted):
        mapped[pos] = value
        if problems:
            out.reasons.setdefault(pos, []).extend(problems)
    return pd.Series(mapped, dtype=object)


def _shown(col: canonical.Column, value: object) -> str:
    return masking.MASK if col.personal else inert(value, date_column=col.type == "date")


def _parse(s: pd.Series, col: canonical.Column, mapping: DatasetMapping, decimal: str, out: _Collector) -> pd.Series:
    present = s.notna().to_numpy()
    if col.type == "text":
        return s
    if col.type == "list":
        sep = mapping.list_separator
        return pd.Series(_per_distinct(s, lambda t: ",".join(p.strip() for p in t.split(sep) if p.strip()) or None),
                         dtype=object)
    if col.type in ("integer", "number"):
        text = s
        if decimal == ",":
            text = pd.Series(_per_distinct(s, lambda t: t.replace(".", "").replace(",", ".")), dtype=object)
        num = pd.to_numeric(text, errors="coerce")
        bad = present & num.isna().to_numpy()
        if col.type == "integer":
            frac = (num.notna() & (num % 1 != 0)).to_numpy()
            bad = bad | frac
            num = num.where(~frac)
        kind = "a whole number" if col.type == "integer" else "a number"
        out.add(bad, lambda p: f"{col.name}: {_shown(col, s.iloc[p])} is not {kind}")
        return num.astype("Int64" if col.type == "integer" else "Float64")
    if col.type == "date":
        # Parse the distinct texts only (in order of first appearance, so a format pandas infers is the same).
        # Every listed format in turn on what is still unparsed (a column may mix formats when the partner file
        # lists them); an ambiguous text takes the first format that fits.
        codes, uniques = pd.factorize(s.to_numpy(dtype=object))
        table = np.empty(len(uniques) + 1, dtype=object)
        table[:] = None
        todo = pd.Series(uniques, dtype=object)
        for fmt in mapping.date_formats:
            if todo.empty:
                break
            parsed = pd.to_datetime(todo, format=fmt, errors="coerce")
            hit = parsed.notna().to_numpy()
            table[todo.index[hit]] = [d.date() for d in parsed[hit]]
            todo = todo[~hit]
        dates = table[codes]
        ok = pd.notna(dates)
        formats = " or ".join(mapping.date_formats)
        out.add(present & ~ok, lambda p: f"{col.name}: {_shown(col, s.iloc[p])} is not a date in format "
                                         f"{formats}{_serial_hint(s.iloc[p])}")
        early = _per_distinct(dates, lambda d: d.year < MIN_YEAR, missing=False).astype(bool)
        out.add(early, lambda p: f"{col.name}: {_shown(col, s.iloc[p])} lies before {MIN_YEAR}: not a plausible "
                                 f"date (a placeholder such as 0001-01-01?)")
        return pd.Series(np.where(early, None, dates), dtype=object)
    if col.type == "boolean":
        trues = {v.lower() for v in mapping.true_values}
        falses = {v.lower() for v in mapping.false_values}
        values = _per_distinct(s, lambda t: True if t.lower() in trues else (False if t.lower() in falses else None))
        bad = present & pd.isna(values)
        out.add(bad, lambda p: f"{col.name}: {inert(s.iloc[p])} is not one of the configured yes/no values")
        return pd.Series(values, dtype="boolean")
    raise AssertionError(f"unhandled column type {col.type}")


def _serial_hint(text: str) -> str:
    if _EXCEL_SERIAL.match(text):
        return " (looks like an Excel serial day number: format the column as a date in the export)"
    return ""


def _header_rows(texts, n: int, mapping: DatasetMapping) -> np.ndarray:
    """Rows whose every mapped column holds its own column name: a header repeated inside the data."""
    names = list(dict.fromkeys(mapping.columns.values()))
    if not names or not n:
        return np.zeros(n, dtype=bool)
    hit = np.ones(n, dtype=bool)
    for name in names:
        want = name.strip().casefold()
        hit &= _per_distinct(texts(name), lambda v, want=want: v.casefold() == want, missing=False).astype(bool)
        if not hit.any():
            break
    return hit


def _too_long(s: pd.Series, col: canonical.Column, out: _Collector) -> pd.Series:
    lengths = _per_distinct(s, len, missing=0).astype(np.int64)
    long_ = lengths > MAX_VALUE_CHARS
    if not long_.any():
        return s
    out.add(long_, lambda p: f"{col.name}: value is {lengths[p]} characters long (at most {MAX_VALUE_CHARS})")
    return s.where(~long_, None)


def _persoon_ids(bsn: pd.Series, key: bytes, out: _Collector) -> pd.Series:
    text = pd.Series(["" if t is None else t for t in bsn], dtype=object)
    bsn9 = pd.Series(_per_distinct(text, lambda t: normalise_bsn(t) or ""), dtype=object)
    shaped = (bsn9 != "").to_numpy()
    valid = shaped & _per_distinct(bsn9, lambda b: bool(b) and elfproef(b), missing=False).astype(bool)
    out.add((text == "").to_numpy(), lambda p: "bsn: missing (required)")
    out.add((text != "").to_numpy() & ~shaped, lambda p: "bsn: not 8 or 9 digits (value masked)")
    out.add(shaped & ~valid, lambda p: "bsn: fails the elfproef (value masked)")
    made = iter(persoon_ids(bsn9[valid], key=key))  # the current key version (chain applied at the door)
    return pd.Series([next(made) if ok else None for ok in valid], dtype=object)


def _mask_misplaced(texts, cache: dict, ds: canonical.Dataset, mapping: DatasetMapping, out: _Collector) -> None:
    """A value that looks like personal data its column should not hold (a BSN in the doelgroep column, a date in
    the hours column) is removed before anything is parsed or kept, and its row gets a reason without it."""
    by_partner_col: dict[str, tuple[str, set[str]]] = {}
    for canon, partner_col in mapping.columns.items():
        first, kinds = by_partner_col.get(partner_col, (canon, set()))
        by_partner_col[partner_col] = (first, kinds | masking.allowed_kinds(ds.column(canon)))
    for partner_col, (canon, allowed) in by_partner_col.items():
        s = texts(partner_col)
        kinds = _per_distinct(s, lambda v, allowed=allowed: k if (k := masking.value_kind(v)) not in allowed else None)
        bad = pd.notna(kinds)
        if not bad.any():
            continue
        out.add(bad, lambda p, kinds=kinds, canon=canon: f"{canon}: {masking.MASK} looks like "
                                                         f"{masking.kind_phrase(kinds[p])}, which does not belong "
                                                         f"in this column")
        cache[partner_col] = s.where(~bad, None)


def map_to_canonical(frame: pd.DataFrame, partner: Partner, dataset: str, *, key: bytes, source: str) -> Mapped:
    """Map one extract onto the canonical dataset. ``frame`` holds strings/None and the ``_bron_rij`` column."""
    ds = canonical.dataset(dataset)
    mapping = partner.datasets[dataset]
    where = f"partners/{partner.partner_id}.yml datasets.{dataset}"
    check_columns(list(frame.columns), partner, dataset, source)  # regiowerk.drift: one rule for columns
    frame = frame.reset_index(drop=True)
    n = len(frame)
    out = _Collector(n)
    cache: dict[str, pd.Series] = {}

    def texts(name: str) -> pd.Series:
        """A partner column as stripped text (computed once per column, and never changed in place)."""
        if name not in cache:
            cache[name] = _texts(frame[name])
        return cache[name]

    header_rows = _header_rows(texts, n, mapping)
    if header_rows.any():
        for name in set(mapping.columns.values()):
            cache[name] = texts(name).where(~header_rows, None)
    check_misplaced(texts, partner, dataset, source)  # mostly someone else's personal data: reject
    _mask_misplaced(texts, cache, ds, mapping, out)  # a single stray one: masked, the row quarantined
    decimal = partner.connector.decimal if isinstance(partner.connector, FileConnector) else "."
    result: dict[str, pd.Series] = {}
    for col in ds.columns:
        if col.name == "persoon_id":
            continue
        s = _source_series(texts, mapping, col.name, n)
        if s is None:
            continue
        s = _too_long(s, col, out)
        if col.type == "list":  # split on the partner's separator first, so code tables see single codes
            s = _parse(s, col, mapping, decimal, out)
        if col.name in mapping.values or (mapping.accept_canonical_codes and col.code_list):
            s = _apply_values(s, col, mapping, where, out)
        if col.type == "list":
            result[col.name] = s
            continue
        if col.name == "bsn":
            result["persoon_id"] = _persoon_ids(s, key, out)
            continue
        if col.name == "postcode":
            present = s.notna().to_numpy()
            pc4 = _per_distinct(s, _postcode4)
            out.add(present & pd.isna(pc4), lambda p: "postcode: not a Dutch postcode (value masked)")
            result["postcode4"] = pd.Series(pc4, dtype=object)
            continue
        parsed = _parse(s, col, mapping, decimal, out)
        if col.name == "geboortedatum":
            out.add(_per_distinct(parsed, functools.partial(operator.lt, dt.date.today()), missing=False).astype(bool),
                    lambda p: "geboortedatum: (value masked) is in the future")
            result["geboortejaar"] = pd.Series(_per_distinct(parsed, lambda d: d.year), dtype="Int64")
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
    for pos in np.flatnonzero(header_rows):
        out.reasons[int(pos)] = [HEADER_REPEATED]
    return Mapped(typed, out.reasons)


def _empty_dtype(t: str) -> str:
    return {"integer": "Int64", "number": "Float64", "boolean": "boolean"}.get(t, "object")
