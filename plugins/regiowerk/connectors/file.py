"""File drops (CSV and XLSX) in ``<drop>/<partner folder>``.

The newest file matching the dataset's glob is read (newest = last by file name, so partners name their
exports with a sortable date, e.g. ``clienten_2026-01-31.csv``). Every value stays text; the spreadsheet row
number (header = row 1) travels along as ``_bron_rij`` so a rejected row can be found in the partner's file.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import logging
from pathlib import Path
from typing import Any

from regiowerk.connectors.base import DeliveryContext, Extraction, blank_row, make_frame, sha256_bytes, to_text
from regiowerk.registry import DatasetMapping, FileConnector, Partner

log = logging.getLogger(__name__)

# Delimiters we look for when a CSV header comes out as one single column.
_LIKELY_DELIMITERS = (";", ",", "\t", "|")
# Python's csv module refuses fields over 128 KiB by default; a delivery with one huge field must not crash the
# run (the mapping step quarantines over-long values). 2**31 - 1 is the largest limit every platform accepts.
_CSV_FIELD_SIZE_LIMIT = 2**31 - 1


def extract_file(partner: Partner, dataset: str, drop_dir: Path | None = None) -> Extraction:
    return read_delivery_file(partner, dataset, newest_file(partner, dataset, drop_dir))


def newest_file(partner: Partner, dataset: str, drop_dir: Path | None = None) -> Path:
    """The file of ``dataset`` that ``extract_file`` reads now: the newest match in the partner's drop folder."""
    assert isinstance(partner.connector, FileConnector)
    if drop_dir is None:
        from regiowerk.settings import paths

        drop_dir = paths().drop
    folder = Path(drop_dir) / partner.delivery_folder()
    mapping = partner.datasets[dataset]
    return _newest_file(DeliveryContext(partner.partner_id, dataset, str(folder / mapping.source)), folder, mapping)


def newest_delivery(partner: Partner, dataset: str, drop_dir: Path | None = None) -> tuple[Path, str]:
    """The file ``extract_file`` would read now and its fingerprint (SHA-256 of the bytes), without parsing it:
    lets the pipeline recognise an unchanged, already loaded delivery before reading its rows."""
    path = newest_file(partner, dataset, drop_dir)
    return path, sha256_bytes(DeliveryContext(partner.partner_id, dataset, str(path)).read_bytes(path))


def read_delivery_file(partner: Partner, dataset: str, path: Path) -> Extraction:
    """Read one given file exactly as a delivery of ``dataset`` (used by the drop-zone extract and by
    ``regiowerk check``, so a partner's self-check follows the same code path as the pipeline)."""
    connector = partner.connector
    assert isinstance(connector, FileConnector)
    path = Path(path)
    ctx = DeliveryContext(partner.partner_id, dataset, str(path))
    data = ctx.read_bytes(path)
    if not data.strip() or data.strip() == codecs.BOM_UTF8:
        raise ctx.error("the file is empty")
    truncated = False
    if connector.format == "xlsx":
        columns, rows = _read_xlsx(ctx, data, connector.sheet)
    else:
        columns, rows = _read_csv(ctx, data, connector)
        truncated = not data.rstrip(b"\x00").endswith((b"\n", b"\r"))
    frame = _frame(ctx, columns, rows, truncated=truncated)
    return Extraction(partner.partner_id, dataset, frame, str(path), sha256_bytes(data), None)


def _newest_file(ctx: DeliveryContext, folder: Path, mapping: DatasetMapping) -> Path:
    if not folder.is_dir():
        raise ctx.error(f"the delivery folder {folder} does not exist; nothing was delivered")
    matches = sorted((p for p in folder.glob(mapping.source) if p.is_file()), key=lambda p: p.name)
    if not matches:
        raise ctx.error(f"no file matching {mapping.source!r} in {folder}; nothing was delivered")
    return matches[-1]


def _column_letter(position: int) -> str:
    letters = ""
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _frame(ctx: DeliveryContext, header: list[Any], rows: list[tuple[int, list[Any]]], *, truncated: bool = False):
    """Header + numbered rows -> contract frame. Drops fully empty rows and empty trailing header cells.

    Rows with fewer values than the header are padded with None (some exporters leave out trailing empty
    fields), except a short *last* row of a file that does not end with a line break (``truncated``): that file
    was cut off, and the whole delivery is rejected.
    """
    names = [to_text(h) for h in header]
    names = [n.strip() if n else n for n in names]
    while names and names[-1] is None:
        names.pop()
    if not names:
        raise ctx.error("the first row (the header) is empty")
    for position, name in enumerate(names, start=1):
        if name is None:
            left = next((n for n in reversed(names[: position - 1]) if n), None)
            after = f", right of column {left!r}" if left else ""
            raise ctx.error(f"header cell {position} (spreadsheet column {_column_letter(position)}{after}) is "
                            f"empty; every column needs its own name (merged header cells? unmerge them)",
                            column=left or _column_letter(position))
    width = len(names)
    kept: list[tuple[int, list[Any]]] = []
    for number, row in rows:  # values are converted to text column by column in make_frame
        if blank_row(row):
            continue
        if len(row) > width and not blank_row(row[width:]):
            raise ctx.error(f"row {number} has {len(row)} values but the header only {width} columns; "
                            f"check the delimiter and quoting of that row")
        kept.append((number, row))
    if kept and truncated and len(kept[-1][1]) < width and kept[-1][0] == rows[-1][0]:
        number, values = kept[-1]
        raise ctx.error(f"the last row (row {number}) has {len(values)} of {width} values and the file does not "
                        f"end with a line break: the file seems truncated (an interrupted upload?); deliver the "
                        f"complete file again", column=names[len(values)] if len(values) < width else None)
    if kept and truncated and kept[-1][0] == rows[-1][0] and _cut_in_last_field(kept, width):
        number = kept[-1][0]
        raise ctx.error(f"the last value of the last row (row {number}) is shorter than in every other row and "
                        f"the file does not end with a line break: the file seems truncated (an interrupted "
                        f"upload?); deliver the complete file again", column=names[-1])
    if not kept:
        raise ctx.error("the file holds only a header and no data rows")
    return make_frame(ctx, names, (v for _, v in kept), (n for n, _ in kept))


def _cut_in_last_field(rows: list[tuple[int, list[Any]]], width: int) -> bool:
    """A file without a final line break whose last row is complete may still be cut inside its last field: so
    when that value is shorter than the same column in every other row and those all have one length (a date, a
    code), the file is taken as truncated."""
    last = rows[-1][1]
    if len(last) < width or len(rows) < 3:
        return False
    lengths = {len(str(r[width - 1])) for _, r in rows[:-1] if len(r) >= width and r[width - 1] not in (None, "")}
    value = last[width - 1]
    return len(lengths) == 1 and value not in (None, "") and len(str(value)) < next(iter(lengths))


def _decode(ctx: DeliveryContext, data: bytes, encoding: str) -> str:
    # A UTF-8 byte order mark is stripped also when the partner file says plain "utf-8".
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"
    if codecs.lookup(encoding).name != "utf-8-sig" and not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass  # not UTF-8: decode as the partner file says
        else:  # multi-byte UTF-8 that would turn into 'BeÃ«indigd' when read as a one-byte encoding
            raise ctx.error(f"the file is UTF-8 (its non-ASCII bytes are UTF-8 characters) but connector.encoding "
                            f"is {encoding!r}: reading it so would garble every accented letter; set "
                            f"connector.encoding to 'utf-8' in the partner file, or export as {encoding}")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        bad = data[e.start : e.end].hex(" ")
        hint = "cp1252" if codecs.lookup(encoding).name.startswith("utf-8") else "utf-8"
        raise ctx.error(f"cannot decode byte(s) 0x{bad} at line {line}, byte {column} (file offset {e.start}) "
                        f"as {encoding}; the file is probably in another encoding: set connector.encoding in "
                        f"the partner file (e.g. {hint!r})") from None


def _read_csv(ctx: DeliveryContext, data: bytes, connector: FileConnector):
    text = _decode(ctx, data, connector.encoding)
    if "\x00" in text:
        # NUL bytes (a broken export or a binary paste) carry no meaning in a text export: strip them.
        log.warning("%s: stripped %d NUL byte(s)", ctx.source, text.count("\x00"))
        text = text.replace("\x00", "")
    if csv.field_size_limit() < _CSV_FIELD_SIZE_LIMIT:
        csv.field_size_limit(_CSV_FIELD_SIZE_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=connector.delimiter,
                        quotechar=connector.quotechar, strict=True)
    records: list[tuple[int, list[Any]]] = []
    try:
        # Spreadsheet numbering: one record is one row (a quoted field may span lines), header = row 1.
        for number, record in enumerate(reader, start=1):
            records.append((number, record))
    except csv.Error as e:
        raise ctx.error(f"malformed CSV at line {reader.line_num}: {e}; check connector.delimiter "
                        f"({connector.delimiter!r}) and connector.quotechar ({connector.quotechar!r})") from None
    if not records:
        raise ctx.error("the file is empty")
    header = records[0][1]
    if len(header) == 1:
        found = [d for d in _LIKELY_DELIMITERS if d != connector.delimiter and d in header[0]]
        if found:
            raise ctx.error(f"the header has a single column {header[0][:80]!r}: the file seems delimited by "
                            f"{found[0]!r} but connector.delimiter is {connector.delimiter!r}")
    return header, records[1:]


def _read_xlsx(ctx: DeliveryContext, data: bytes, sheet: str | None):
    import zipfile

    import openpyxl

    try:
        with _no_dimension_scan():
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        raise ctx.error(f"not a readable XLSX workbook ({e}); is the file really .xlsx (not .xls or CSV)?") \
            from None
    try:
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            raise ctx.error(f"the workbook has no sheet {sheet!r}; sheets: {', '.join(workbook.sheetnames)}")
        worksheet.reset_dimensions()  # some exporters write a wrong sheet size; read what is really there
        rows = [(number, [_xlsx_value(v) for v in row])
                for number, row in enumerate(worksheet.iter_rows(values_only=True), start=1)]
    finally:
        workbook.close()
    if all(v is None for _, row in rows for v in row):
        raise ctx.error(f"the sheet {worksheet.title!r} is empty")
    return rows[0][1], rows[1:]


@contextlib.contextmanager
def _no_dimension_scan():
    """Open a workbook without openpyxl's up-front size scan of every sheet.

    In read-only mode openpyxl looks for each sheet's ``<dimension>`` when the workbook is opened; a sheet
    written without one (many exporters) is then parsed completely just to learn that it has no dimension, and
    again when we read it. We ignore the stated size anyway (``reset_dimensions``), so skipping the scan
    changes nothing but the time (about a quarter of reading such a workbook)."""
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    original = ReadOnlyWorksheet._get_size
    ReadOnlyWorksheet._get_size = lambda self: None
    try:
        yield
    finally:
        ReadOnlyWorksheet._get_size = original


def _xlsx_value(value: Any) -> Any:
    """Excel dates become ISO dates (the time part of a date cell is noise from the export)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return value
