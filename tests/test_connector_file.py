"""File connector: real CSV and XLSX files in a temporary drop zone."""

from __future__ import annotations

import datetime as dt
import hashlib

import openpyxl
import pytest
from regiowerk.connectors import extract
from regiowerk.errors import DeliveryError
from regiowerk.registry import Partner

COLUMNS = {"bsn": "BSN", "gemeente_code": "Gemeente", "regeling": "Regeling", "status": "Status",
           "peildatum": "Peildatum"}


def file_partner(**connector) -> Partner:
    source = "clienten_*.xlsx" if connector.get("format") == "xlsx" else "clienten_*.csv"
    return Partner.model_validate({
        "partner_id": "gemeente_delft", "naam": "Gemeente Delft", "kind": "gemeente", "regio_code": "AM21",
        "gemeente_code": "GM0503", "contact": "test@example.org", "schedule": "0 6 * * *",
        "connector": {"type": "file", **connector},
        "datasets": {"werkzoekenden": {"source": source, "columns": COLUMNS}},
    })


@pytest.fixture
def drop(tmp_path):
    folder = tmp_path / "gemeente_delft"
    folder.mkdir()
    return tmp_path


def write(drop, name: str, data: bytes):
    path = drop / "gemeente_delft" / name
    path.write_bytes(data)
    return path


def test_semicolon_cp1252_csv_keeps_text_and_numbers_rows(drop):
    text = ("BSN;Gemeente;Regeling;Status;Peildatum;Naam\r\n"
            "123456782;GM0503;10;open;31-01-2026;José\r\n"
            "111222333;GM0503;20;  ;31-01-2026;\"De Vries; J.\"\r\n")
    path = write(drop, "clienten_2026-01-31.csv", text.encode("cp1252"))
    ex = extract(file_partner(delimiter=";", encoding="cp1252"), "werkzoekenden", drop_dir=drop)
    assert ex.source == str(path)
    assert ex.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ex.watermark is None
    assert list(ex.frame.columns) == ["BSN", "Gemeente", "Regeling", "Status", "Peildatum", "Naam", "_bron_rij"]
    assert ex.frame["Naam"].tolist() == ["José", "De Vries; J."]
    assert ex.frame["Status"].tolist() == ["open", None]  # whitespace-only -> None
    assert ex.frame["Peildatum"].tolist() == ["31-01-2026", "31-01-2026"]  # not converted here
    assert ex.frame["_bron_rij"].tolist() == [2, 3]
    assert ex.frame["BSN"].dtype == object


def test_newest_file_by_name_is_read(drop):
    write(drop, "clienten_2026-01-31.csv", b"BSN,Status\n1,oud\n")
    write(drop, "clienten_2026-02-28.csv", b"BSN,Status\n2,nieuw\n")
    write(drop, "other.csv", b"BSN,Status\n3,nee\n")
    ex = extract(file_partner(), "werkzoekenden", drop_dir=drop)
    assert ex.source.endswith("clienten_2026-02-28.csv")
    assert ex.frame["Status"].tolist() == ["nieuw"]


def test_utf8_bom_is_stripped_with_plain_utf8(drop):
    write(drop, "clienten_1.csv", "\ufeffBSN,Status\n123456782,actief\n".encode("utf-8"))
    ex = extract(file_partner(encoding="utf-8"), "werkzoekenden", drop_dir=drop)
    assert list(ex.frame.columns) == ["BSN", "Status", "_bron_rij"]


def test_trailing_empty_rows_are_dropped_and_numbering_kept(drop):
    write(drop, "clienten_1.csv", b"BSN,Status\n1,a\n,\n2,b\n\n,\n")
    ex = extract(file_partner(), "werkzoekenden", drop_dir=drop)
    assert ex.frame["BSN"].tolist() == ["1", "2"]
    assert ex.frame["_bron_rij"].tolist() == [2, 4]


def test_xlsx_with_date_number_and_trailing_rows(drop):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Export"
    other = workbook.create_sheet("ZRM")
    other.append(["BSN", "Peildatum", "Uren", "Score", "Naam"])
    other.append(["012345678", dt.datetime(2026, 1, 31, 0, 0), 32.0, 2.5, "Zoë"])
    other.append([123456782, dt.date(2026, 2, 1), 24, None, None])
    other.append([None, None, None, None, None])
    other.append(["", None, None, None, None])
    path = drop / "gemeente_delft" / "clienten_2026-01.xlsx"
    workbook.save(path)
    ex = extract(file_partner(format="xlsx", sheet="ZRM"), "werkzoekenden", drop_dir=drop)
    assert ex.frame.drop(columns="_bron_rij").values.tolist() == [
        ["012345678", "2026-01-31", "32", "2.5", "Zoë"],
        ["123456782", "2026-02-01", "24", None, None],
    ]
    assert ex.frame["_bron_rij"].tolist() == [2, 3]
    assert ex.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()


def test_xlsx_unknown_sheet(drop):
    workbook = openpyxl.Workbook()
    workbook.active.append(["BSN"])
    workbook.save(drop / "gemeente_delft" / "clienten_1.xlsx")
    with pytest.raises(DeliveryError, match="no sheet 'ZRM'"):
        extract(file_partner(format="xlsx", sheet="ZRM"), "werkzoekenden", drop_dir=drop)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"\xef\xbb\xbf\r\n", "the file is empty"),
    (b"BSN,Status\r\n", "only a header"),
    (b"BSN;Status\n1;a\n", r"delimited by ';' but connector.delimiter is ','"),
    (b"BSN,Status\n1,a,b\n", "row 2 has 3 values"),
    (b'BSN,Status\n1,"open\n', "malformed CSV"),
])
def test_bad_csv_deliveries(drop, content, message):
    write(drop, "clienten_1.csv", content)
    with pytest.raises(DeliveryError, match=message) as info:
        extract(file_partner(), "werkzoekenden", drop_dir=drop)
    assert info.value.partner_id == "gemeente_delft"
    assert info.value.dataset == "werkzoekenden"


def test_cp1252_read_as_utf8_names_line_and_encoding(drop):
    write(drop, "clienten_1.csv", "BSN,Naam\n1,Jan\n2,José\n".encode("cp1252"))
    with pytest.raises(DeliveryError) as info:
        extract(file_partner(encoding="utf-8"), "werkzoekenden", drop_dir=drop)
    message = str(info.value)
    assert "0xe9 at line 3, byte 6" in message
    assert "connector.encoding" in message and "cp1252" in message


def test_missing_file_and_missing_folder(tmp_path):
    with pytest.raises(DeliveryError, match="does not exist"):
        extract(file_partner(), "werkzoekenden", drop_dir=tmp_path)
    (tmp_path / "gemeente_delft").mkdir()
    (tmp_path / "gemeente_delft" / "readme.txt").write_text("not a delivery")
    with pytest.raises(DeliveryError, match=r"no file matching 'clienten_\*.csv'"):
        extract(file_partner(), "werkzoekenden", drop_dir=tmp_path)
