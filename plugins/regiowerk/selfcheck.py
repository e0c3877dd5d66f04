"""``regiowerk check FILE --partner ID [--dataset NAME] [--html PATH]``: a partner's self-check of one export.

The file is judged exactly as the pipeline would judge it, and nothing is loaded or kept:

- read with the partner's own connector code (:func:`regiowerk.connectors.file.read_delivery_file` for file
  partners; a saved API answer, :func:`regiowerk.connectors.rest.read_records_file`, for REST partners);
- mapped with :func:`regiowerk.mapping.map_to_canonical` and round-tripped through Parquet as the landing file is;
- validated with :func:`regiowerk.validation.validate` and the allowed gemeenten of
  :func:`regiowerk.pipeline._allowed_gemeenten`.

Pseudonyms are computed with a throw-away random key (duplicates are still found; the pseudonyms are never
shown or written). The terminal summary and the HTML page never contain a clear BSN: personal columns (bsn,
postcode, geboortedatum and what is derived from them) are masked, every delivered BSN is scrubbed from all
text as a second line of defence, and formula-like values are neutralised and HTML-escaped.

Everything the partner reads (the terminal summary, the HTML page written with ``--html``, every "how to fix"
text and the column hints about ``connector.decimal`` and ``date_format``) is in Dutch; the reasons themselves
are the pipeline's (English, as in ``audit.quarantine``). A reason that follows from another on the same row
(no ``persoon_id`` because the BSN is invalid, a birth year after this year because the birth date lies in the
future) is listed once, under its cause.

Exit code: 0 = would be accepted with no quarantined rows, 1 = rows would be quarantined, 2 = the delivery
would be rejected, or every row would be quarantined (nothing would load), or the check could not run
(unknown partner/dataset, unsupported connector).
"""

from __future__ import annotations

import argparse
import fnmatch
import html
import re
import secrets
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from regiowerk import canonical, masking
from regiowerk.errors import DeliveryError, RegiowerkError, unexpected_failure
from regiowerk.registry import FileConnector, Partner, RestConnector

EXIT_OK, EXIT_QUARANTINE, EXIT_REJECTED = 0, 1, 2
MASKED = "(masked)"
MAX_SHOWN_CHARS = 80
MAX_HTML_PROBLEMS = 5000
# Where a canonical column that is derived at the door comes from in the partner's export.
_DERIVED_FROM = {"persoon_id": "bsn", "postcode4": "postcode", "geboortejaar": "geboortedatum"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Problem:
    row: int  # bron_rij: the row number as the partner sees it
    column: str | None  # canonical column
    partner_column: str | None
    value: str  # already masked / neutralised (not yet HTML-escaped)
    reason: str
    hint: str


@dataclass
class CheckResult:
    partner_id: str
    dataset: str
    file: str
    received: int = 0
    would_load: int = 0
    would_quarantine: int = 0
    rejected: str | None = None  # the DeliveryError message when the delivery would be rejected
    problems: list[Problem] = field(default_factory=list)
    error: BaseException | None = None  # an unexpected exception behind ``rejected`` (shown with --debug)
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    column_hints: list[str] = field(default_factory=list)  # Dutch: a setting that most values of a column miss

    @property
    def nothing_loads(self) -> bool:
        """Every delivered row would be quarantined: the delivery is useless as it is."""
        return self.rejected is None and self.received > 0 and self.would_load == 0

    @property
    def exit_code(self) -> int:
        if self.rejected is not None or self.nothing_loads:
            return EXIT_REJECTED
        return EXIT_QUARANTINE if self.would_quarantine else EXIT_OK


# ------------------------------------------------------------------------------------------------------------
# Safe rendering
# ------------------------------------------------------------------------------------------------------------


class _Scrubber:
    """Removes every BSN of the delivery from any text (a BSN in a wrong column must not leak either).

    The delivered BSNs are kept as one sorted array of numbers (16 MB for 2M rows, not a regular expression of
    2M alternatives); a run of digits (with spaces or dots) in a text is masked whole when any 7 to 9 digits of it
    are one of them, also with leading zeros added or removed."""

    _RUN = re.compile(r"\d[\d .]*\d")

    def __init__(self, bsns):
        digits = pd.Series(list(bsns) if not isinstance(bsns, pd.Series) else bsns, dtype=object).dropna()
        digits = digits.astype(str).str.replace(r"\D", "", regex=True)
        digits = digits[digits.str.len().between(7, 9)]
        self.values = np.unique(digits.astype("int64").to_numpy()) if len(digits) else np.empty(0, dtype="int64")

    def _known(self, run: str) -> bool:
        digits = re.sub(r"\D", "", run)
        for width in (9, 8, 7):
            for start in range(0, len(digits) - width + 1):
                value = int(digits[start:start + width])
                i = np.searchsorted(self.values, value)
                if i < len(self.values) and self.values[i] == value:
                    return True
        return False

    def __call__(self, text: str) -> str:
        if not len(self.values):
            return text
        return self._RUN.sub(lambda m: "•••" if self._known(m.group(0)) else m.group(0), text)


def neutralise(value: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """A value as it may be shown: printable, shortened, and a leading formula character made inert."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value).replace("\x00", ""))
    if len(text) > limit:
        text = text[:limit] + "…"
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return text


def _personal(ds: canonical.Dataset, column: str | None) -> bool:
    if column is None:
        return False
    try:
        return ds.column(column).personal
    except KeyError:
        return True  # not a canonical column: mask to be safe


# ------------------------------------------------------------------------------------------------------------
# Hints
# ------------------------------------------------------------------------------------------------------------

_FORMAT_WORDS = {"%Y": "jjjj", "%m": "mm", "%d": "dd", "%H": "uu", "%M": "mm", "%S": "ss", "%y": "jj"}
# Formats tried when most dates of a column fail, to suggest the partner file's date_format.
_COMMON_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y", "%Y%m%d", "%d%m%Y", "%m/%d/%Y")
# A reason on a column derived at the door is a follow-on of a reason on its source column (an invalid BSN
# gives no persoon_id, a birth date in the future a birth year after this year): listed once, under the cause.
_FOLLOW_ON = {"persoon_id": "bsn", "postcode4": "postcode", "geboortejaar": "geboortedatum"}


def _human_format(fmt: str) -> str:
    out = fmt
    for code, word in _FORMAT_WORDS.items():
        out = out.replace(code, word)
    return out


def _formats_text(formats: tuple[str, ...]) -> str:
    return " of ".join(f"{_human_format(f)} (bijv. {pd.Timestamp('2026-01-31').strftime(f)})" for f in formats)


def hint_for(reason: str, column: str | None, partner: Partner, dataset: str) -> str:
    """What the partner can do about one reason, in Dutch."""
    mapping = partner.datasets[dataset]
    pfile = f"partners/{partner.partner_id}.yml"
    col = column or "de kolom"
    if reason.startswith("row repeats the header row"):
        return "Verwijder de herhaalde kopregel uit de export."
    if "has no mapping" in reason:
        return (f"Vraag regiowerk-data de code toe te voegen aan datasets.{dataset}.values.{col} in {pfile}, "
                f"of verbeter de code in de export.")
    if "is not a date in format" in reason:
        extra = (" De waarde is een Excel-dagnummer: geef de kolom vóór het exporteren de opmaak datum (of tekst)."
                 if "Excel serial" in reason else "")
        return f"Gebruik voor {col} de datumnotatie {_formats_text(mapping.date_formats)}.{extra}"
    if reason.startswith("bsn: missing"):
        return "Vul het BSN in: het is voor elke rij verplicht."
    if reason.startswith("bsn: not 8 or 9 digits"):
        return "Lever het BSN als 8 of 9 cijfers, zonder spaties, punten of letters."
    if reason.startswith("bsn: fails the elfproef"):
        return "Het BSN voldoet niet aan de elfproef: controleer het op een tikfout in het bronsysteem."
    if "missing (required)" in reason:
        return f"Vul {col} in: dit veld is voor elke rij verplicht."
    if reason.startswith("postcode:"):
        return ("Gebruik een Nederlandse postcode: vier cijfers (niet beginnend met 0) en twee letters, met hoogstens "
                "één spatie ertussen.")
    if "is in the future" in reason or "after the current year" in reason:
        return f"{col} ligt na vandaag: controleer de datum in het bronsysteem."
    if "is not a gemeente of" in reason:
        return (f"Gebruik de CBS-gemeentecode (GM + 4 cijfers) van een gemeente in regio {partner.regio_code} "
                f"(indeling 2026).")
    if reason.startswith("duplicate key"):
        return ("Lever elke sleutel één keer: verwijder of voeg de dubbele rijen samen (alle kopieën worden "
                "vastgehouden).")
    if "characters long" in reason:
        return "De waarde is veel te lang: controleer de export (een afgebroken regel of een geplakt document?)."
    if "is not a whole number" in reason or "is not a number" in reason:
        sep = partner.connector.decimal if isinstance(partner.connector, FileConnector) else "."
        return f"Gebruik alleen cijfers, met {sep!r} als decimaalteken en zonder scheidingsteken voor duizendtallen."
    if "yes/no values" in reason:
        return f"Gebruik een van {', '.join(mapping.true_values)} of {', '.join(mapping.false_values)}."
    if "years after" in reason:
        return f"{col} ligt te ver in de toekomst ten opzichte van de peildatum: controleer de datum."
    if re.search(r"is (before|after) [a-z_]+ ", reason):
        other = re.search(r"is (?:before|after) ([a-z_]+) ", reason).group(1)
        return f"{col} en {other} spreken elkaar tegen: controleer beide datums in het bronsysteem."
    if "not in code list" in reason or "has a code not in code list" in reason:
        return f"Gebruik een code uit de codelijst van {col} (zie de canonieke kolommen en codelijsten)."
    if "outside" in reason:
        return f"De waarde van {col} ligt buiten het toegestane bereik: controleer de waarde."
    return f"Verbeter de waarde in de export, of vraag {partner.owner} ({partner.contact}) naar deze regel."


def hint_for_rejection(message: str, partner: Partner) -> str:
    """What the partner can do about a rejected delivery, in Dutch."""
    pfile = f"partners/{partner.partner_id}.yml"
    if "cannot decode" in message:
        return f"Exporteer het bestand als UTF-8, of laat regiowerk-data connector.encoding in {pfile} aanpassen."
    if "delimited by" in message or "malformed CSV" in message:
        return "Exporteer met het afgesproken scheidingsteken en aanhalingsteken (connector.delimiter/quotechar)."
    if "looks like a rename" in message:
        return ("Een kolom is hernoemd: geef de kolom in de kopregel haar afgesproken naam terug (zie de melding), "
                f"of vraag regiowerk-data {pfile} aan te passen als de nieuwe naam blijft.")
    if "mapped column(s) missing" in message:
        return "Gebruik de afgesproken kolomnamen in de kopregel (een hernoemde kolom is niet te herkennen)."
    if "unexpected column" in message:
        return ("Elke kolom moet zijn afgesproken, zodat er geen persoonsgegevens onaangekondigd binnenkomen: "
                f"haal de kolom uit de export, of vraag regiowerk-data haar op te nemen of in ignore_columns van "
                f"{pfile} te zetten.")
    if "unpacks to" in message:
        return "De werkmap is te groot: exporteer alleen het nodige tabblad, of lever een CSV-bestand."
    if "XLSX" in message or "cannot be read" in message or "entities" in message:
        return "De werkmap is beschadigd of onveilig: sla haar opnieuw op als .xlsx (Excel-werkmap) en lever opnieuw."
    if "connector.header_row" in message:
        return f"De kopregel staat niet op de afgesproken rij: lever het vaste formaat, of laat {pfile} aanpassen."
    if "was delivered after" in message or "holds no date" in message:
        return "Laat in de map alleen het bestand staan dat de levering is (of noem bestanden met een datum)."
    if "empty" in message or "only a header" in message:
        return "De export bevat geen gegevensrijen: exporteer opnieuw."
    if "truncated" in message:
        return "Het bestand is onvolledig: exporteer en upload het opnieuw."
    if "merged header" in message or "header cell" in message:
        return "Geef elke kolom een eigen kopcel (geen samengevoegde cellen) in de kopregel."
    return "Verbeter het bestand zoals de melding zegt en controleer het opnieuw."


def _column_hints(raw: pd.DataFrame, reasons: dict[int, list[str]], partner: Partner, dataset: str) -> list[str]:
    """Dutch hints for a setting most values of a column miss: the decimal separator of a number column, or the
    date format of a date column (more than half of its filled-in values fail to parse)."""
    mapping = partner.datasets[dataset]
    failing: Counter[tuple[str, str]] = Counter()
    for texts in reasons.values():
        for reason in texts:
            m = re.match(r"^([a-z_]+): .* is not (a number|a whole number|a date in format)", reason)
            if m:
                failing[(m.group(1), "date" if "date" in m.group(2) else "number")] += 1
    hints: list[str] = []
    for (column, kind), n in sorted(failing.items()):
        partner_col = mapping.columns.get(column)
        if partner_col is None or partner_col not in raw.columns:
            continue
        values = raw[partner_col].dropna()
        if not len(values) or n * 2 <= len(values):
            continue
        sample = [str(v).strip() for v in values.drop_duplicates().head(200)]
        if kind == "number":
            decimal = partner.connector.decimal if isinstance(partner.connector, FileConnector) else "."
            other = "," if decimal == "." else "."
            if sum(_parses_number(v, other) for v in sample) * 2 > len(sample):
                hints.append(f"De meeste waarden van kolom {partner_col!r} zijn geen getal met {decimal!r} als "
                             f"decimaalteken, maar wel met {other!r}: klopt connector.decimal in "
                             f"partners/{partner.partner_id}.yml? (nu {decimal!r})")
        else:
            best = max(_COMMON_DATE_FORMATS, key=lambda f: sum(_parses_date(v, f) for v in sample))
            fits = sum(_parses_date(v, best) for v in sample)
            current = ", ".join(mapping.date_formats)
            if fits * 2 > len(sample) and best not in mapping.date_formats:
                hints.append(f"De meeste datums in kolom {partner_col!r} passen niet bij date_format ({current}), "
                             f"maar wel bij {best} ({_human_format(best)}): pas date_format aan in "
                             f"partners/{partner.partner_id}.yml, of exporteer de datums als {_human_format(current)}.")
            else:
                hints.append(f"De meeste datums in kolom {partner_col!r} passen niet bij date_format ({current}): "
                             f"controleer de datumnotatie van de export.")
    return hints


def _parses_number(text: str, decimal: str) -> bool:
    if decimal == ",":
        text = text.replace(".", "").replace(",", ".")
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parses_date(text: str, fmt: str) -> bool:
    import datetime as dt

    try:
        dt.datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def _fold_follow_on(reasons: list[str]) -> list[str]:
    """Drop the follow-on reasons of a row: a reason on a derived column when the row has a reason on its source
    column, and "<column>: missing (required)" when the row has another reason on that column (an unmapped code
    or an unparsable value leaves the column empty)."""
    columns = [m.group(1) if (m := re.match(r"^([a-z][a-z0-9_]*):", r)) else None for r in reasons]
    kept = []
    for reason, column in zip(reasons, columns, strict=True):
        if column and _FOLLOW_ON.get(column) in columns:
            continue
        if column and reason == f"{column}: missing (required)" and columns.count(column) > 1:
            continue
        kept.append(reason)
    return kept


# ------------------------------------------------------------------------------------------------------------
# The check
# ------------------------------------------------------------------------------------------------------------


def _choose_dataset(partner: Partner, file: Path, dataset: str | None) -> str:
    if dataset:
        if dataset not in partner.datasets:
            raise RegiowerkError(f"partner {partner.partner_id} has no dataset {dataset!r}; it delivers: "
                                 f"{', '.join(sorted(partner.datasets))}")
        return dataset
    if len(partner.datasets) == 1:
        return next(iter(partner.datasets))
    matching = [n for n, m in partner.datasets.items() if fnmatch.fnmatch(file.name, Path(m.source).name)]
    if len(matching) == 1:
        return matching[0]
    raise RegiowerkError(f"partner {partner.partner_id} delivers several datasets "
                         f"({', '.join(sorted(partner.datasets))}); choose one with --dataset")


def _read(partner: Partner, dataset: str, file: Path):
    if isinstance(partner.connector, FileConnector):
        from regiowerk.connectors.file import read_delivery_file

        return read_delivery_file(partner, dataset, file)
    if isinstance(partner.connector, RestConnector):
        from regiowerk.connectors.rest import read_records_file

        return read_records_file(partner, dataset, file)
    raise RegiowerkError(f"partner {partner.partner_id} delivers through a {partner.connector.type} connector; "
                         f"the self-check reads file (CSV/XLSX) and REST (saved JSON) deliveries only")


def _parquet_round_trip(mapped, columns: list[str]) -> pd.DataFrame:
    """``columns`` of the mapped frame as the landing Parquet file gives them back. Bounded memory: the mapped
    frame is dropped once it is in Arrow, the Arrow table once written, the Parquet bytes once read (without a
    copy), and the table read back is freed column by column while it becomes a pandas frame."""
    table = pa.Table.from_pandas(mapped.frame[columns], preserve_index=False)
    mapped.frame = None
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    del table
    data = sink.getvalue()
    del sink
    table = pq.read_table(pa.BufferReader(data))
    del data
    return table.to_pandas(split_blocks=True, self_destruct=True)


def _reason_column(reason: str, ds: canonical.Dataset) -> str | None:
    if reason.startswith("duplicate key"):
        return ds.key[0]
    m = re.match(r"^([a-z][a-z0-9_]*):", reason)
    return m.group(1) if m and m.group(1) in ds.column_names else None


def check_file(file: Path | str, partner: Partner, dataset: str | None = None) -> CheckResult:
    """Judge ``file`` as a delivery of ``partner`` (see the module doc). Raises RegiowerkError when the check
    itself cannot run; a delivery that would be rejected is a result, not an exception."""
    from regiowerk.mapping import map_to_canonical
    from regiowerk.pipeline import _allowed_gemeenten
    from regiowerk.validation import validate

    file = Path(file)
    dataset = _choose_dataset(partner, file, dataset)
    result = CheckResult(partner.partner_id, dataset, str(file))
    ds = canonical.dataset(dataset)
    mapping = partner.datasets[dataset]
    try:
        ex = _read(partner, dataset, file)
        raw = ex.frame.reset_index(drop=True)
        result.received = len(raw)
        mapped = map_to_canonical(raw, partner, dataset, key=secrets.token_bytes(32), source=ex.source)
    except DeliveryError as e:
        result.rejected = str(e)
        return result
    except RegiowerkError:
        raise
    except Exception as e:  # noqa: BLE001 - a malformed file is a rejection with a one-line reason, not a crash
        result.rejected = str(unexpected_failure(partner.partner_id, dataset, str(file), "extract", e))
        result.error = e
        return result
    # Bounded memory: from here on the delivery is kept only in the partner columns that problems and hints
    # read (the BSN column only as the scrubber's number array; ignored columns such as names not at all).
    bsn_column = mapping.columns.get("bsn")
    scrub = _Scrubber(raw[bsn_column] if bsn_column in raw.columns else [])
    del ex
    delivered = set(raw.columns)
    raw = raw[[c for c in raw.columns if c in set(mapping.columns.values()) - {bsn_column}]]
    frame = _parquet_round_trip(mapped, list(ds.stored_names) + ["bron_rij"])
    checked = validate(frame, dataset,
                       allowed_gemeenten=_allowed_gemeenten(partner, dataset), regio_code=partner.regio_code)
    reasons: dict[int, list[str]] = {pos: list(texts) for pos, texts in mapped.reasons.items()}
    for pos, texts in checked.reasons.items():
        reasons.setdefault(pos, []).extend(texts)
    reasons = {pos: _fold_follow_on(texts) for pos, texts in reasons.items()}
    result.would_quarantine = len(reasons)
    result.would_load = result.received - result.would_quarantine

    counts: Counter[str] = Counter()
    for pos in sorted(reasons):
        row = int(frame["bron_rij"].iloc[pos])
        for reason in reasons[pos]:
            reason = scrub(masking.mask_text(neutralise(reason, limit=400)))
            counts[reason] += 1
            column = _reason_column(reason, ds)
            source_col = _DERIVED_FROM.get(column, column) if column else None
            partner_col = mapping.columns.get(source_col) if source_col else None
            if partner_col is None or partner_col not in delivered:
                value = ""
            elif _personal(ds, column) or _personal(ds, source_col):
                value = MASKED
            else:
                v = raw[partner_col].iloc[pos]
                date_column = column in ds.column_names and ds.column(column).type == "date"
                value = "(empty)" if v is None else scrub(neutralise(masking.mask_value(v, date_column=date_column)))
            result.problems.append(Problem(row, column, partner_col, value, reason,
                                           hint_for(reason, source_col, partner, dataset)))
    result.top_reasons = counts.most_common(10)
    result.column_hints = [scrub(h) for h in _column_hints(raw, reasons, partner, dataset)]
    return result


# ------------------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------------------


def verdict(result: CheckResult) -> str:
    """The verdict in one Dutch line."""
    if result.rejected is not None:
        return "AFGEWEZEN: de levering zou in haar geheel worden geweigerd (er wordt niets geladen)"
    if result.nothing_loads:
        return "AFGEWEZEN: elke rij zou in quarantaine gaan (er wordt niets geladen)"
    if result.would_quarantine:
        return "geaccepteerd, maar de rijen hierboven zouden in quarantaine worden vastgehouden"
    return "geaccepteerd, geen problemen"


def summary(result: CheckResult, partner: Partner | None = None) -> str:
    lines = [f"regiowerk check: {result.file} als {result.partner_id} / {result.dataset}"]
    if result.rejected is not None:
        lines += [f"oordeel: {verdict(result)}", f"reden: {neutralise(result.rejected, limit=600)}"]
        if partner is not None:
            lines.append(f"zo lost u het op: {hint_for_rejection(result.rejected, partner)}")
        return "\n".join(lines)
    lines += [f"ontvangen:            {result.received} rijen",
              f"zou laden:            {result.would_load}",
              f"zou in quarantaine:   {result.would_quarantine}"]
    if result.top_reasons:
        lines.append("meest voorkomende problemen:")
        lines += [f"  {n:>6} x {text}" for text, n in result.top_reasons]
    if result.column_hints:
        lines.append("tips:")
        lines += [f"  - {hint}" for hint in result.column_hints]
    lines.append(f"oordeel: {verdict(result)}")
    return "\n".join(lines)


_CSS = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:left;vertical-align:top}.bad{color:#a00}.ok{color:#070}")


def render_html(result: CheckResult, partner: Partner) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html><html lang='nl'><head><meta charset='utf-8'>",
             f"<title>regiowerk check {e(result.partner_id)} {e(result.dataset)}</title>",
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Zelfcontrole van {e(Path(result.file).name)}</h1>",
             f"<p>Partner <b>{e(result.partner_id)}</b> ({e(partner.naam)}), dataset <b>{e(result.dataset)}</b>. "
             "Er is niets geladen; persoonsgegevens zijn afgeschermd.</p>"]
    if result.rejected is not None:
        parts += ["<h2 class='bad'>De levering zou in haar geheel worden geweigerd</h2>",
                  f"<p>{e(neutralise(result.rejected, limit=2000))}</p>",
                  f"<p><b>Zo lost u het op:</b> {e(hint_for_rejection(result.rejected, partner))}</p>"]
    else:
        cls = "bad" if result.would_quarantine else "ok"
        parts.append(f"<p class='{cls}'><b>Oordeel:</b> {e(verdict(result))}</p>")
        parts.append(f"<table><tr><th>ontvangen</th><td>{result.received}</td></tr>"
                     f"<tr><th>zou laden</th><td>{result.would_load}</td></tr>"
                     f"<tr><th>zou in quarantaine</th><td class='{cls}'>{result.would_quarantine}</td></tr></table>")
        if result.column_hints:
            parts.append("<h2>Tips</h2><ul>")
            parts += [f"<li>{e(h)}</li>" for h in result.column_hints]
            parts.append("</ul>")
        if result.top_reasons:
            parts.append("<h2>Meest voorkomende problemen</h2><table><tr><th>probleem</th><th>rijen</th></tr>")
            parts += [f"<tr><td>{e(t)}</td><td>{n}</td></tr>" for t, n in result.top_reasons]
            parts.append("</table>")
        if result.problems:
            parts.append("<h2>Alle problemen</h2><table><tr><th>rij</th><th>kolom</th><th>waarde</th>"
                         "<th>probleem</th><th>zo lost u het op</th></tr>")
            for p in result.problems[:MAX_HTML_PROBLEMS]:
                column = p.partner_column or p.column or ""
                parts.append(f"<tr><td>{p.row}</td><td>{e(column)}</td><td>{e(p.value)}</td>"
                             f"<td>{e(p.reason)}</td><td>{e(p.hint)}</td></tr>")
            parts.append("</table>")
            if len(result.problems) > MAX_HTML_PROBLEMS:
                parts.append(f"<p>… en nog {len(result.problems) - MAX_HTML_PROBLEMS} problemen.</p>")
    parts.append(f"<p>Vragen: {e(partner.owner)} / {e(partner.contact)}</p></body></html>")
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------------------


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="the export to check (CSV/XLSX; a saved JSON answer for REST partners)")
    p.add_argument("--partner", required=True, help="partner id (the name of its file in partners/)")
    p.add_argument("--dataset", help="canonical dataset (needed when the partner delivers several)")
    p.add_argument("--html", type=Path,
                   help="also write an HTML page (in Dutch) listing every problem and how to fix it")
    p.add_argument("--debug", action="store_true", help="print the traceback of an unexpected error")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``check`` on the CLI's subparsers (``regiowerk check FILE --partner ID``)."""
    p = subparsers.add_parser("check", help="check a partner export as the pipeline would, without loading it",
                              description=__doc__.split("\n\n")[0])
    _add_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from regiowerk.registry import RegistryError, load_registry

    try:
        partners = load_registry()
    except RegistryError as e:
        print(f"regiowerk check: {e}", file=sys.stderr)
        return EXIT_REJECTED
    partner = partners.get(args.partner)
    if partner is None:
        print(f"regiowerk check: no partner {args.partner!r}; known: {', '.join(sorted(partners))}",
              file=sys.stderr)
        return EXIT_REJECTED
    try:
        result = check_file(args.file, partner, args.dataset)
    except RegiowerkError as e:
        print(f"regiowerk check: {e}", file=sys.stderr)
        return EXIT_REJECTED
    if result.error is not None and getattr(args, "debug", False):
        import traceback

        traceback.print_exception(result.error, file=sys.stderr)
    print(summary(result, partner))
    if args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(render_html(result, partner), encoding="utf-8")
        print(f"HTML-rapport: {args.html}")
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="regiowerk check", description=__doc__.split("\n\n")[0])
    _add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
