"""Validation of canonical frames: generated GX suites, business suites, run-time and Python row rules.

GX is imported once per test session (the context is cached in regiowerk.validation); every test builds a
small typed frame by hand, as the pipeline hands it over after pseudonymisation and mapping.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from regiowerk import canonical
from regiowerk.expectations_gen import build_suite_dict, check_suites_current, render, write_suites
from regiowerk.settings import paths
from regiowerk.validation import ROW_RULES, ValidationResult, build_data_docs, format_value, validate

TODAY = dt.date(2026, 6, 1)
PEILDATUM = dt.date(2026, 5, 1)

_SAMPLES = {
    "gemeente_code": "GM0363",
    "postcode4": "1011",
    "kvk_nummer": "12345678",
    "isco_code": "2512",
    "beroepswensen": "2512,4110",
    "brin": "25AB",
    "crebo": "25180",
    "peildatum": PEILDATUM,
}


def _valid_value(col: canonical.Column, i: int):
    if col.name == "persoon_id":
        return f"{i + 1:064x}"
    if col.name == "vacature_id":
        return f"V{i + 1}"
    if col.name in _SAMPLES:
        return _SAMPLES[col.name]
    if col.code_list:
        return canonical.CODE_LISTS[col.code_list][0]
    if col.type in ("integer", "number"):
        return col.min_value if col.min_value is not None else 1
    if col.type == "date":
        return dt.date(2024, 1, 1)
    if col.type == "boolean":
        return True
    return "x"


_DTYPES = {"integer": "Int64", "number": "Float64", "boolean": "boolean"}


def make_frame(dataset: str, n: int = 3, *, datetime64: bool = False, **overrides) -> pd.DataFrame:
    """A valid typed frame of ``n`` rows; ``overrides`` maps column -> list of n values (typed on the way)."""
    ds = canonical.dataset(dataset)
    data = {}
    for col in ds.stored_columns:
        values = overrides.get(col.name, [_valid_value(col, i) for i in range(n)])
        if col.type in _DTYPES:
            data[col.name] = pd.array(values, dtype=_DTYPES[col.type])
        elif col.type == "date":
            series = pd.Series(values, dtype=object)
            data[col.name] = pd.to_datetime(series) if datetime64 else series
        else:
            data[col.name] = pd.Series(values, dtype=object)
    data["bron_rij"] = np.arange(2, n + 2)
    return pd.DataFrame(data)


def run(frame: pd.DataFrame, dataset: str = "werkzoekenden", **kwargs) -> ValidationResult:
    kwargs.setdefault("today", TODAY)
    return validate(frame, dataset, **kwargs)


def all_reasons(result: ValidationResult) -> list[str]:
    return [t for texts in result.reasons.values() for t in texts]


# ---------------------------------------------------------------------------------------------- valid frames


@pytest.mark.parametrize("dataset", sorted(canonical.DATASETS))
@pytest.mark.parametrize("datetime64", [False, True])
def test_valid_frame_has_no_reasons(dataset, datetime64):
    result = run(make_frame(dataset, 4, datetime64=datetime64), dataset, allowed_gemeenten={"GM0363"})
    assert result.reasons == {}
    assert (result.n_rows, result.n_failed_rows) == (4, 0)
    assert result.expectation_results and all(r["success"] for r in result.expectation_results)
    assert {"expectation_type", "column", "success", "unexpected_count"} <= set(result.expectation_results[0])


def test_pandas_string_dtype_and_empty_frame():
    frame = make_frame("werkzoekenden", 2)
    for col in ("regeling", "status", "gemeente_code", "persoon_id"):
        frame[col] = frame[col].astype("string")
    frame.loc[1, "regeling"] = "bijstand"
    assert run(frame).reasons == {1: ["regeling: 'bijstand' not in code list regeling"]}
    empty = run(make_frame("werkzoekenden", 0))
    assert (empty.n_rows, empty.reasons) == (0, {})


# ---------------------------------------------------------------------------------------------- critical suite


def test_missing_required():
    frame = make_frame("werkzoekenden", 3, persoon_id=[f"{1:064x}", None, f"{3:064x}"])
    frame.loc[2, "peildatum"] = None
    result = run(frame)
    assert result.reasons == {1: ["persoon_id: missing (required)"], 2: ["peildatum: missing (required)"]}
    assert result.n_failed_rows == 2


def test_code_list_violation():
    result = run(make_frame("werkzoekenden", 2, regeling=["ww", "bijstand"]))
    assert result.reasons == {1: ["regeling: 'bijstand' not in code list regeling"]}


def test_out_of_range():
    frame = make_frame("werkzoekenden", 3, uren_beschikbaar_per_week=[40.0, 45.5, None],
                       opleidingsniveau=[0, 7, 9])
    assert run(frame).reasons == {
        1: ["uren_beschikbaar_per_week: '45.5' outside 0..40"],
        2: ["opleidingsniveau: '9' outside 0..7"],
    }


def test_bad_pattern_on_personal_column_is_masked():
    result = run(make_frame("werkzoekenden", 2, postcode4=["1011", "ABCD"]))
    assert result.reasons == {1: ["postcode4: value does not match pattern ^[1-9][0-9]{3}$"]}


def test_bad_pattern_on_business_column_shows_value():
    result = run(make_frame("vacatures", 2, kvk_nummer=["12345678", "1234"]), "vacatures")
    assert result.reasons == {1: ["kvk_nummer: '1234' does not match pattern ^[0-9]{8}$"]}


def test_list_column_with_unknown_code():
    frame = make_frame("werkzoekenden", 4, rijbewijzen=["B,BE", "B,XX", None, "AM"],
                       beroepswensen=["2512", "2512,4110", "25", None])
    assert run(frame).reasons == {
        1: ["rijbewijzen: 'B,XX' has a code not in code list rijbewijs"],
        2: ["beroepswensen: '25' has an element not matching ^[0-9]{4}$"],
    }


def test_duplicate_key_flags_every_row():
    same = f"{7:064x}"
    frame = make_frame("werkzoekenden", 4, persoon_id=[same, f"{2:064x}", same, None])
    result = run(frame)
    assert result.reasons == {
        0: ["duplicate key persoon_id within this delivery"],
        2: ["duplicate key persoon_id within this delivery"],
        3: ["persoon_id: missing (required)"],
    }


@pytest.mark.parametrize("datetime64", [False, True])
def test_duplicate_compound_key_flags_every_row(datetime64):
    pid = f"{1:064x}"
    frame = make_frame(
        "mbo_inschrijvingen", 4, datetime64=datetime64,
        persoon_id=[pid, pid, pid, f"{2:064x}"],
        startdatum=[dt.date(2024, 8, 1), dt.date(2024, 8, 1), dt.date(2025, 8, 1), dt.date(2024, 8, 1)],
        verwachte_einddatum=[None] * 4,
    )
    result = run(frame, "mbo_inschrijvingen")
    reason = "duplicate key persoon_id, crebo, startdatum within this delivery"
    assert result.reasons == {0: [reason], 1: [reason]}


# ---------------------------------------------------------------------------------------------- run time / masking


def test_gemeente_outside_region():
    frame = make_frame("werkzoekenden", 3, gemeente_code=["GM0363", "GM9999", "GM0384"])
    result = run(frame, allowed_gemeenten={"GM0363", "GM0384"}, regio_code="AM21")
    assert result.reasons == {1: ["gemeente_code: 'GM9999' is not a gemeente of region AM21"]}
    assert [r["source"] for r in result.expectation_results].count("runtime") == 1
    # without a region name the reason stays generic; without allowed_gemeenten there is no check
    assert run(frame, allowed_gemeenten={"GM0363"}).reasons[2] == [
        "gemeente_code: 'GM0384' is not a gemeente of this region"]
    assert run(frame).reasons == {}


def test_personal_values_are_masked():
    frame = make_frame("werkzoekenden", 3, persoon_id=[f"{1:064x}", "NOT-A-HASH-123", f"{3:064x}"],
                       geboortejaar=[1980, 1990, 1850])
    result = run(frame)
    assert result.reasons == {
        1: ["persoon_id: value does not match pattern ^[0-9a-f]{64}$"],
        2: ["geboortejaar: value outside 1900..2100"],
    }
    assert not any("NOT-A-HASH" in t or "1850" in t for t in all_reasons(result))


def test_formula_values_are_neutralised_and_truncated():
    formula = '=HYPERLINK("http://evil.example","klik")'
    long_value = "a" * 80
    frame = make_frame("werkzoekenden", 3, regeling=[formula, "-1+2", long_value])
    assert run(frame).reasons == {
        0: [f"regeling: ''{formula}' not in code list regeling"],
        1: ["regeling: ''-1+2' not in code list regeling"],
        2: [f"regeling: '{'a' * 49}…' not in code list regeling"],
    }
    assert format_value("@SUM(A1)") == "''@SUM(A1)'"
    assert format_value("line\nbreak") == "'line break'"


def test_positions_and_bron_rij_map_back_with_a_foreign_index():
    frame = make_frame("werkzoekenden", 3, regeling=["ww", "bijstand", "ww"])
    frame.index = [100, 7, 42]
    result = run(frame)
    assert result.reasons == {1: ["regeling: 'bijstand' not in code list regeling"]}
    assert result.reasons_by_bron_rij == {3: ["regeling: 'bijstand' not in code list regeling"]}


def test_all_reasons_of_a_row_are_collected():
    frame = make_frame("werkzoekenden", 1, regeling=["bijstand"], status=[None], postcode4=["0000"])
    assert run(frame).reasons == {0: [
        "postcode4: value does not match pattern ^[1-9][0-9]{3}$",
        "regeling: 'bijstand' not in code list regeling",
        "status: missing (required)",
    ]}


def test_missing_stored_column_is_an_error():
    with pytest.raises(ValueError, match="regeling"):
        run(make_frame("werkzoekenden", 1).drop(columns=["regeling"]))


# ---------------------------------------------------------------------------------------------- business rules


def test_business_suite_birth_year_in_the_future():
    """expectations/werkzoekenden.business.json, max = $PARAMETER huidig_jaar (the year of `today`)."""
    frame = make_frame("werkzoekenden", 2, geboortejaar=[2026, 2027])
    result = run(frame)
    assert result.reasons == {1: ["geboortejaar: value is after the current year (birth year in the future)"]}
    assert any(r["source"] == "business" for r in result.expectation_results)


D = dt.date
PYTHON_RULE_CASES = {
    "regeling_einde_voor_start": (
        "werkzoekenden", {"regeling_start": [D(2024, 1, 1)] * 2, "regeling_einde": [D(2024, 1, 1), D(2023, 12, 31)]},
        "regeling_einde: '2023-12-31' is before regeling_start '2024-01-01'"),
    "uitstroom_voor_regeling_start": (
        "werkzoekenden", {"regeling_start": [D(2024, 1, 1)] * 2, "uitstroom_datum": [None, D(2023, 1, 1)]},
        "uitstroom_datum: '2023-01-01' is before regeling_start '2024-01-01'"),
    "beschikbaar_vanaf_te_ver": (
        "werkzoekenden", {"beschikbaar_vanaf": [D(2028, 5, 1), D(2028, 5, 2)]},
        "beschikbaar_vanaf: '2028-05-02' is more than 2 years after peildatum '2026-05-01'"),
    "sluitingsdatum_voor_open_sinds": (
        "vacatures", {"open_sinds": [D(2026, 1, 1)] * 2, "sluitingsdatum": [D(2026, 2, 1), D(2025, 12, 1)]},
        "sluitingsdatum: '2025-12-01' is before open_sinds '2026-01-01'"),
    "einddatum_voor_startdatum": (
        "plaatsingen", {"startdatum": [D(2026, 3, 1)] * 2, "einddatum": [None, D(2026, 2, 1)]},
        "einddatum: '2026-02-01' is before startdatum '2026-03-01'"),
    "einddatum_voor_start": (
        "mbo_inschrijvingen", {"startdatum": [D(2024, 8, 1)] * 2, "verwachte_einddatum": [None, D(2024, 7, 1)]},
        "verwachte_einddatum: '2024-07-01' is before startdatum '2024-08-01'"),
    "diploma_na_peildatum": (
        "mbo_diplomas", {"diplomadatum": [D(2026, 5, 1), D(2026, 5, 2)]},
        "diplomadatum: '2026-05-02' is after peildatum '2026-05-01'"),
    "peildatum_in_toekomst": (
        "vacatures", {"peildatum": [TODAY, TODAY + dt.timedelta(days=1)]},
        "peildatum: '2026-06-02' is in the future"),
}


def test_every_python_rule_has_a_test():
    assert {r.name for r in ROW_RULES} == set(PYTHON_RULE_CASES)


@pytest.mark.parametrize("datetime64", [False, True])
@pytest.mark.parametrize("rule", sorted(PYTHON_RULE_CASES))
def test_python_rule(rule, datetime64):
    dataset, overrides, reason = PYTHON_RULE_CASES[rule]
    result = run(make_frame(dataset, 2, datetime64=datetime64, **overrides), dataset)
    assert result.reasons == {1: [reason]}
    entry = next(r for r in result.expectation_results if r["expectation_type"] == f"python:{rule}")
    assert (entry["success"], entry["unexpected_count"]) == (False, 1)


# ---------------------------------------------------------------------------------------------- suites


def test_committed_suites_are_current(tmp_path):
    assert check_suites_current(paths().expectations) == []
    write_suites(tmp_path)
    for path in sorted(tmp_path.iterdir()):
        assert (paths().expectations / path.name).read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_drift_is_reported(tmp_path):
    write_suites(tmp_path)
    path = tmp_path / "vacatures.critical.json"
    suite = json.loads(path.read_text(encoding="utf-8"))
    suite["expectations"].pop(0)
    path.write_text(render(suite), encoding="utf-8")
    problems = check_suites_current(tmp_path)
    assert problems and all(p.startswith("vacatures.critical.json: missing expectation") for p in problems)


def test_generated_suite_shape():
    suite = build_suite_dict("mbo_inschrijvingen")
    assert suite["name"] == "mbo_inschrijvingen.critical"
    by_type = {}
    for e in suite["expectations"]:
        assert e["meta"]["reason"].startswith((e["kwargs"].get("column", ""), "duplicate key"))
        by_type.setdefault(e["type"], []).append(e["kwargs"])
    assert by_type["expect_compound_columns_to_be_unique"] == [
        {"column_list": ["persoon_id", "crebo", "startdatum"], "ignore_row_if": "any_value_is_missing"}]
    assert {"column": "leerweg", "value_set": ["BOL", "BBL", "EX"]} in by_type["expect_column_values_to_be_in_set"]
    assert not any(k.get("column") == "bsn" for ks in by_type.values() for k in ks)


def test_business_suites_are_valid_json_per_dataset():
    for name in canonical.DATASETS:
        suite = json.loads((paths().expectations / f"{name}.business.json").read_text(encoding="utf-8"))
        assert suite["name"] == f"{name}.business"
        for e in suite["expectations"]:
            assert e["meta"]["reason"]


# ---------------------------------------------------------------------------------------------- report


def test_build_data_docs(tmp_path):
    result = run(make_frame("werkzoekenden", 2, regeling=["ww", "<script>"]))
    out = build_data_docs(tmp_path / "run", {"werkzoekenden": result})
    text = out.read_text(encoding="utf-8")
    assert "&lt;script&gt;" in text and "<script>" not in text
    assert "FAIL" in text


# ---------------------------------------------------------------------------------------------- GX speed-ups


def test_configuration_memo_gives_the_same_results_as_plain_gx(monkeypatch):
    """regiowerk memoises GX's ``Expectation.configuration`` and metric ids during one validation run (about
    half of GX's per-delivery time). Every rule kind, failing and passing, gives the same result without them."""
    import contextlib

    import regiowerk.validation as validation

    n = 6
    frame = make_frame(
        "werkzoekenden", n,
        regeling=["bijstand", "participatiewet", None, "participatiewet", "participatiewet", "participatiewet"],
        postcode4=["0000", "1011", "1011", "12", "1011", "1011"],
        gemeente_code=["GM0363", "GM9999", "GM0363", "GM0363", "GM0518", "GM0363"],
        uren_beschikbaar_per_week=[10, 200, -1, 20, None, 30],
        persoon_id=[f"{1:064x}"] * 2 + [f"{i:064x}" for i in range(2, n)],
    )
    kwargs = {"allowed_gemeenten": {"GM0363", "GM0518"}, "regio_code": "AM21"}
    with_memo = run(frame, **kwargs)
    assert with_memo.reasons, "the frame has defects: the comparison must cover failing rules"

    used = []
    build = validation._configuration_memo

    class Spy(build):
        def __enter__(self):
            used.append(True)
            return super().__enter__()

    monkeypatch.setattr(validation, "_configuration_memo", Spy)
    run(frame, **kwargs)
    assert used, "validate() runs GX inside the memo scope"
    assert validation._CONFIG_MEMO.memo is None and validation._CONFIG_MEMO.ids is None, "memos end with the run"

    monkeypatch.setattr(validation, "_configuration_memo", contextlib.nullcontext)
    plain = run(frame, **kwargs)
    assert plain.reasons == with_memo.reasons
    assert plain.expectation_results == with_memo.expectation_results



# ---------------------------------------------------------------------------------------------- chunked validation


def _count_gx_runs(monkeypatch) -> list[int]:
    from regiowerk import validation

    sizes: list[int] = []
    plain = validation._run_gx

    def counting(suite, df, params, *args, **kwargs):
        sizes.append(len(df))
        return plain(suite, df, params, *args, **kwargs)

    monkeypatch.setattr(validation, "_run_gx", counting)
    return sizes


@pytest.mark.parametrize("text_dtype", [object, "str"])  # "str": Arrow-backed text as read from Parquet
def test_chunked_validation_gives_the_same_result_as_one_run(monkeypatch, text_dtype):
    n = 11
    D = dt.date
    pids = [f"{i + 1:064x}" for i in range(n)]
    pids[8] = pids[1]  # a duplicate key split across chunks (chunk 0 and chunk 2 with 3 rows per chunk)
    pids[5] = None
    frame = make_frame(
        "werkzoekenden", n,
        persoon_id=pids,
        regeling=["participatiewet"] * 3 + ["bijstand"] + ["participatiewet"] * 7,
        gemeente_code=["GM0363"] * 9 + ["GM9999", "GM0518"],
        uren_beschikbaar_per_week=[10, 20, 30, 40, 200, 10, -1, 10, 10, 10, None],
        regeling_start=[D(2024, 1, 1)] * n,
        regeling_einde=[None] * 7 + [D(2023, 12, 31)] + [None] * 3,
    )
    frame["persoon_id"] = frame["persoon_id"].astype(text_dtype)
    frame.index = range(100, 100 + n)  # a foreign index: positions are still 0..n-1
    kwargs = {"allowed_gemeenten": {"GM0363", "GM0518"}, "regio_code": "AM21"}
    sizes = _count_gx_runs(monkeypatch)
    whole = run(frame, **kwargs)
    assert sizes == [n], "a frame within the chunk size is validated in one GX run of the whole suite"
    sizes.clear()
    chunked = run(frame, chunk_size=3, **kwargs)
    assert sizes == [n, 3, 3, 3, 2], "keys once over the whole frame, then one run per chunk of 3 rows"

    duplicate = "duplicate key persoon_id within this delivery"
    assert chunked.reasons[1] == [duplicate] and chunked.reasons[8] == [duplicate]
    assert sorted(chunked.reasons) == [1, 3, 4, 5, 6, 7, 8, 9]
    assert chunked.reasons == whole.reasons
    assert chunked.reasons_by_bron_rij == whole.reasons_by_bron_rij
    assert chunked.expectation_results == whole.expectation_results
    assert (chunked.n_rows, chunked.n_failed_rows) == (whole.n_rows, whole.n_failed_rows) == (n, 8)


def test_chunked_validation_of_a_compound_key(monkeypatch):
    pid = f"{1:064x}"
    frame = make_frame(
        "mbo_inschrijvingen", 5,
        persoon_id=[pid, f"{2:064x}", f"{3:064x}", pid, pid],
        startdatum=[dt.date(2024, 8, 1)] * 4 + [dt.date(2025, 8, 1)],
        verwachte_einddatum=[None] * 5,
    )
    frame["persoon_id"] = frame["persoon_id"].astype("str")
    whole = run(frame, "mbo_inschrijvingen")
    chunked = run(frame, "mbo_inschrijvingen", chunk_size=2)
    reason = "duplicate key persoon_id, crebo, startdatum within this delivery"
    assert chunked.reasons == whole.reasons == {0: [reason], 3: [reason]}
    assert chunked.expectation_results == whole.expectation_results


def test_chunk_size_comes_from_the_environment(monkeypatch):
    from regiowerk import validation

    monkeypatch.delenv("REGIOWERK_VALIDATION_CHUNK_ROWS", raising=False)
    assert validation.chunk_rows() == validation.DEFAULT_CHUNK_ROWS == 250_000
    monkeypatch.setenv("REGIOWERK_VALIDATION_CHUNK_ROWS", "2")
    sizes = _count_gx_runs(monkeypatch)
    run(make_frame("werkzoekenden", 5))
    assert sizes == [5, 2, 2, 1]
