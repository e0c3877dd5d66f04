"""Exports as they come from the field: the partner file options that read them (issue 15), and their registry checks.

The end-to-end onboarding of a title-block/totals workbook and of a multi-format date column runs in the corpus
(tests/corpus/cases.yml, block "field"); here are the reader's and the registry's own rules.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
from pathlib import Path

import openpyxl
import pytest
import yaml
from regiowerk.connectors import extract
from regiowerk.connectors.newest import name_date
from regiowerk.errors import DeliveryError
from regiowerk.registry import Partner, RegistryError, load_partner
from regiowerk.settings import paths

COLUMNS = {"bsn": "BSN", "gemeente_code": "Gemeente", "regeling": "Regeling", "status": "Status",
           "peildatum": "Peildatum"}


def partner(source: str = "clienten_*.csv", dataset: dict | None = None, **connector) -> Partner:
    return Partner.model_validate({
        "partner_id": "gemeente_delft", "naam": "Gemeente Delft", "kind": "gemeente", "regio_code": "AM21",
        "gemeente_code": "GM0503", "contact": "test@example.org", "schedule": "0 6 * * *",
        "connector": {"type": "file", **connector},
        "datasets": {"werkzoekenden": {"source": source, "columns": COLUMNS, **(dataset or {})}},
    })


@pytest.fixture
def drop(tmp_path):
    (tmp_path / "gemeente_delft").mkdir()
    return tmp_path


def write(drop: Path, name: str, data: bytes, mtime: int | None = None) -> Path:
    path = drop / "gemeente_delft" / name
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


# ------------------------------------------------------------------------------------ title block and footers
def test_csv_title_block_and_skip_footer_keep_spreadsheet_row_numbers(drop):
    write(drop, "clienten_1.csv", b"Export gemeente Delft\n\nBSN,Status\n1,a\n2,b\n\nTotaal,2\n")
    ex = extract(partner(header_row=3, skip_footer=1), "werkzoekenden", drop_dir=drop)
    assert ex.frame["BSN"].tolist() == ["1", "2"]
    assert ex.frame["_bron_rij"].tolist() == [4, 5]


def test_footer_pattern_drops_only_trailing_matching_rows(drop):
    # "Totaal" in the middle is data (a row the mapping will judge); only the rows at the end are footer rows.
    write(drop, "clienten_1.csv", b"BSN,Status\n1,a\nTotaal,x\n2,b\nTOTAAL,2\nbron: export,\n")
    ex = extract(partner(footer_pattern=r"^(totaal|bron:)"), "werkzoekenden", drop_dir=drop)
    assert ex.frame["BSN"].tolist() == ["1", "Totaal", "2"]
    assert ex.frame["_bron_rij"].tolist() == [2, 3, 4]


def test_without_footer_rule_a_totals_row_is_data(drop):
    write(drop, "clienten_1.csv", b"BSN,Status\n1,a\nTotaal,1\n")
    ex = extract(partner(), "werkzoekenden", drop_dir=drop)
    assert ex.frame["BSN"].tolist() == ["1", "Totaal"]


def test_xlsx_title_block_date_cells_and_decimal_comma_numbers(drop):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Cliënten per 31-01-2026"])
    ws.append(["BSN", "Peildatum", "Uren"])
    ws.append([10000021, dt.datetime(2026, 1, 31, 13, 5), 24.5])
    ws.append([123456782, dt.date(2026, 2, 1), 32])
    ws.append(["Totaal", None, 56.5])
    wb.save(drop / "gemeente_delft" / "clienten_1.xlsx")
    p = partner("clienten_*.xlsx", {"date_format": ["%d-%m-%Y", "%Y-%m-%d"]}, format="xlsx", header_row=2,
                skip_footer=1, decimal=",")
    ex = extract(p, "werkzoekenden", drop_dir=drop)
    assert ex.frame.drop(columns="_bron_rij").values.tolist() == [
        ["10000021", "31-01-2026", "24,5"],  # an 8-digit BSN stored as a number keeps its digits
        ["123456782", "01-02-2026", "32"],
    ]
    assert ex.frame["_bron_rij"].tolist() == [3, 4]


# ------------------------------------------------------------------------------------------- newest file
def test_newest_by_modification_time(drop):
    write(drop, "clienten_b.csv", b"BSN,Status\n1,oud\n", mtime=1_700_000_000)
    write(drop, "clienten_a.csv", b"BSN,Status\n2,nieuw\n", mtime=1_700_000_100)
    ex = extract(partner(newest="modified"), "werkzoekenden", drop_dir=drop)
    assert ex.source.endswith("clienten_a.csv")


def test_newest_by_date_in_name(drop):
    write(drop, "clienten_31012026.csv", b"BSN,Status\n1,jan\n", mtime=1_700_000_000)
    write(drop, "clienten_28022026.csv", b"BSN,Status\n2,feb\n", mtime=1_700_000_100)
    write(drop, "clienten_15122025.csv", b"BSN,Status\n3,dec\n", mtime=1_600_000_000)
    ex = extract(partner(newest="date_in_name", name_date_format="%d%m%Y"), "werkzoekenden", drop_dir=drop)
    assert ex.frame["Status"].tolist() == ["feb"]  # by name the December file would sort last but one


def test_date_in_name_refuses_a_file_without_a_date(drop):
    write(drop, "clienten_31012026.csv", b"BSN,Status\n1,jan\n")
    write(drop, "clienten_laatste.csv", b"BSN,Status\n2,x\n")
    with pytest.raises(DeliveryError, match=r"'clienten_laatste.csv' holds no date in format %d%m%Y"):
        extract(partner(newest="date_in_name", name_date_format="%d%m%Y"), "werkzoekenden", drop_dir=drop)


def test_a_newer_file_that_the_rule_passes_over_rejects_the_delivery(drop):
    # The partner delivered a corrected January file after February's: by name February would win again (and be
    # reported as already loaded); the newer file must not be ignored silently.
    write(drop, "clienten_2026-02-28.csv", b"BSN,Status\n1,feb\n", mtime=1_700_000_000)
    write(drop, "clienten_2026-01-31.csv", b"BSN,Status\n2,jan\n", mtime=1_700_000_500)
    with pytest.raises(DeliveryError) as info:
        extract(partner(), "werkzoekenden", drop_dir=drop)
    message = str(info.value)
    assert "'clienten_2026-01-31.csv' was delivered after 'clienten_2026-02-28.csv'" in message
    assert "connector.newest: modified" in message


def test_name_date_finds_the_date_and_refuses_impossible_ones():
    assert name_date("clienten_2026-01-31.csv", "%Y-%m-%d") == dt.date(2026, 1, 31)
    assert name_date("export_31-01-2026_v2.xlsx", "%d-%m-%Y") == dt.date(2026, 1, 31)
    assert name_date("clienten_2026-13-31.csv", "%Y-%m-%d") is None
    assert name_date("clienten.csv", "%Y%m%d") is None


# ------------------------------------------------------------------------------------ values and dates
def test_values_match_full_words_regardless_of_case_and_spacing(drop):
    from regiowerk.mapping import map_to_canonical

    write(drop, "clienten_1.csv", b"BSN,Gemeente,Regeling,Status,Peildatum\n"
          b"123456782,GM0503,  Participatie  Wet ,ACTIEF,31-01-2026\n"
          b"111222333,GM0503,pw,Uitgestroomd,2026-01-31\n"
          b"100000010,GM0503,onbekend,actief,2026/01/31\n")
    p = partner(dataset={"date_format": ["%Y-%m-%d", "%d-%m-%Y"], "accept_canonical_codes": True,
                         "values": {"regeling": {"PW": "participatiewet", "Participatie wet": "participatiewet"}}})
    ex = extract(p, "werkzoekenden", drop_dir=drop)
    mapped = map_to_canonical(ex.frame, p, "werkzoekenden", key=b"k" * 32, source=ex.source)
    assert mapped.frame["regeling"].tolist() == ["participatiewet", "participatiewet", None]
    assert mapped.frame["status"].tolist() == ["actief", "uitgestroomd", "actief"]  # canonical codes accepted
    assert mapped.frame["peildatum"].tolist() == [dt.date(2026, 1, 31), dt.date(2026, 1, 31), None]
    reasons = mapped.reasons[2]
    assert "regeling: local code 'onbekend' has no mapping" in " ".join(reasons)
    assert "peildatum: '2026/01/31' is not a date in format %Y-%m-%d or %d-%m-%Y" in reasons


def test_canonical_codes_are_not_accepted_unless_the_partner_file_says_so(drop):
    from regiowerk.mapping import map_to_canonical

    write(drop, "clienten_1.csv", b"BSN,Gemeente,Regeling,Status,Peildatum\n123456782,GM0503,ioaw,actief,2026-01-31\n")
    p = partner(dataset={"values": {"regeling": {"PW": "participatiewet"}}})
    ex = extract(p, "werkzoekenden", drop_dir=drop)
    mapped = map_to_canonical(ex.frame, p, "werkzoekenden", key=b"k" * 32, source=ex.source)
    assert "regeling: local code 'ioaw' has no mapping" in " ".join(mapped.reasons[0])


# ------------------------------------------------------------------------------------------- registry
def _write_partner(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load((paths().root / "partners" / "gemeente_den_haag.yml").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    mutate(data)
    path = tmp_path / "gemeente_den_haag.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _wz(d):
    return d["datasets"]["werkzoekenden"]


@pytest.mark.parametrize(("mutate", "field", "reason"), [
    (lambda d: d["connector"].update(header_row=0), "connector.file.header_row", "greater than or equal to 1"),
    (lambda d: d["connector"].update(skip_footer=-1), "connector.file.skip_footer", "greater than or equal to 0"),
    (lambda d: d["connector"].update(footer_pattern="(totaal"), "connector.file.footer_pattern",
     "not a valid regular expression"),
    (lambda d: d["connector"].update(skip_footer=1, footer_pattern="^totaal"), "connector.file",
     "skip_footer and footer_pattern: choose one"),
    (lambda d: d["connector"].update(newest="newest"), "connector.file.newest",
     "'name', 'modified' or 'date_in_name'"),
    (lambda d: d["connector"].update(newest="date_in_name"), "connector.file",
     "newest: date_in_name and name_date_format go together"),
    (lambda d: d["connector"].update(newest="date_in_name", name_date_format="%Y%m"),
     "connector.file.name_date_format", "must hold %Y, %m and %d"),
    (lambda d: d["connector"].update(name_date_format="%Y%m%d"), "connector.file",
     "newest: date_in_name and name_date_format go together"),
    (lambda d: d["connector"].update(max_uncompressed_mb=0), "connector.file.max_uncompressed_mb",
     "greater than or equal to 1"),
    (lambda d: d["connector"].update(transport="sftp"), "connector.file", "transport: sftp needs conn_id"),
    (lambda d: d["connector"].update(conn_id="sftp_den_haag"), "connector.file", "transport: sftp needs conn_id"),
    (lambda d: _wz(d).update(date_format=[]), "datasets.werkzoekenden.date_format", "at least one date format"),
    (lambda d: _wz(d).update(date_format=["%d-%m-%Y", "%d-%m"]), "datasets.werkzoekenden.date_format",
     "'%d-%m' is not a date format that gives back day, month and year"),
    (lambda d: _wz(d)["values"]["regeling"].update({" pw": "ioaw"}), "datasets.werkzoekenden.values.regeling",
     "(case and spacing do not count) but mapped to 'ioaw'"),
], ids=["header_row_0", "skip_footer_negative", "footer_pattern_invalid", "footer_both", "newest_unknown",
        "date_in_name_without_format", "name_date_format_incomplete", "name_date_format_without_rule",
        "max_uncompressed_0", "sftp_without_conn", "conn_without_sftp", "date_format_empty", "date_format_partial",
        "values_collide"])
def test_field_options_are_validated_naming_file_and_field(tmp_path, mutate, field, reason):
    path = _write_partner(tmp_path, mutate)
    with pytest.raises(RegistryError) as info:
        load_partner(path)
    message = str(info.value)
    assert str(path) in message and field in message and reason in message, message


def test_field_options_load(tmp_path):
    def mutate(d):
        d["connector"].update(header_row=3, footer_pattern="^totaal", newest="date_in_name",
                              name_date_format="%Y%m%d", max_uncompressed_mb=50)
        _wz(d).update(date_format=["%d-%m-%Y", "%Y-%m-%d"], accept_canonical_codes=True)

    p = load_partner(_write_partner(tmp_path, mutate))
    assert p.connector.header_row == 3 and p.connector.newest == "date_in_name"
    assert p.datasets["werkzoekenden"].date_formats == ("%d-%m-%Y", "%Y-%m-%d")
