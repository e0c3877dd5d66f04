"""Generate the *critical* Great Expectations suites from the canonical contract.

``expectations/<dataset>.critical.json`` is generated from :mod:`regiowerk.canonical` and committed, so a
reviewer sees every rule change in a diff. A test (``tests/test_validation.py``) asserts the committed files
equal what this module generates, so the contract and the suites cannot drift apart: change
``canonical.py``, then run ``uv run python -m regiowerk.expectations_gen`` (or ``--check`` in CI).

What is generated, per stored column (input-only columns such as bsn are never stored, so never validated):

* ``required``            -> expect_column_values_to_not_be_null
* ``code_list`` (scalar)  -> expect_column_values_to_be_in_set
* ``code_list`` (list)    -> expect_column_values_to_match_regex, a comma-separated list of codes
* ``pattern`` (list)      -> expect_column_values_to_match_regex, a comma-separated list of elements
* ``pattern`` (scalar)    -> expect_column_values_to_match_regex
* ``min/max_value``       -> expect_column_values_to_be_between
* ``Dataset.key``         -> expect_column_values_to_be_unique (one column) or
                             expect_compound_columns_to_be_unique (several; rows with a missing key part
                             are skipped there, they already fail the not-null rule)

Every expectation carries ``meta.reason``: ``"<column>: <plain-language rule>"``. Rules about a single
value are phrased ``"<column>: value ..."``; :mod:`regiowerk.validation` replaces the word ``value`` by the
(quoted, neutralised) value for non-personal columns and keeps it masked for personal ones.

Hand-written business rules live next to these files in ``expectations/<dataset>.business.json`` (plain GX
suite JSON, edited by hand, not generated) and in the Python rule list of :mod:`regiowerk.validation`.

This module does not import Great Expectations (slow import); it produces plain dicts in the GX 1.x suite
serialisation format (``name``, ``expectations: [{type, kwargs, meta}]``, ``meta``).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from regiowerk.canonical import CODE_LISTS, DATASETS, LIST_SEPARATOR, Column, dataset

CRITICAL_SUFFIX = ".critical.json"
BUSINESS_SUFFIX = ".business.json"


def suite_name(dataset_name: str) -> str:
    return f"{dataset_name}.critical"


def critical_path(directory: Path, dataset_name: str) -> Path:
    return Path(directory) / f"{dataset_name}{CRITICAL_SUFFIX}"


def business_path(directory: Path, dataset_name: str) -> Path:
    return Path(directory) / f"{dataset_name}{BUSINESS_SUFFIX}"


def _strip_anchors(pattern: str) -> str:
    body = pattern[1:] if pattern.startswith("^") else pattern
    return body[:-1] if body.endswith("$") and not body.endswith(r"\$") else body


def list_regex(element: str) -> str:
    """A regex for a non-empty, comma-separated list whose elements each match ``element`` (unanchored)."""
    sep = re.escape(LIST_SEPARATOR)
    return f"^(?:{element})(?:{sep}(?:{element}))*$"


def _expectation(type_: str, kwargs: dict[str, Any], reason: str) -> dict[str, Any]:
    return {"type": type_, "kwargs": kwargs, "meta": {"reason": reason}}


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _column_expectations(col: Column) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    name = col.name
    if col.required:
        out.append(_expectation("expect_column_values_to_not_be_null", {"column": name},
                                f"{name}: missing (required)"))
    if col.type == "list":
        if col.code_list:
            codes = CODE_LISTS[col.code_list]
            element = "|".join(re.escape(c) for c in codes)
            out.append(_expectation("expect_column_values_to_match_regex",
                                    {"column": name, "regex": list_regex(element)},
                                    f"{name}: value has a code not in code list {col.code_list}"))
        if col.pattern:
            out.append(_expectation("expect_column_values_to_match_regex",
                                    {"column": name, "regex": list_regex(_strip_anchors(col.pattern))},
                                    f"{name}: value has an element not matching {col.pattern}"))
    else:
        if col.code_list:
            out.append(_expectation("expect_column_values_to_be_in_set",
                                    {"column": name, "value_set": list(CODE_LISTS[col.code_list])},
                                    f"{name}: value not in code list {col.code_list}"))
        if col.pattern:
            out.append(_expectation("expect_column_values_to_match_regex",
                                    {"column": name, "regex": col.pattern},
                                    f"{name}: value does not match pattern {col.pattern}"))
    if col.min_value is not None or col.max_value is not None:
        kwargs: dict[str, Any] = {"column": name}
        if col.min_value is not None:
            kwargs["min_value"] = _num(col.min_value)
        if col.max_value is not None:
            kwargs["max_value"] = _num(col.max_value)
        lo = "" if col.min_value is None else _num(col.min_value)
        hi = "" if col.max_value is None else _num(col.max_value)
        out.append(_expectation("expect_column_values_to_be_between", kwargs, f"{name}: value outside {lo}..{hi}"))
    return out


def build_suite_dict(dataset_name: str) -> dict[str, Any]:
    """The critical GX 1.x suite of a canonical dataset, as a JSON-serialisable dict."""
    ds = dataset(dataset_name)
    stored = set(ds.stored_names)
    expectations: list[dict[str, Any]] = []
    for col in ds.stored_columns:
        expectations.extend(_column_expectations(col))
    key = [k for k in ds.key if k in stored]
    key_text = ", ".join(key)
    reason = f"duplicate key {key_text} within this delivery"
    if len(key) == 1:
        expectations.append(_expectation("expect_column_values_to_be_unique", {"column": key[0]}, reason))
    elif key:
        expectations.append(_expectation("expect_compound_columns_to_be_unique",
                                         {"column_list": key, "ignore_row_if": "any_value_is_missing"}, reason))
    return {
        "name": suite_name(dataset_name),
        "expectations": expectations,
        "meta": {
            "generated_by": "regiowerk.expectations_gen from plugins/regiowerk/canonical.py; do not edit by hand",
            "dataset": dataset_name,
        },
        "notes": None,
    }


def render(suite: dict[str, Any]) -> str:
    """Stable pretty JSON (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(suite, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_suites(directory: Path) -> list[Path]:
    """Write ``<dataset>.critical.json`` for every canonical dataset into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in sorted(DATASETS):
        path = critical_path(directory, name)
        text = render(build_suite_dict(name))
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def check_suites_current(directory: Path) -> list[str]:
    """Differences between the committed critical suites and the generator; empty when current."""
    directory = Path(directory)
    problems: list[str] = []
    for name in sorted(DATASETS):
        path = critical_path(directory, name)
        if not path.exists():
            problems.append(f"{path.name}: missing")
            continue
        expected = build_suite_dict(name)
        try:
            actual = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            problems.append(f"{path.name}: not valid JSON ({e})")
            continue
        if actual != expected:
            exp_items = {json.dumps(e, sort_keys=True) for e in expected.get("expectations", [])}
            act_items = {json.dumps(e, sort_keys=True) for e in actual.get("expectations", [])}
            for item in sorted(exp_items - act_items):
                problems.append(f"{path.name}: missing expectation {item}")
            for item in sorted(act_items - exp_items):
                problems.append(f"{path.name}: unexpected expectation {item}")
            if exp_items == act_items:
                problems.append(f"{path.name}: differs from the generator (order or suite metadata)")
        elif path.read_text(encoding="utf-8") != render(expected):
            problems.append(f"{path.name}: same content but not in the canonical formatting")
    known = {critical_path(directory, n).name for n in DATASETS}
    for path in sorted(directory.glob(f"*{CRITICAL_SUFFIX}")):
        if path.name not in known:
            problems.append(f"{path.name}: no canonical dataset of that name")
    return problems


def main(argv: list[str] | None = None) -> int:
    from regiowerk.settings import paths

    args = sys.argv[1:] if argv is None else argv
    directory = paths().expectations
    if "--check" in args:
        problems = check_suites_current(directory)
        for p in problems:
            print(p)
        return 1 if problems else 0
    for path in write_suites(directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
