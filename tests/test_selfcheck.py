"""``regiowerk check``: the partner self-check judges a file exactly as the pipeline would and leaks nothing."""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from regiowerk import selfcheck
from regiowerk.registry import load_partner

CORPUS = Path(__file__).parent / "corpus"
CASES = yaml.safe_load((CORPUS / "cases.yml").read_text(encoding="utf-8"))["cases"]
HEADER = "bsn;naam;gemeente;postcode;geboortedatum;regeling;status;peildatum"
BSNS = ["100000010", "100000022", "10000021", "123456789", "1000 000 34", "100000046", "100000058"]


@pytest.fixture
def partners(tmp_path, monkeypatch):
    folder = tmp_path / "partners"
    folder.mkdir()
    for name in ("corpus_gemeente", "corpus_gemeente_xlsx", "corpus_uwv"):
        shutil.copyfile(CORPUS / "partners" / f"{name}.yml", folder / f"{name}.yml")
    monkeypatch.setenv("REGIOWERK_PARTNERS_DIR", str(folder))
    return folder


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_clean_file_exits_0(tmp_path, partners, capsys):
    html_path = tmp_path / "report.html"
    code = selfcheck.main([str(CORPUS / "files" / "ok.csv"), "--partner", "corpus_gemeente", "--html", str(html_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "ontvangen:            3 rijen" in out and "zou in quarantaine:   0" in out
    assert "oordeel: geaccepteerd, geen problemen" in out
    assert "Alle problemen" not in html_path.read_text(encoding="utf-8")


def bad_file(tmp_path: Path) -> Path:
    return write(tmp_path, "clienten_bad.csv", [
        HEADER,
        "100000010;A. Jansen;GM0503;2611AB;1990-05-01;PW;actief;2026-10-31",              # 2 fine
        "100000022;B. Bakker;GM0503;0611AB;1990-05-01;PW;actief;2026-10-31",              # 3 postcode
        "10000021;C. de Wit;GM9999;2611AB;1990-05-01;PW;actief;2026-10-31",               # 4 gemeente (8-digit bsn ok)
        '123456789;D. Smit;GM0503;2611AB;1990-05-01;=HYPERLINK("http://evil.example");actief;2026-10-31',  # 5
        "1000 000 34;E. Visser;GM0503;2611AB;2099-01-01;PW;actief;46326",                 # 6 bsn, birth, serial
        "100000046;F. Mulder;GM0503;2611AB;1990-05-01;100000046;actief;2026-10-31",       # 7 bsn as a code
        "100000058;G. Bos;GM0503;2611AB;1990-05-01;PW;actief;2026-10-31",                 # 8 duplicate
        "100000058;G. Bos;GM0518;2611AB;1990-05-01;IOAW;actief;2026-10-31",               # 9 duplicate
        HEADER,                                                                           # 10 header again
    ])


def test_problems_exit_1_and_html_lists_each_problem_without_bsn(tmp_path, partners, capsys):
    html_path = tmp_path / "out" / "report.html"
    code = selfcheck.main([str(bad_file(tmp_path)), "--partner", "corpus_gemeente", "--html", str(html_path)])
    out = capsys.readouterr().out
    page = html_path.read_text(encoding="utf-8")
    assert code == 1
    assert "ontvangen:            9 rijen" in out and "zou laden:            1" in out
    assert "zou in quarantaine:   8" in out and "meest voorkomende problemen:" in out
    assert "oordeel: geaccepteerd, maar" in out
    # No BSN anywhere: not in the page, not on the terminal (also not the 9-digit form of the 8-digit one).
    for text in (page, out):
        for bsn in BSNS + ["010000021", "100000034"]:
            assert bsn not in text, bsn
        assert not re.search(r"\b\d{8,9}\b", text)
    # Each problem with row, column, masked or neutralised value and a hint.
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>",
                      page)
    by_row: dict[int, list[tuple]] = {}
    for row, col, value, reason, hint in rows:
        by_row.setdefault(int(row), []).append((col, value, reason, hint))
    assert set(by_row) == {3, 4, 5, 6, 7, 8, 9, 10}
    assert ("postcode", "(masked)") in [(c, v) for c, v, _, _ in by_row[3]]
    assert any("GM9999" in v and "region AM21" in r and "CBS-gemeentecode" in h for _, v, r, h in by_row[4])
    assert any(c == "regeling" and v.startswith("&#x27;=HYPERLINK") and "values.regeling in "
               "partners/corpus_gemeente.yml" in h for c, v, _, h in by_row[5])
    assert any("Excel-dagnummer" in h and "jjjj-mm-dd" in h for _, _, _, h in by_row[6])
    assert any("in the future" in r for _, _, r, _ in by_row[6])
    assert any("8 of 9 cijfers" in h for _, _, _, h in by_row[6])
    assert all("duplicate key" in r for _, _, r, _ in by_row[8][:1])
    assert any("herhaalde kopregel" in h for _, _, _, h in by_row[10])
    # Formula-like values only ever appear neutralised (escaped, with a leading quote).
    assert "=HYPERLINK" not in page.replace("&#x27;=HYPERLINK", "").replace("&#x27;&#x27;=HYPERLINK", "")
    assert "<script" not in page


def test_rejected_file_exits_2(tmp_path, partners, capsys):
    html_path = tmp_path / "report.html"
    code = selfcheck.main([str(CORPUS / "files" / "wrong_delimiter.csv"), "--partner", "corpus_gemeente",
                           "--html", str(html_path)])
    out = capsys.readouterr().out
    assert code == 2
    assert "AFGEWEZEN" in out and "delimited by ','" in out and "zo lost u het op:" in out
    page = html_path.read_text(encoding="utf-8")
    assert "in haar geheel worden geweigerd" in page and "Zo lost u het op" in page


def test_unknown_partner_or_dataset_exits_2(tmp_path, partners, capsys):
    assert selfcheck.main([str(CORPUS / "files" / "ok.csv"), "--partner", "nobody"]) == 2
    assert selfcheck.main([str(CORPUS / "files" / "ok.csv"), "--partner", "corpus_uwv"]) == 2  # two datasets
    assert "choose one with --dataset" in capsys.readouterr().err


FILE_CASES = [c for c in CASES if c["connector"] == "file" and isinstance(c["input"], str)
              and not c.get("overrides") and c.get("check") != "pipeline_only"]


@pytest.mark.parametrize("case", FILE_CASES, ids=[c["id"] for c in FILE_CASES])
def test_same_verdict_as_the_pipeline(case, partners):
    """The self-check agrees with the corpus outcomes the real pipeline stages produce (tests/test_corpus.py)."""
    partner = load_partner(partners / f"{case['partner']}.yml")
    result = selfcheck.check_file(CORPUS / "files" / case["input"], partner)
    expected = case["expected"]
    if "rejected" in expected:
        assert result.exit_code == 2 and expected["rejected"] in result.rejected
        return
    assert (result.received, result.would_load, result.would_quarantine) == (
        expected["received"], expected["loaded"], len(expected["quarantined"]))
    assert {p.row for p in result.problems} == {int(k) for k in expected["quarantined"]}
    assert result.exit_code == (0 if not expected["quarantined"] else 2 if not expected["loaded"] else 1)


def test_malformed_file_is_one_line_exit_2_and_traceback_only_with_debug(tmp_path, partners, capsys,
                                                                          monkeypatch):
    """A file on which the reader crashes unexpectedly is a rejection, not a crash. Every malformed file we know
    of is rejected cleanly (a broken XLSX, JSON nested too deep), so the crash is provoked: the CSV reader
    raises an exception no stage expects, as a bug in it or in a library under it would."""
    from regiowerk.connectors import file as file_connector

    class ReaderBug(RuntimeError):
        pass

    def crashing_reader(*args, **kwargs):
        raise ReaderBug("the reader fell over")

    monkeypatch.setattr(file_connector, "_read_csv", crashing_reader)
    path = write(tmp_path, "clienten_kapot.csv", [HEADER, "100000010;A. Jansen;GM0503;2611AB;1990-05-01;PW;actief;"
                                                          "2026-10-31"])
    assert selfcheck.main([str(path), "--partner", "corpus_gemeente"]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    reasons = [line for line in out.splitlines() if line.startswith("reden: ")]
    assert len(reasons) == 1 and reasons[0].count("ReaderBug") == 1, out
    assert selfcheck.main([str(path), "--partner", "corpus_gemeente", "--debug"]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" in err and "ReaderBug" in err and "crashing_reader" in err


def test_xlsx_and_rest_files(tmp_path, partners):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Clienten"
    ws.append(HEADER.split(";"))
    ws.append(["100000010", "A", "GM0503", "2611AB", "1990-05-01", "PW", "actief", 46326])
    ws.append(["100000022", "B", "GM0503", "2611AB", "1990-05-01", "PW", "actief", "2026-10-31"])
    wb.save(tmp_path / "clienten.xlsx")
    result = selfcheck.check_file(tmp_path / "clienten.xlsx", load_partner(partners / "corpus_gemeente_xlsx.yml"))
    assert result.exit_code == 1 and any("Excel serial" in p.reason for p in result.problems)

    records = json.loads((CORPUS / "rest" / "rest_bsn_letters_duplicates.json").read_text())["/werkzoekenden"]
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"results": records}))
    uwv = load_partner(partners / "corpus_uwv.yml")
    result = selfcheck.check_file(page, uwv, "werkzoekenden")
    assert (result.received, result.would_load, result.would_quarantine) == (6, 3, 3)
    html_text = selfcheck.render_html(result, uwv)
    for r in records:
        assert str(r["bsn"]).strip() not in html_text


def test_add_parser_registers_check(tmp_path, partners, capsys):
    parser = argparse.ArgumentParser(prog="regiowerk")
    sub = parser.add_subparsers(dest="command", required=True)
    selfcheck.add_parser(sub)
    args = parser.parse_args(["check", str(CORPUS / "files" / "unmapped_code.csv"), "--partner", "corpus_gemeente",
                              "--dataset", "werkzoekenden"])
    assert args.func(args) == 1
    assert "local code 'XX' has no mapping" in capsys.readouterr().out
