"""``regiowerk check`` speaks the partner's language: Dutch verdicts, hints and column tips (issue 15, onboarding)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from regiowerk import selfcheck
from regiowerk.registry import load_partner

CORPUS = Path(__file__).parent / "corpus"
HEADER = "bsn;naam;gemeente;postcode;geboortedatum;regeling;status;peildatum"


@pytest.fixture
def partners(tmp_path, monkeypatch):
    folder = tmp_path / "partners"
    folder.mkdir()
    shutil.copyfile(CORPUS / "partners" / "corpus_gemeente.yml", folder / "corpus_gemeente.yml")
    monkeypatch.setenv("REGIOWERK_PARTNERS_DIR", str(folder))
    return folder


def csv_file(tmp_path: Path, header: str, rows: list[str]) -> Path:
    path = tmp_path / "clienten_2026-10-31.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def with_hours(partners: Path, **connector) -> Path:
    """corpus_gemeente plus a number column "uren" (uren_beschikbaar_per_week)."""
    path = partners / "corpus_gemeente.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["datasets"]["werkzoekenden"]["columns"]["uren_beschikbaar_per_week"] = "uren"
    data["connector"].update(connector)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_every_row_quarantined_is_rejected_with_exit_2(tmp_path, partners, capsys):
    path = csv_file(tmp_path, HEADER, ["100000010;A;GM0503;2611AB;1990-05-01;XX;actief;2026-10-31",
                                       "100000022;B;GM0503;2611AB;1990-05-01;YY;actief;2026-10-31"])
    code = selfcheck.main([str(path), "--partner", "corpus_gemeente", "--html", str(tmp_path / "r.html")])
    out = capsys.readouterr().out
    assert code == 2
    assert "oordeel: AFGEWEZEN: elke rij zou in quarantaine gaan (er wordt niets geladen)" in out
    # An unmapped code leaves regeling empty: "regeling: missing (required)" follows from it and is not listed.
    assert "2 x regeling: local code" not in out and "1 x regeling: local code 'XX' has no mapping" in out
    assert "missing (required)" not in out
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<html lang='nl'>" in page and "Zelfcontrole van clienten_2026-10-31.csv" in page
    assert "elke rij zou in quarantaine gaan" in page and "Alle problemen" in page


def test_decimal_comma_hint_when_most_numbers_fail(tmp_path, partners):
    partner = load_partner(with_hours(partners))
    rows = [f"{b};A;GM0503;2611AB;1990-05-01;PW;actief;2026-10-31;{u}"
            for b, u in (("100000010", "24,0"), ("100000022", "32,5"), ("100000034", "12"))]
    result = selfcheck.check_file(csv_file(tmp_path, HEADER + ";uren", rows), partner)
    assert result.would_quarantine == 2
    assert result.column_hints == [
        "De meeste waarden van kolom 'uren' zijn geen getal met '.' als decimaalteken, maar wel met ',': klopt "
        "connector.decimal in partners/corpus_gemeente.yml? (nu '.')"]
    assert "tips:" in selfcheck.summary(result, partner)


def test_no_decimal_hint_when_only_a_few_numbers_fail(tmp_path, partners):
    partner = load_partner(with_hours(partners))
    rows = [f"{b};A;GM0503;2611AB;1990-05-01;PW;actief;2026-10-31;{u}"
            for b, u in (("100000010", "24,0"), ("100000022", "32"), ("100000034", "12"))]
    result = selfcheck.check_file(csv_file(tmp_path, HEADER + ";uren", rows), partner)
    assert result.would_quarantine == 1 and result.column_hints == []


def test_date_format_hint_names_the_format_that_fits(tmp_path, partners):
    partner = load_partner(partners / "corpus_gemeente.yml")
    rows = ["100000010;A;GM0503;2611AB;1990-05-01;PW;actief;31-10-2026",
            "100000022;B;GM0503;2611AB;1990-05-01;PW;actief;30-10-2026",
            "100000034;C;GM0503;2611AB;1990-05-01;PW;actief;2026-10-31"]
    result = selfcheck.check_file(csv_file(tmp_path, HEADER, rows), partner)
    assert result.column_hints == [
        "De meeste datums in kolom 'peildatum' passen niet bij date_format (%Y-%m-%d), maar wel bij %d-%m-%Y "
        "(dd-mm-jjjj): pas date_format aan in partners/corpus_gemeente.yml, of exporteer de datums als jjjj-mm-dd."]


def test_invalid_bsn_and_future_birth_date_get_their_own_hint_once(tmp_path, partners):
    partner = load_partner(partners / "corpus_gemeente.yml")
    rows = ["100000011;A;GM0503;2611AB;1990-05-01;PW;actief;2026-10-31",   # 2: fails the elfproef
            "100000022;B;GM0503;2611AB;2099-05-01;PW;actief;2026-10-31",   # 3: birth date in the future
            "100000034;C;GM0503;2611AB;1990-05-01;PW;actief;2026-10-31"]
    result = selfcheck.check_file(csv_file(tmp_path, HEADER, rows), partner)
    by_row = {}
    for p in result.problems:
        by_row.setdefault(p.row, []).append(p)
    # The follow-on reasons (no persoon_id; a birth year after this year) are not listed next to their cause.
    assert [p.reason for p in by_row[2]] == ["bsn: fails the elfproef (value masked)"]
    assert by_row[2][0].hint == ("Het BSN voldoet niet aan de elfproef: controleer het op een tikfout in het "
                                 "bronsysteem.")
    assert [p.reason for p in by_row[3]] == ["geboortedatum: (value masked) is in the future"]
    assert by_row[3][0].hint == "geboortedatum ligt na vandaag: controleer de datum in het bronsysteem."
    assert dict(result.top_reasons) == {"bsn: fails the elfproef (value masked)": 1,
                                        "geboortedatum: (value masked) is in the future": 1}


def test_dates_that_contradict_each_other_name_both_columns():
    partner = load_partner(CORPUS / "partners" / "corpus_gemeente.yml")
    hint = selfcheck.hint_for("regeling_einde: '2020-01-01' is before regeling_start '2021-01-01'",
                              "regeling_einde", partner, "werkzoekenden")
    assert hint == "regeling_einde en regeling_start spreken elkaar tegen: controleer beide datums in het bronsysteem."


@pytest.mark.parametrize("case_id", ["field_xlsx_external_entity", "field_xlsx_broken_sheet_xml",
                                     "field_xlsx_unpacks_too_big"])
def test_malformed_workbooks_exit_2_with_a_dutch_hint(tmp_path, case_id, capsys, monkeypatch):
    from test_corpus import CASES, partner_yaml, write_xlsx

    case = next(c for c in CASES if c["id"] == case_id)
    folder = tmp_path / "partners"
    folder.mkdir()
    data = partner_yaml(case)
    (folder / "corpus_gemeente_xlsx.yml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("REGIOWERK_PARTNERS_DIR", str(folder))
    path = tmp_path / "clienten_2026-10-31.xlsx"
    write_xlsx(path, case["input"])
    code = selfcheck.main([str(path), "--partner", "corpus_gemeente_xlsx"])
    out = capsys.readouterr().out
    assert code == 2
    assert case["expected"]["rejected"] in out
    assert "zo lost u het op: De werkmap is" in out
    assert "Traceback" not in out
