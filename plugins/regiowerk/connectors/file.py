"""File drops (CSV and XLSX) in ``<drop>/<partner folder>``, locally or on the partner's SFTP server.

Which matching file is the delivery is the partner file's ``connector.newest``: the last by file name (default;
partners name their exports with a sortable date, e.g. ``clienten_2026-01-31.csv``), the last modified, or the
latest date in the file name (``name_date_format``). A matching file modified after the chosen one rejects the
delivery, so a new file is never silently ignored. Every value stays text; the spreadsheet row number travels
along as ``_bron_rij`` so a rejected row can be found in the partner's file.

Exports as they come from the field, by partner file only: a title block above the header (``header_row``),
footer rows such as totals (``skip_footer`` or ``footer_pattern``), Excel date cells (written in the dataset's
first ``date_format``) and numbers (in the partner's ``decimal``). Reading is column by column with repeated
values shared, the CSV decoded as a stream, and an XLSX is refused before parsing when it unpacks to more than
``max_uncompressed_mb``; its XML is parsed with defusedxml (no entities, no external references).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import logging
import re
from pathlib import Path
from typing import Any

from regiowerk.connectors.base import (
    DeliveryContext,
    Extraction,
    blank_row,
    frame_from_columns,
    sha256_bytes,
    to_text,
)
from regiowerk.connectors.newest import choose_newest
from regiowerk.registry import DatasetMapping, FileConnector, Partner

log = logging.getLogger(__name__)

# Delimiters we look for when a CSV header comes out as one single column.
_LIKELY_DELIMITERS = (";", ",", "\t", "|")
# Python's csv module refuses fields over 128 KiB by default; a delivery with one huge field must not crash the
# run (the mapping step quarantines over-long values). 2**31 - 1 is the largest limit every platform accepts.
_CSV_FIELD_SIZE_LIMIT = 2**31 - 1
# A column keeps sharing repeated values (one str object per distinct value) until it has this many distinct
# values; a column of unique values (names, numbers) stops sharing, so the table never outgrows the column.
_SHARE_LIMIT = 50_000


def extract_file(partner: Partner, dataset: str, drop_dir: Path | None = None) -> Extraction:
    return read_delivery_file(partner, dataset, newest_file(partner, dataset, drop_dir))


def newest_file(partner: Partner, dataset: str, drop_dir: Path | None = None) -> Path:
    """The file of ``dataset`` that ``extract_file`` reads now: the newest match in the partner's drop folder
    (for ``transport: sftp`` first fetched from the server into a local mirror, see :mod:`.sftp`)."""
    connector = partner.connector
    assert isinstance(connector, FileConnector)
    if drop_dir is None:
        from regiowerk.settings import paths

        drop_dir = paths().drop
    mapping = partner.datasets[dataset]
    if connector.transport == "sftp":
        from regiowerk.connectors.sftp import fetch_newest

        return fetch_newest(partner, dataset, Path(drop_dir))
    folder = Path(drop_dir) / partner.delivery_folder()
    ctx = DeliveryContext(partner.partner_id, dataset, str(folder / mapping.source))
    if not folder.is_dir():
        raise ctx.error(f"the delivery folder {folder} does not exist; nothing was delivered")
    files = {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.glob(mapping.source) if p.is_file()}
    return folder / choose_newest(ctx, files, mapping.source, connector, str(folder))


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
    if not data.strip(b" \t\r\n\x00") or data.strip() == codecs.BOM_UTF8:
        raise ctx.error("the file is empty")
    rows = _Rows(ctx, connector)
    if connector.format == "xlsx":
        _read_xlsx(ctx, data, connector, partner.datasets[dataset], rows)
    else:
        _read_csv(ctx, data, connector, rows)
        rows.truncated = not data.rstrip(b"\x00").endswith((b"\n", b"\r"))
    frame = rows.frame()
    fingerprint = sha256_bytes(data)
    del data
    return Extraction(partner.partner_id, dataset, frame, str(path), fingerprint, None)


def _column_letter(position: int) -> str:
    letters = ""
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class _Rows:
    """Collects a file's rows column by column: the header at ``header_row`` (rows above it, a title block, are
    skipped), fully empty rows dropped, footer rows (``skip_footer``, ``footer_pattern``) removed at the end.

    Rows with fewer values than the header are padded with None (some exporters leave out trailing empty
    fields), except a short *last* row of a file that does not end with a line break (``truncated``): that file
    was cut off, and the whole delivery is rejected. Values are converted to text column by column in
    :func:`frame_from_columns`.
    """

    def __init__(self, ctx: DeliveryContext, connector: FileConnector):
        self.ctx = ctx
        self.connector = connector
        self.footer = re.compile(connector.footer_pattern, re.IGNORECASE) if connector.footer_pattern else None
        self.header: list[Any] | None = None
        self.names: list[str] = []
        self.columns: list[list[Any]] = []
        self.shared: list[dict | None] = []
        self.numbers: list[int] = []
        self.widths: list[int] = []  # values delivered per kept row (for the truncation check)
        self.last_number = 0
        self.truncated = False

    def add(self, number: int, row: list[Any]) -> None:
        self.last_number = number
        if self.header is None:
            if number == self.connector.header_row:
                self.header = row
                self._set_header(row)
            return
        if blank_row(row):
            return
        width = len(self.names)
        if len(row) > width and not blank_row(row[width:]):
            raise self.ctx.error(f"row {number} has {len(row)} values but the header only {width} columns; "
                                 f"check the delimiter and quoting of that row")
        for i, column in enumerate(self.columns):
            value = row[i] if i < len(row) else None
            table = self.shared[i]
            if table is not None and isinstance(value, str):
                value = table.setdefault(value, value)
                if len(table) > _SHARE_LIMIT:
                    self.shared[i] = None
            column.append(value)
        self.numbers.append(number)
        self.widths.append(len(row))

    def _set_header(self, header: list[Any]) -> None:
        names = [to_text(h) for h in header]
        names = [n.strip() if n else n for n in names]
        while names and names[-1] is None:
            names.pop()
        where = f"row {self.connector.header_row}" if self.connector.header_row > 1 else "the first row"
        if not names:
            raise self.ctx.error(f"{where} (the header, connector.header_row) is empty")
        for position, name in enumerate(names, start=1):
            if name is None:
                left = next((n for n in reversed(names[: position - 1]) if n), None)
                after = f", right of column {left!r}" if left else ""
                raise self.ctx.error(
                    f"header cell {position} (spreadsheet column {_column_letter(position)}{after}) is "
                    f"empty; every column needs its own name (merged header cells? unmerge them)",
                    column=left or _column_letter(position))
        self.names = names
        self.columns = [[] for _ in names]
        self.shared = [{} for _ in names]

    def _drop_last(self) -> None:
        for column in self.columns:
            column.pop()
        self.numbers.pop()
        self.widths.pop()

    def _first_value(self) -> str:
        for column in self.columns:
            text = to_text(column[-1])
            if text is not None:
                return text.strip()
        return ""

    def _cut_in_last_field(self) -> bool:
        """A file without a final line break whose last row is complete may still be cut inside its last field:
        so when that value is shorter than the same column in every other row and those all have one length (a
        date, a code), the file is taken as truncated."""
        width = len(self.names)
        if self.widths[-1] < width or len(self.numbers) < 3:
            return False
        column = self.columns[-1]
        lengths = {len(str(v)) for v in column[:-1] if v not in (None, "")}
        value = column[-1]
        return len(lengths) == 1 and value not in (None, "") and len(str(value)) < next(iter(lengths))

    def frame(self):
        if self.header is None:
            if self.connector.header_row > 1:
                raise self.ctx.error(f"the file has {self.last_number} rows, fewer than connector.header_row "
                                     f"({self.connector.header_row}): no header")
            raise self.ctx.error("the file is empty")
        for _ in range(min(self.connector.skip_footer, len(self.numbers))):
            self._drop_last()
        while self.footer is not None and self.numbers and self.footer.search(self._first_value()):
            self._drop_last()
        width = len(self.names)
        if self.numbers and self.truncated and self.widths[-1] < width and self.numbers[-1] == self.last_number:
            raise self.ctx.error(
                f"the last row (row {self.numbers[-1]}) has {self.widths[-1]} of {width} values and the file does "
                f"not end with a line break: the file seems truncated (an interrupted upload?); deliver the "
                f"complete file again", column=self.names[self.widths[-1]])
        if self.numbers and self.truncated and self.numbers[-1] == self.last_number and self._cut_in_last_field():
            raise self.ctx.error(
                f"the last value of the last row (row {self.numbers[-1]}) is shorter than in every other row and "
                f"the file does not end with a line break: the file seems truncated (an interrupted upload?); "
                f"deliver the complete file again", column=self.names[-1])
        if not self.numbers:
            raise self.ctx.error("the file holds only a header and no data rows")
        return frame_from_columns(self.ctx, self.names, self.columns, self.numbers)


def _text_stream(ctx: DeliveryContext, data: bytes, encoding: str):
    """The file as a text stream (decoded as it is read, never as one string). A UTF-8 byte order mark is
    stripped also when the partner file says plain "utf-8"."""
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
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")


def _decode_error(ctx: DeliveryContext, data: bytes, encoding: str):
    """The rejection for a file that does not decode: finds the first bad byte without decoding it whole."""
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"
    decoder = codecs.getincrementaldecoder(encoding)()
    step = 1 << 20
    for offset in range(0, len(data), step):
        pending = len(decoder.getstate()[0] or b"")  # bytes of the previous chunk the decoder still holds
        try:
            decoder.decode(data[offset:offset + step], final=offset + step >= len(data))
        except UnicodeDecodeError as e:
            start, end = offset - pending + e.start, offset - pending + e.end
            line = data[:start].count(b"\n") + 1
            column = start - (data.rfind(b"\n", 0, start) + 1) + 1
            bad = data[start:end].hex(" ")
            hint = "cp1252" if codecs.lookup(encoding).name.startswith("utf-8") else "utf-8"
            shown = encoding.removesuffix("-sig")
            return ctx.error(f"cannot decode byte(s) 0x{bad} at line {line}, byte {column} (file offset {start}) "
                             f"as {shown}; the file is probably in another encoding: set connector.encoding in "
                             f"the partner file (e.g. {hint!r})")
    return ctx.error(f"cannot decode the file as {encoding}; set connector.encoding in the partner file")


def _read_csv(ctx: DeliveryContext, data: bytes, connector: FileConnector, rows: _Rows) -> None:
    stream = _text_stream(ctx, data, connector.encoding)
    nul_lines = 0

    def lines():
        nonlocal nul_lines
        for line in stream:
            if "\x00" in line:
                # NUL bytes (a broken export or a binary paste) carry no meaning in a text export: strip them.
                nul_lines += 1
                line = line.replace("\x00", "")
            yield line

    if csv.field_size_limit() < _CSV_FIELD_SIZE_LIMIT:
        csv.field_size_limit(_CSV_FIELD_SIZE_LIMIT)
    reader = csv.reader(lines(), delimiter=connector.delimiter, quotechar=connector.quotechar, strict=True)
    try:
        # Spreadsheet numbering: one record is one row (a quoted field may span lines), header = row 1.
        for number, record in enumerate(reader, start=1):
            rows.add(number, record)
            if number == connector.header_row and len(record) == 1:
                found = [d for d in _LIKELY_DELIMITERS if d != connector.delimiter and d in record[0]]
                if found:
                    raise ctx.error(f"the header has a single column {record[0][:80]!r}: the file seems delimited "
                                    f"by {found[0]!r} but connector.delimiter is {connector.delimiter!r}")
    except csv.Error as e:
        raise ctx.error(f"malformed CSV at line {reader.line_num}: {e}; check connector.delimiter "
                        f"({connector.delimiter!r}) and connector.quotechar ({connector.quotechar!r})") from None
    except UnicodeDecodeError:
        raise _decode_error(ctx, data, connector.encoding) from None
    if nul_lines:
        log.warning("%s: stripped NUL byte(s) from %d line(s)", ctx.source, nul_lines)


def _read_xlsx(ctx: DeliveryContext, data: bytes, connector: FileConnector, mapping: DatasetMapping,
               rows: _Rows) -> None:
    import zipfile
    from xml.etree.ElementTree import ParseError

    import openpyxl
    from defusedxml import DefusedXmlException

    if not openpyxl.DEFUSEDXML:  # OPENPYXL_DEFUSEDXML=False or defusedxml missing: never parse unprotected XML
        from regiowerk.errors import ConfigurationError

        raise ConfigurationError("openpyxl is not using defusedxml (OPENPYXL_DEFUSEDXML set to False?): "
                                 "refusing to parse XLSX deliveries without it")
    not_xlsx = "is the file really .xlsx (not .xls or CSV)?"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ctx.error(f"not a readable XLSX workbook ({e}); {not_xlsx}") from None
    limit = connector.max_uncompressed_mb
    if unpacked > limit * 1024 * 1024:
        raise ctx.error(f"the workbook unpacks to {unpacked / 1024 / 1024:.0f} MB, more than the "
                        f"{limit} MB allowed (connector.max_uncompressed_mb); export only the needed sheet or "
                        f"deliver a CSV")
    broken = (ParseError, DefusedXmlException, zipfile.BadZipFile, KeyError, EOFError, OSError)
    try:
        with _no_dimension_scan():
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (*broken, ValueError, TypeError) as e:
        raise ctx.error(f"not a readable XLSX workbook ({_xml_problem(e)}); {not_xlsx}") from None
    date_format = mapping.date_formats[0]
    try:
        sheet = connector.sheet
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            raise ctx.error(f"the workbook has no sheet {sheet!r}; sheets: {', '.join(workbook.sheetnames)}")
        worksheet.reset_dimensions()  # some exporters write a wrong sheet size; read what is really there
        empty = True
        try:
            for number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
                values = [_xlsx_value(v, date_format, connector.decimal) for v in row]
                if empty and not all(v is None for v in values):
                    empty = False
                rows.add(number, values)
        except broken as e:
            raise ctx.error(f"the sheet {worksheet.title!r} cannot be read ({_xml_problem(e)}); export the "
                            f"workbook again") from None
    finally:
        workbook.close()
    if empty:
        raise ctx.error(f"the sheet {worksheet.title!r} is empty")


def _xml_problem(error: Exception) -> str:
    """What is wrong with a workbook's XML, in one line without any cell value."""
    from defusedxml import DefusedXmlException

    if isinstance(error, DefusedXmlException):
        return "its XML declares entities or refers to external content, which is never resolved"
    return f"{type(error).__name__}: {str(error)[:120]}"


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


def _xlsx_value(value: Any, date_format: str, decimal: str) -> Any:
    """Excel cells as the partner's text: a date cell in the dataset's (first) date format (the time part of a
    date cell is noise from the export), a number with the partner's decimal separator (an integral number,
    e.g. an 8-digit BSN stored as a number, without ``.0``)."""
    if isinstance(value, dt.datetime):
        return value.date().strftime(date_format)
    if isinstance(value, dt.date):
        return value.strftime(date_format)
    if isinstance(value, float) and not value.is_integer() and decimal == ",":
        return repr(value).replace(".", ",")
    return value
