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

Exit code: 0 = would be accepted with no quarantined rows, 1 = rows would be quarantined, 2 = the delivery
would be rejected (or the check could not run: unknown partner/dataset, unsupported connector).
"""

from __future__ import annotations

import argparse
import fnmatch
import html
import io
import re
import secrets
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

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

    @property
    def exit_code(self) -> int:
        if self.rejected is not None:
            return EXIT_REJECTED
        return EXIT_QUARANTINE if self.would_quarantine else EXIT_OK


# ------------------------------------------------------------------------------------------------------------
# Safe rendering
# ------------------------------------------------------------------------------------------------------------


class _Scrubber:
    """Removes every BSN of the delivery from any text (a BSN in a wrong column must not leak either)."""

    def __init__(self, bsns: set[str]):
        forms: set[str] = set()
        for b in bsns:
            digits = re.sub(r"\D", "", b)
            for f in (b.strip(), digits, digits.lstrip("0"), digits.zfill(9)):
                if len(re.sub(r"\D", "", f)) >= 7:
                    forms.add(f)
        self.pattern = (re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))
                        if forms else None)

    def __call__(self, text: str) -> str:
        return self.pattern.sub("•••", text) if self.pattern else text


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

_FORMAT_WORDS = {"%Y": "yyyy", "%m": "mm", "%d": "dd", "%H": "HH", "%M": "MM", "%S": "SS", "%y": "yy"}


def _human_format(fmt: str) -> str:
    out = fmt
    for code, word in _FORMAT_WORDS.items():
        out = out.replace(code, word)
    return out


def hint_for(reason: str, column: str | None, partner: Partner, dataset: str) -> str:
    mapping = partner.datasets[dataset]
    pfile = f"partners/{partner.partner_id}.yml"
    col = column or "the column"
    if reason.startswith("row repeats the header row"):
        return "Remove the repeated header row from the export."
    if "has no mapping" in reason:
        return (f"Add the code to datasets.{dataset}.values.{col} in {pfile} (ask regiowerk-data), "
                f"or correct the code in the export.")
    m = re.search(r"is not a date in format (\S+)", reason)
    if m:
        fmt = m.group(1)
        example = pd.Timestamp("2026-01-31").strftime(fmt)
        extra = (" The value is an Excel serial day number: format the column as a date (or text) before "
                 "exporting." if "Excel serial" in reason else "")
        return f"Use the date format {_human_format(fmt)} (e.g. {example}) for {col}.{extra}"
    if reason.startswith("bsn: not 8 or 9 digits"):
        return "Deliver the BSN as 8 or 9 digits, without spaces, dots or letters."
    if reason.startswith("bsn: fails the elfproef"):
        return "The BSN fails the 11-test: check it for a typing error in the source system."
    if "missing (required)" in reason:
        return f"Fill in {col}: it is required for every row."
    if reason.startswith("postcode:"):
        return "Use a Dutch postcode: four digits (not starting with 0) and two letters, with at most one space."
    if "is in the future" in reason:
        return f"{col} lies after today: check the date in the source system."
    if "is not a gemeente of" in reason:
        return (f"Use the CBS gemeente code (GM + 4 digits) of a gemeente in region {partner.regio_code} "
                f"(the 2026 indeling).")
    if reason.startswith("duplicate key"):
        return "Deliver each key once: remove or merge the duplicate rows (all copies are held back)."
    if "characters long" in reason:
        return "The value is far too long: check the export (a broken line or a pasted document?)."
    if "is not a whole number" in reason or "is not a number" in reason:
        sep = partner.connector.decimal if isinstance(partner.connector, FileConnector) else "."
        return f"Use digits only, with {sep!r} as decimal separator and no thousands separator."
    if "yes/no values" in reason:
        return f"Use one of {', '.join(mapping.true_values)} or {', '.join(mapping.false_values)}."
    if "is before" in reason or "is after" in reason or "years after" in reason:
        return "The dates contradict each other: check both dates in the source system."
    return f"Correct the value in the export, or ask {partner.owner} ({partner.contact}) about this rule."


def hint_for_rejection(message: str, partner: Partner) -> str:
    pfile = f"partners/{partner.partner_id}.yml"
    if "cannot decode" in message:
        return f"Export the file as UTF-8, or let regiowerk-data set connector.encoding in {pfile}."
    if "delimited by" in message or "malformed CSV" in message:
        return "Export with the agreed delimiter and quoting (see connector.delimiter/quotechar)."
    if "looks like a rename" in message:
        return ("A column was renamed: give it back its agreed name in the header (see the message), or ask "
                f"regiowerk-data to change {pfile} if the new name is permanent.")
    if "mapped column(s) missing" in message:
        return "Use the agreed column names in the header (a renamed column cannot be matched)."
    if "unexpected column" in message:
        return ("Every column must be agreed, so that no personal data arrives unannounced: remove the column "
                f"from the export, or ask regiowerk-data to map it or list it in ignore_columns in {pfile}.")
    if "empty" in message or "only a header" in message:
        return "The export holds no data rows: export again."
    if "truncated" in message:
        return "The file is incomplete: export and upload it again."
    if "merged header" in message or "header cell" in message:
        return "Give every column its own header cell (no merged cells) in the first row."
    return "Correct the file as the message says and check it again."


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


def _parquet_round_trip(frame: pd.DataFrame) -> pd.DataFrame:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return pq.read_table(io.BytesIO(sink.getvalue())).to_pandas()


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
    frame = _parquet_round_trip(mapped.frame)
    checked = validate(frame[list(ds.stored_names) + ["bron_rij"]], dataset,
                       allowed_gemeenten=_allowed_gemeenten(partner, dataset), regio_code=partner.regio_code)
    reasons: dict[int, list[str]] = {pos: list(texts) for pos, texts in mapped.reasons.items()}
    for pos, texts in checked.reasons.items():
        reasons.setdefault(pos, []).extend(texts)
    result.would_quarantine = len(reasons)
    result.would_load = result.received - result.would_quarantine

    bsn_column = mapping.columns.get("bsn")
    scrub = _Scrubber({str(v) for v in raw[bsn_column].dropna()} if bsn_column in raw.columns else set())
    counts: Counter[str] = Counter()
    for pos in sorted(reasons):
        row = int(frame["bron_rij"].iloc[pos])
        for reason in reasons[pos]:
            reason = scrub(masking.mask_text(neutralise(reason, limit=400)))
            counts[reason] += 1
            column = _reason_column(reason, ds)
            source_col = _DERIVED_FROM.get(column, column) if column else None
            partner_col = mapping.columns.get(source_col) if source_col else None
            if partner_col is None or partner_col not in raw.columns:
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
    return result


# ------------------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------------------


def summary(result: CheckResult) -> str:
    lines = [f"regiowerk check: {result.file} as {result.partner_id} / {result.dataset}"]
    if result.rejected is not None:
        lines += ["verdict: the delivery would be REJECTED as a whole (nothing would be loaded)",
                  f"reason: {neutralise(result.rejected, limit=600)}"]
        return "\n".join(lines)
    lines += [f"received:         {result.received} rows",
              f"would load:       {result.would_load}",
              f"would quarantine: {result.would_quarantine}"]
    if result.top_reasons:
        lines.append("top reasons:")
        lines += [f"  {n:>6} x {text}" for text, n in result.top_reasons]
    lines.append("verdict: " + ("accepted, no problems" if not result.would_quarantine
                                else "accepted, but the rows above would be held back in quarantine"))
    return "\n".join(lines)


_CSS = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:left;vertical-align:top}.bad{color:#a00}.ok{color:#070}")


def render_html(result: CheckResult, partner: Partner) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>regiowerk check {e(result.partner_id)} {e(result.dataset)}</title>",
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Self-check of {e(Path(result.file).name)}</h1>",
             f"<p>Partner <b>{e(result.partner_id)}</b> ({e(partner.naam)}), dataset <b>{e(result.dataset)}</b>. "
             "Nothing was loaded; personal values are masked.</p>"]
    if result.rejected is not None:
        parts += ["<h2 class='bad'>The delivery would be rejected as a whole</h2>",
                  f"<p>{e(neutralise(result.rejected, limit=2000))}</p>",
                  f"<p><b>How to fix:</b> {e(hint_for_rejection(result.rejected, partner))}</p>"]
    else:
        cls = "bad" if result.would_quarantine else "ok"
        parts.append(f"<table><tr><th>received</th><td>{result.received}</td></tr>"
                     f"<tr><th>would load</th><td>{result.would_load}</td></tr>"
                     f"<tr><th>would quarantine</th><td class='{cls}'>{result.would_quarantine}</td></tr></table>")
        if result.top_reasons:
            parts.append("<h2>Most frequent problems</h2><table><tr><th>problem</th><th>rows</th></tr>")
            parts += [f"<tr><td>{e(t)}</td><td>{n}</td></tr>" for t, n in result.top_reasons]
            parts.append("</table>")
        if result.problems:
            parts.append("<h2>Every problem</h2><table><tr><th>row</th><th>column</th><th>value</th>"
                         "<th>problem</th><th>how to fix</th></tr>")
            for p in result.problems[:MAX_HTML_PROBLEMS]:
                column = p.partner_column or p.column or ""
                parts.append(f"<tr><td>{p.row}</td><td>{e(column)}</td><td>{e(p.value)}</td>"
                             f"<td>{e(p.reason)}</td><td>{e(p.hint)}</td></tr>")
            parts.append("</table>")
            if len(result.problems) > MAX_HTML_PROBLEMS:
                parts.append(f"<p>… and {len(result.problems) - MAX_HTML_PROBLEMS} more problems.</p>")
    parts.append(f"<p>Questions: {e(partner.owner)} / {e(partner.contact)}</p></body></html>")
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------------------


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="the export to check (CSV/XLSX; a saved JSON answer for REST partners)")
    p.add_argument("--partner", required=True, help="partner id (the name of its file in partners/)")
    p.add_argument("--dataset", help="canonical dataset (needed when the partner delivers several)")
    p.add_argument("--html", type=Path, help="write an HTML page listing every problem and how to fix it")
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
    print(summary(result))
    if args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(render_html(result, partner), encoding="utf-8")
        print(f"HTML report: {args.html}")
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="regiowerk check", description=__doc__.split("\n\n")[0])
    _add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
