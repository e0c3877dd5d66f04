"""Personal values recognised wherever they appear, and masked before anything is written.

The door knows which columns hold the BSN, postcode and birth date, but partners get columns wrong: a BSN in the
doelgroep column, a postcode under the language level, a header row missing so the first person becomes the
column names. This module recognises personal values by their *shape*, whatever column they arrive in:

- a BSN: 9 digits, or 8 digits (a BSN that lost its leading zero), that pass the elfproef; also in the display
  forms people write (``1234.56.782``, ``123 456 782``, ``1234 56 782``);
- a full Dutch postcode: four digits (not starting with 0) and two letters (``2611AB``, ``2611 AB``);
- a date (``1990-05-01``, ``01-05-1990``, ``1/5/1990``, with or without a time) in a column that is not a date
  column of the canonical profile: in the wrong column it is most probably a birth date.

One module, used by everything that writes text a person may read: the mapping's reasons (so
``audit.quarantine.redenen``, the validation report and ``kwaliteit.onbekende_codes``), the partner's own values
kept for a replay (``bronwaarden``, landing files), the self-check, every :class:`~regiowerk.errors.DeliveryError`
message (task logs, ``audit.deliveries.message``, failure alerts) and the alert text itself.

:func:`suspicious_columns` is the delivery-level counterpart: a column whose values mostly look like another
column's personal data means the columns are shifted or swapped, and the delivery is rejected naming the columns
(never the values).
"""

from __future__ import annotations

import re

MASK = "(value masked)"

# Not preceded or followed by a letter or digit: a run of digits inside a hex pseudonym, a delivery id
# (``...T201530...``) or a longer number is not a BSN.
_EDGE_BEFORE, _EDGE_AFTER = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
_BSN_FORMS = r"[0-9]{4}\.[0-9]{2}\.[0-9]{3}|[0-9]{3} [0-9]{3} [0-9]{3}|[0-9]{4} [0-9]{2} [0-9]{3}|[0-9]{8,9}"
BSN_IN_TEXT = re.compile(f"{_EDGE_BEFORE}(?:{_BSN_FORMS}){_EDGE_AFTER}")
_BSN_VALUE = re.compile(rf"^\s*(?:{_BSN_FORMS})\s*$")
# Dutch postcode letters: never F, I, O, Q, U, Y, and never SA, SD or SS.
_PC_LETTER = "[A-EGHJ-NPRSTVWXZa-eghj-nprstvwxz]"
_PC_FORBIDDEN = {"SA", "SD", "SS"}
_POSTCODE_VALUE = re.compile(rf"^\s*[1-9][0-9]{{3}} ?({_PC_LETTER}{{2}})\s*$")
# In running text a space-separated postcode needs capitals ("row 1500 at" is not a postcode; "2611 AB" is).
POSTCODE_IN_TEXT = re.compile(
    rf"{_EDGE_BEFORE}[1-9][0-9]{{3}}(?:({_PC_LETTER}{{2}})| ([A-EGHJ-NPRSTVWXZ]{{2}})){_EDGE_AFTER}")
_TIME = r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
_DATE_FORMS = (r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}" + _TIME,
               r"[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{4}" + _TIME)
_DATE_VALUE = re.compile(rf"^\s*(?:{'|'.join(_DATE_FORMS)})\s*$")
DATE_IN_TEXT = re.compile(f"{_EDGE_BEFORE}(?:{'|'.join(_DATE_FORMS)}){_EDGE_AFTER}")

_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


def elfproef_digits(digits: str) -> bool:
    """The elfproef on 8 or 9 digits (8: a lost leading zero); the one eleven test of the project."""
    if len(digits) not in (8, 9) or not digits.isdigit():
        return False
    total = sum(w * int(d) for w, d in zip(_WEIGHTS, digits.zfill(9), strict=True))
    return total > 0 and total % 11 == 0


def bsn_digits(value: object) -> str | None:
    """The 8 or 9 digits of a value written as a BSN (plain, or in a display form with dots or spaces), or
    None when its shape is not a BSN's. The elfproef is not applied here."""
    if value is None:
        return None
    text = str(value)
    if not _BSN_VALUE.match(text):
        return None
    return _digits(text)


def is_bsn(value: object) -> bool:
    """Does the whole value look like a BSN (a BSN shape that passes the elfproef)?"""
    digits = bsn_digits(value)
    return digits is not None and elfproef_digits(digits)


def is_postcode(value: object) -> bool:
    """Is the whole value a full Dutch postcode (four digits and two letters)?"""
    if value is None:
        return False
    m = _POSTCODE_VALUE.match(str(value))
    return bool(m) and m.group(1).upper() not in _PC_FORBIDDEN


def is_date(value: object) -> bool:
    """Is the whole value a written date (with or without a time of day)?"""
    return value is not None and bool(_DATE_VALUE.match(str(value)))


def looks_personal(value: object, *, date_column: bool = False) -> bool:
    """Is the whole value a BSN, a full postcode or (outside a date column) a date?"""
    return is_bsn(value) or is_postcode(value) or (not date_column and is_date(value))


def _bsn_sub(m: re.Match) -> str:
    return MASK if elfproef_digits(_digits(m.group(0))) else m.group(0)


def _postcode_sub(m: re.Match) -> str:
    letters = (m.group(1) or m.group(2) or "").upper()
    return m.group(0) if letters in _PC_FORBIDDEN else MASK


def mask_text(text: str, *, dates: bool = False) -> str:
    """``text`` with every BSN-like number and full postcode replaced by :data:`MASK` (and every date, with
    ``dates=True``). For messages, reasons and logs: everything else stays readable."""
    if not text:
        return text
    text = BSN_IN_TEXT.sub(_bsn_sub, text)
    text = POSTCODE_IN_TEXT.sub(_postcode_sub, text)
    if dates:
        text = DATE_IN_TEXT.sub(MASK, text)
    return text


def mask_value(value: object, *, date_column: bool = False) -> object:
    """A delivered value as it may be kept or shown: :data:`MASK` when it is personal by its shape (a date only
    outside a date column), personal values inside longer text masked; None and non-text values unchanged."""
    if value is None or not isinstance(value, str):
        return value
    if looks_personal(value, date_column=date_column):
        return MASK
    return mask_text(value, dates=not date_column)


# ---- columns whose values are someone else's personal data ---------------------------------------------------

KINDS = {"bsn": "BSNs", "postcode": "full postcodes", "date": "dates"}


def value_kind(value: object) -> str | None:
    """'bsn', 'postcode' or 'date' when the whole value has that shape, else None."""
    if is_bsn(value):
        return "bsn"
    if is_postcode(value):
        return "postcode"
    if is_date(value):
        return "date"
    return None


def suspicious_columns(columns: dict, *, share: float = 0.5) -> list[tuple[str, str]]:
    """(partner column, kind) for every column more than ``share`` of whose non-empty values are of one personal
    kind that the column should not hold.

    ``columns`` maps a partner column to (the kinds it may hold, e.g. ``{"bsn"}``, and its values as a pandas
    Series of text or None). Each distinct value is looked at once."""
    found = []
    for name, (allowed, values) in columns.items():
        counts = values.dropna().value_counts()
        total = int(counts.sum())
        if not total:
            continue
        per_kind: dict[str, int] = {}
        for value, n in counts.items():
            kind = value_kind(value)
            if kind is not None and kind not in allowed:
                per_kind[kind] = per_kind.get(kind, 0) + int(n)
        for kind, n in per_kind.items():
            if n > share * total:
                found.append((name, kind))
                break
    return found


def allowed_kinds(column) -> set[str]:
    """The personal shapes a canonical column (:class:`regiowerk.canonical.Column`) may hold by its nature: a
    date column dates, ``bsn`` BSNs, ``postcode`` postcodes, and a column whose pattern is 8 digits (the KvK
    number) 8-digit numbers, some of which pass the elfproef by chance."""
    kinds = set()
    if column.type == "date":
        kinds.add("date")
    if column.name == "bsn" or (column.pattern and re.fullmatch(column.pattern, "12345678")):
        kinds.add("bsn")
    if column.name == "postcode":
        kinds.add("postcode")
    return kinds


def kind_phrase(kind: str) -> str:
    return {"bsn": "a BSN", "postcode": "a full postcode", "date": "a date"}[kind]
