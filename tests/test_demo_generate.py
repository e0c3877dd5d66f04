"""The demo generator: deterministic, readable as the partner files declare, overlapping persons, and the
injected defects exactly as declared in ``DemoSources.expected`` (so the pipeline's quarantine can be
reconciled against it)."""

from __future__ import annotations

import csv
import hashlib
import io
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from regiowerk import canonical, reference
from regiowerk.demo.generate import (
    DEFECT_KINDS,
    POSTCODES,
    WERKFIT_STATUSES,
    DemoSources,
    elfproef,
    generate_demo,
    normalise_bsn,
)
from regiowerk.registry import DatasetMapping, FileConnector, Partner, load_registry
from regiowerk.settings import paths

PEIL = date(2026, 11, 1)


@pytest.fixture(scope="module")
def registry() -> dict[str, Partner]:
    return load_registry(paths().root / "partners")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSources:
    out = tmp_path_factory.mktemp("demo")
    return generate_demo(out / "drop", out / "sis" / "mondriaan.sqlite", peildatum=PEIL, seed=21)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sqlite_dump(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------- reading back
def _read_csv(path: Path, conn: FileConnector) -> list[dict[str, str]]:
    text = path.read_bytes().decode(conn.encoding)
    text = text.removeprefix("\ufeff")  # a BOM is not part of the first column name
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=conn.delimiter, quotechar=conn.quotechar))


def _read_xlsx(path: Path, conn: FileConnector) -> list[dict[str, Any]]:
    wb = load_workbook(path, read_only=True, data_only=True)
    ws = wb[conn.sheet] if conn.sheet else wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    header = [str(h) for h in rows[0]]
    out = []
    for r in rows[1:]:
        rec = {}
        for k, v in zip(header, r, strict=False):  # what the connector hands on: ISO strings for date cells
            rec[k] = v.date().isoformat() if isinstance(v, datetime) else v
        out.append(rec)
    return out


def _read_table(path: Path, table: str) -> list[dict[str, Any]]:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(f"SELECT * FROM {table} ORDER BY rowid")]  # noqa: S608 (fixed name)
    finally:
        con.close()


@dataclass
class Source:
    partner_id: str
    dataset: str
    rows: list[dict[str, Any]]
    mapping: DatasetMapping


def _sources(demo: DemoSources, registry: dict[str, Partner]) -> list[Source]:
    dh, delft, wl = registry["gemeente_den_haag"], registry["gemeente_delft"], registry["gemeente_westland"]
    uwv, mbo = registry["uwv_haaglanden"], registry["mbo_roc_mondriaan"]
    assert isinstance(dh.connector, FileConnector)
    assert isinstance(delft.connector, FileConnector)
    assert isinstance(wl.connector, FileConnector)
    return [
        Source(dh.partner_id, "werkzoekenden", _read_csv(demo.den_haag_csv, dh.connector),
               dh.datasets["werkzoekenden"]),
        Source(dh.partner_id, "plaatsingen", _read_csv(demo.den_haag_plaatsingen_csv, dh.connector),
               dh.datasets["plaatsingen"]),
        Source(delft.partner_id, "werkzoekenden", _read_xlsx(demo.delft_xlsx, delft.connector),
               delft.datasets["werkzoekenden"]),
        Source(wl.partner_id, "werkzoekenden", _read_csv(demo.westland_csv, wl.connector),
               wl.datasets["werkzoekenden"]),
        Source(uwv.partner_id, "werkzoekenden", demo.uwv_records["/werkzoekenden"], uwv.datasets["werkzoekenden"]),
        Source(uwv.partner_id, "vacatures", demo.uwv_records["/vacatures"], uwv.datasets["vacatures"]),
        Source(uwv.partner_id, "plaatsingen", demo.uwv_records["/plaatsingen"], uwv.datasets["plaatsingen"]),
        Source(mbo.partner_id, "mbo_inschrijvingen", _read_table(demo.sis_db, "deelnemers"),
               mbo.datasets["mbo_inschrijvingen"]),
        Source(mbo.partner_id, "mbo_diplomas", _read_table(demo.sis_db, "diplomas"), mbo.datasets["mbo_diplomas"]),
    ]


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _as_list(v: Any, sep: str) -> list[str]:
    if _blank(v):
        return []
    if isinstance(v, list):
        return [str(x) for x in v]
    return [x.strip() for x in str(v).split(sep) if x.strip()]


def _bsns(src: Source) -> set[str]:
    col = src.mapping.columns.get("bsn")
    if col is None:
        return set()
    return {b for r in src.rows if (b := normalise_bsn(r[col]))}


# ---------------------------------------------------------------------------------------------- determinism
def test_same_seed_gives_identical_files(tmp_path: Path, demo: DemoSources) -> None:
    again = generate_demo(tmp_path / "drop", tmp_path / "sis.sqlite", peildatum=PEIL, seed=21)
    for a, b in ((demo.den_haag_csv, again.den_haag_csv), (demo.delft_xlsx, again.delft_xlsx),
                 (demo.den_haag_plaatsingen_csv, again.den_haag_plaatsingen_csv),
                 (demo.westland_csv, again.westland_csv), (demo.sis_db, again.sis_db)):
        assert _sha(a) == _sha(b), a.name
    assert again.uwv_records == demo.uwv_records
    strip = {"source"}

    def no_paths(e: Any) -> Any:
        if isinstance(e, dict):
            return {k: no_paths(v) for k, v in e.items() if k not in strip}
        return e

    assert no_paths(again.expected) == no_paths(demo.expected)


def test_other_seed_gives_other_data(tmp_path: Path, demo: DemoSources) -> None:
    other = generate_demo(tmp_path / "drop", tmp_path / "sis.sqlite", peildatum=PEIL, seed=22)
    assert _sha(other.den_haag_csv) != _sha(demo.den_haag_csv)
    assert _sqlite_dump(other.sis_db) != _sqlite_dump(demo.sis_db)


def test_regenerating_in_place_overwrites(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "drop", tmp_path / "sis.sqlite", n_per_gemeente=20)
    second = generate_demo(tmp_path / "drop", tmp_path / "sis.sqlite", n_per_gemeente=20)
    assert _sqlite_dump(first.sis_db) == _sqlite_dump(second.sis_db)
    assert len(_read_table(second.sis_db, "deelnemers")) == second.expected["mbo_roc_mondriaan"][
        "mbo_inschrijvingen"]["rows"]


# ---------------------------------------------------------------------------------------------- files and layout
def test_file_names_and_places(demo: DemoSources) -> None:
    assert demo.den_haag_csv == demo.drop_dir / "gemeente_den_haag" / "clienten_2026-11-01.csv"
    assert demo.delft_xlsx == demo.drop_dir / "gemeente_delft" / "zrm_export_2026-11.xlsx"
    assert demo.westland_csv == demo.drop_dir / "gemeente_westland" / "werkzoekenden_20261101.csv"
    assert set(demo.files) == {"gemeente_den_haag", "gemeente_delft", "gemeente_westland"}
    assert demo.den_haag_plaatsingen_csv == demo.drop_dir / "gemeente_den_haag" / "plaatsingen_2026-11-01.csv"
    assert set(demo.uwv_records) == {"/werkzoekenden", "/vacatures", "/plaatsingen"}


def test_source_globs_match_the_files(demo: DemoSources, registry: dict[str, Partner]) -> None:
    for pid, path in demo.files.items():
        p = registry[pid]
        folder = demo.drop_dir / p.delivery_folder()
        assert list(folder.glob(p.datasets["werkzoekenden"].source)) == [path]
    dh = registry["gemeente_den_haag"]
    assert list((demo.drop_dir / dh.delivery_folder()).glob(dh.datasets["plaatsingen"].source)) == [
        demo.den_haag_plaatsingen_csv]


def test_encodings_as_declared(demo: DemoSources) -> None:
    raw = demo.den_haag_csv.read_bytes()
    text = raw.decode("cp1252")
    assert "Beëindigd" in text
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really cp1252, not UTF-8
    assert text.splitlines()[0].count(";") > 10
    assert b"\r\n" in raw

    wl = demo.westland_csv.read_bytes()
    assert wl.startswith(b"\xef\xbb\xbf")
    assert wl.decode("utf-8").lstrip("\ufeff").startswith("bsn,")

    wb = load_workbook(demo.delft_xlsx, read_only=True)
    assert wb.sheetnames[0] == "ZRM"
    wb.close()
    con = sqlite3.connect(demo.sis_db)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    con.close()
    assert {"deelnemers", "diplomas"} <= tables


def test_every_mapped_partner_column_exists(demo: DemoSources, registry: dict[str, Partner]) -> None:
    for src in _sources(demo, registry):
        present = set(src.rows[0])
        missing = set(src.mapping.columns.values()) - present
        assert not missing, f"{src.partner_id}/{src.dataset}: {missing}"


def test_exports_carry_names_that_are_never_mapped(demo: DemoSources, registry: dict[str, Partner]) -> None:
    srcs = {(s.partner_id, s.dataset): s for s in _sources(demo, registry)}
    for key, cols in {("gemeente_den_haag", "werkzoekenden"): ("Voornaam", "Achternaam", "Straat"),
                      ("gemeente_delft", "werkzoekenden"): ("achternaam", "adres"),
                      ("gemeente_westland", "werkzoekenden"): ("naam", "adres"),
                      ("mbo_roc_mondriaan", "mbo_inschrijvingen"): ("ROEPNAAM", "ACHTERNAAM")}.items():
        src = srcs[key]
        for c in cols:
            assert all(not _blank(r[c]) for r in src.rows), (key, c)
            assert c not in src.mapping.columns.values(), (key, c)


def test_uwv_records_carry_updated_at_and_json_lists(demo: DemoSources) -> None:
    for endpoint, records in demo.uwv_records.items():
        for r in records:
            ts = datetime.fromisoformat(r["updated_at"])
            assert ts.tzinfo is not None and ts.date() <= PEIL, endpoint
    wz = demo.uwv_records["/werkzoekenden"]
    assert all(isinstance(r["rijbewijzen"], list) and isinstance(r["beroepswensen"], list) for r in wz)
    assert {r["uitkering"] for r in wz} >= {"WW", "WAJONG", "WIA"}


def test_vacancies(demo: DemoSources) -> None:
    e = demo.expected["uwv_haaglanden"]["vacatures"]
    vac = demo.uwv_records["/vacatures"]
    assert 80 <= len(vac) == e["rows"] <= 90
    am21 = {g.code for g in reference.gemeenten_in("AM21")}
    defects = {d["row"] for d in e["defect_rows"]}
    for i, v in enumerate(vac, start=1):
        if i in defects:
            continue
        assert len(v["iscoCode"]) == 4 and v["iscoCode"].isdigit()
        assert v["sector"] in canonical.CODE_LISTS["sector"]
        assert v["werklocatieGemeentecode"] in am21
        assert len(v["kvkNummer"]) == 8
    assert len({v["sector"] for v in vac}) >= 8


def test_postcodes_belong_to_the_gemeente(demo: DemoSources, registry: dict[str, Partner]) -> None:
    for src in _sources(demo, registry):
        if "postcode" not in src.mapping.columns:
            continue
        pc_col, gm_col = src.mapping.columns["postcode"], src.mapping.columns["gemeente_code"]
        for r in src.rows:
            if r[gm_col] in POSTCODES:
                assert int(str(r[pc_col])[:4]) in POSTCODES[r[gm_col]], (src.partner_id, r[pc_col])


# ---------------------------------------------------------------------------------------------- persons
def test_bsn_counts_as_declared(demo: DemoSources, registry: dict[str, Partner]) -> None:
    for src in _sources(demo, registry):
        if "bsn" not in src.mapping.columns:
            continue
        e = demo.expected[src.partner_id][src.dataset]
        col = src.mapping.columns["bsn"]
        values = [str(r[col]) for r in src.rows]
        valid = [v for v in values if elfproef(v)]
        assert len(valid) == e["bsn"]["valid"], src.partner_id
        assert len(values) - len(valid) == e["bsn"]["invalid"] == e["defects"]["invalid_bsn"] == 1
        assert sum(len(v) == 8 for v in valid) == e["bsn"]["eight_digit"]
        assert len({normalise_bsn(v) for v in valid}) == e["bsn"]["distinct_valid"]
    eight = {pid: demo.expected[pid]["werkzoekenden"]["bsn"]["eight_digit"]
             for pid in ("gemeente_den_haag", "gemeente_delft", "gemeente_westland")}
    assert all(n >= 1 for n in eight.values()), eight


def test_elfproef() -> None:
    assert elfproef("111222333")
    assert elfproef("123456782")
    assert not elfproef("123456789")
    assert not elfproef("000000000")
    assert not elfproef("12345678a")
    assert not elfproef("1234567")
    # an 8-digit BSN is the 9-digit one without its leading zero
    assert elfproef("012345672") and elfproef("12345672")
    assert normalise_bsn("12345672") == "012345672"
    assert normalise_bsn(12345672) == "012345672"


def test_persons_overlap_across_sources(demo: DemoSources, registry: dict[str, Partner]) -> None:
    s = {(x.partner_id, x.dataset): _bsns(x) for x in _sources(demo, registry)}
    dh, delft, wl = (s[(p, "werkzoekenden")] for p in ("gemeente_den_haag", "gemeente_delft", "gemeente_westland"))
    uwv = s[("uwv_haaglanden", "werkzoekenden")]
    mbo = s[("mbo_roc_mondriaan", "mbo_inschrijvingen")] | s[("mbo_roc_mondriaan", "mbo_diplomas")]
    ww = {normalise_bsn(r["bsn"]) for r in demo.uwv_records["/werkzoekenden"] if r["uitkering"] == "WW"}

    assert dh & uwv
    assert delft & mbo and wl & mbo
    assert ww & s[("mbo_roc_mondriaan", "mbo_diplomas")]
    assert dh & uwv & mbo, "someone known to a gemeente, UWV and the school"

    ov = demo.expected["overlap"]
    # the declared overlap counts persons with clean rows; the data may add the same person in a defect row
    assert len(dh & uwv) >= ov["gemeente_den_haag&uwv_haaglanden"] >= 3
    assert len(delft & mbo) >= ov["gemeente_delft&mbo_roc_mondriaan"] >= 2
    assert len(wl & mbo) >= ov["gemeente_westland&mbo_roc_mondriaan"] >= 2
    assert ov["gemeente&uwv&mbo"] >= 1


def test_eight_digit_at_gemeente_is_nine_digit_at_uwv(demo: DemoSources, registry: dict[str, Partner]) -> None:
    """The same person, BSN with a leading zero: 8 digits in the gemeente export, 9 digits from UWV."""
    dh = _sources(demo, registry)[0]
    eight = {normalise_bsn(r["BSN"]) for r in dh.rows if len(r["BSN"]) == 8 and elfproef(r["BSN"])}
    uwv_nine = {r["bsn"] for r in demo.uwv_records["/werkzoekenden"] if len(str(r["bsn"])) == 9}
    assert eight & uwv_nine


# ---------------------------------------------------------------------------------------------- defects
def _found_defects(src: Source) -> dict[str, int]:
    """Detect each defect kind independently from the data, the way the partner file declares it."""
    ds = canonical.dataset(src.dataset)
    m = src.mapping
    gemeenten = reference.gemeenten()
    found = {k: 0 for k in DEFECT_KINDS}
    seen: set[tuple] = set()
    for r in src.rows:
        key = tuple(sorted((k, str(v)) for k, v in r.items()))
        if key in seen:
            found["duplicate_row"] += 1
        seen.add(key)
        if "bsn" in m.columns and not elfproef(r[m.columns["bsn"]]):
            found["invalid_bsn"] += 1
        gm = r.get(m.columns.get("gemeente_code", ""), None)
        if not _blank(gm) and gm not in gemeenten:
            found["unknown_gemeente"] += 1
        for col in ds.columns:
            if col.required and col.name in m.columns and _blank(r[m.columns[col.name]]):
                found["missing_required"] += 1
        for col in ds.columns:
            if col.type == "date" and col.name in m.columns and not _blank(v := r[m.columns[col.name]]):
                try:
                    datetime.strptime(str(v), m.date_format)
                except ValueError:
                    found["impossible_date"] += 1
        for canon_col, table in m.values.items():
            v = r[m.columns[canon_col]]
            codes = _as_list(v, m.list_separator) if ds.column(canon_col).type == "list" else (
                [] if _blank(v) else [str(v)])
            if any(c not in table for c in codes):
                found["unmapped_code"] += 1
    return found


def test_sis_rows_are_stored_in_watermark_order(demo: DemoSources) -> None:
    """The SQL connector reads ORDER BY GEWIJZIGD_OP; rowid order is that order, so row numbers agree."""
    for table in ("deelnemers", "diplomas"):
        stamps = [r["GEWIJZIGD_OP"] for r in _read_table(demo.sis_db, table)]
        assert stamps == sorted(stamps)


def test_every_defect_kind_is_present_and_reconciles(demo: DemoSources, registry: dict[str, Partner]) -> None:
    for src in _sources(demo, registry):
        e = demo.expected[src.partner_id][src.dataset]
        assert e["rows"] == len(src.rows)
        assert e["clean_rows"] == e["rows"] - sum(e["defects"].values())
        assert _found_defects(src) == e["defects"], f"{src.partner_id}/{src.dataset}"
        assert [d["kind"] for d in e["defect_rows"]].count("duplicate_row") == e["defects"]["duplicate_row"]
        applicable = set(DEFECT_KINDS)
        if src.dataset == "vacatures":
            applicable.discard("invalid_bsn")
        if src.dataset in ("mbo_diplomas", "plaatsingen"):
            applicable.discard("unknown_gemeente")
        for kind in applicable:
            assert e["defects"][kind] >= 1, f"{src.partner_id}/{src.dataset}: no {kind}"


def test_defect_rows_point_at_the_defect(demo: DemoSources, registry: dict[str, Partner]) -> None:
    for src in _sources(demo, registry):
        is_file = isinstance(registry[src.partner_id].connector, FileConnector)
        for d in demo.expected[src.partner_id][src.dataset]["defect_rows"]:
            assert d["bron_rij"] == d["row"] + (1 if is_file else 0)  # spreadsheet numbering: header = row 1
            row = src.rows[d["row"] - 1]
            if d["kind"] == "duplicate_row":
                assert row == src.rows[d["duplicate_of"] - 1]
            else:
                got = row[d["column"]]
                want = d["value"]
                assert (str(got) if got is not None else None) == (str(want) if want is not None else None) or (
                    _blank(got) and _blank(want)), (src.partner_id, d)


def test_werkfit_outcome_covers_all_statuses(demo: DemoSources) -> None:
    total = {s: 0 for s in WERKFIT_STATUSES}
    for pid in ("gemeente_den_haag", "gemeente_delft", "gemeente_westland", "uwv_haaglanden"):
        for status, n in demo.expected[pid]["werkzoekenden"]["werkfit_intended_actief"].items():
            total[status] += n
    assert all(n >= 3 for n in total.values()), total
    # each gemeente on its own, too
    for pid in ("gemeente_den_haag", "gemeente_delft", "gemeente_westland"):
        hint = demo.expected[pid]["werkzoekenden"]["werkfit_intended_actief"]
        assert all(n >= 1 for n in hint.values()), (pid, hint)


def test_instrument_values_fit_their_scales(demo: DemoSources, registry: dict[str, Partner]) -> None:
    srcs = {(s.partner_id, s.dataset): s for s in _sources(demo, registry)}
    dh = srcs[("gemeente_den_haag", "werkzoekenden")]
    assert {r["Trede"] for r in dh.rows} <= {"", "1", "2", "3", "4", "5", "6"}
    assert any("," in r["Uren per week"] for r in dh.rows), "decimal comma"
    assert any(";" in r["Rijbewijs"] for r in dh.rows), "list separator inside a ;-delimited file"
    delft = srcs[("gemeente_delft", "werkzoekenden")]
    scores = {r["zrm_werk_en_opleiding"] for r in delft.rows}
    assert scores <= {None, 1, 2, 3, 4, 5} and {1, 5} <= scores
    assert {r["zrm_versie"] for r in delft.rows} <= {None, "2017"}
    wl = srcs[("gemeente_westland", "werkzoekenden")]
    assert {r["Werkfit"] for r in wl.rows} == {"J", "N", ""}
    bands = {r["werkverkennerBand"] for r in demo.uwv_records["/werkzoekenden"]}
    assert bands == {None, 1, 2, 3, 4}


def test_placements_make_duurzaam_and_terug_meaningful(demo: DemoSources, registry: dict[str, Partner]) -> None:
    """Placements of known job seekers: some judgeable at 26 weeks and lasting, some ended early, some too recent,
    and some persons back on a benefit that started after the placement."""
    srcs = {(s.partner_id, s.dataset): s for s in _sources(demo, registry)}
    dh_pl = srcs[("gemeente_den_haag", "plaatsingen")]
    uwv_pl = srcs[("uwv_haaglanden", "plaatsingen")]
    assert _bsns(dh_pl) & _bsns(srcs[("gemeente_den_haag", "werkzoekenden")])
    assert _bsns(uwv_pl) & _bsns(srcs[("uwv_haaglanden", "werkzoekenden")])
    start_of_benefit = {normalise_bsn(r["BSN"]): datetime.strptime(r["Ingangsdatum uitkering"], "%d-%m-%Y").date()
                        for r in srcs[("gemeente_den_haag", "werkzoekenden")].rows
                        if elfproef(r["BSN"]) and r["Ingangsdatum uitkering"][:2] != "31"}
    kinds = {"lasting": 0, "ended_early": 0, "too_recent": 0, "back_on_benefit": 0}
    for r in dh_pl.rows:
        try:
            start = datetime.strptime(r["Datum aanvang"], "%d-%m-%Y").date()
        except ValueError:
            continue  # the impossible date
        end = datetime.strptime(r["Datum einde"], "%d-%m-%Y").date() if r["Datum einde"] else None
        if (PEIL - start).days < 26 * 7:
            kinds["too_recent"] += 1
        elif end is None or (end - start).days >= 26 * 7:
            kinds["lasting"] += 1
        else:
            kinds["ended_early"] += 1
        if start_of_benefit.get(normalise_bsn(r["BSN"]), start) > start:
            kinds["back_on_benefit"] += 1
    assert all(n >= 2 for n in kinds.values()), kinds
    assert any(r["vacatureId"] for r in uwv_pl.rows), "some UWV placements name the vacancy"
