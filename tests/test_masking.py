"""Personal values recognised by their shape (regiowerk.masking), BSNs as people write them, and the production
key guard that fails closed."""

from __future__ import annotations

import random
import secrets

import pandas as pd
import pytest
from regiowerk import masking
from regiowerk.errors import ConfigurationError, DeliveryError
from regiowerk.pseudonymise import DEMO_KEY, bsn_problem, normalise_bsn, region_key
from regiowerk.settings import environment

VALID_BSN = "111222333"  # 9*1+8*1+7*1+6*2+5*2+4*2+3*3+2*3-3 = 66 = 6*11


# ---------------------------------------------------------------------------------------------- recognition
@pytest.mark.parametrize("value", ["111222333", " 111222333 ", "1112.22.333", "111 222 333", "1112 22 333",
                                   "12345672"])  # 8 digits: 012345672 passes the elfproef
def test_bsn_shapes_are_recognised(value):
    assert masking.is_bsn(value)
    assert masking.value_kind(value) == "bsn"


@pytest.mark.parametrize("value", ["111222334", "11122233", "1112223334", "111-222-333", "1112.22.333x",
                                   "A111222333", "000000000"])
def test_non_bsns_are_not(value):
    assert not masking.is_bsn(value)


@pytest.mark.parametrize(("value", "expected"), [("2611AB", True), ("2611 ab", True), ("2611 AB", True),
                                                 ("0611AB", False), ("2611SA", False), ("2611FI", False),
                                                 ("2611", False), ("2611ABC", False)])
def test_postcodes(value, expected):
    assert masking.is_postcode(value) is expected


@pytest.mark.parametrize("value", ["1990-05-01", "01-05-1990", "1/5/1990", "1990/05/01", "01.05.1990",
                                   "1990-05-01 00:00:00", "1990-05-01T08:30"])
def test_dates(value):
    assert masking.is_date(value)
    assert masking.looks_personal(value)
    assert not masking.looks_personal(value, date_column=True)


def test_mask_text_masks_bsns_and_postcodes_in_running_text_only():
    text = ("bsn 111222333 and 1112.22.333 live at 2611AB or 2611 AB; row 1500 at 2026-10-31; delivery "
            "gemeente_x.werkzoekenden.rejected.20261204T201530123456; pseudonym 0a111222333b; count 111222334")
    out = masking.mask_text(text)
    assert "111222333 " not in out and "1112.22.333" not in out and "2611AB" not in out and "2611 AB" not in out
    assert out.count(masking.MASK) == 4
    for kept in ("row 1500 at 2026-10-31", "20261204T201530123456", "0a111222333b", "111222334"):
        assert kept in out
    assert "2026-10-31" not in masking.mask_text(text, dates=True)


def test_mask_value_outside_and_inside_a_date_column():
    assert masking.mask_value(VALID_BSN) == masking.MASK
    assert masking.mask_value("1990-05-01") == masking.MASK
    assert masking.mask_value("1990-05-01", date_column=True) == "1990-05-01"
    assert masking.mask_value("PW") == "PW"
    assert masking.mask_value("zie 2611AB") == f"zie {masking.MASK}"
    assert masking.mask_value(None) is None


def test_delivery_error_messages_never_carry_a_bsn_or_postcode():
    e = DeliveryError("p", "werkzoekenden", "f.csv", f"columns present: '{VALID_BSN}', 'A. Jansen', '2611AB'")
    assert VALID_BSN not in str(e) and "2611AB" not in str(e)
    assert "A. Jansen" in str(e)  # a name cannot be recognised by shape: the header check catches that case


def test_suspicious_columns_by_share_of_rows():
    bsns = [VALID_BSN] * 3
    columns = {
        "doelgroep": (set(), pd.Series(bsns + ["PW"], dtype=object)),  # 3 of 4 rows are BSNs
        "regeling": (set(), pd.Series(["PW"] * 9 + [VALID_BSN], dtype=object)),  # one stray: masked, not rejected
        "bsn": ({"bsn"}, pd.Series(bsns, dtype=object)),
        "uren": (set(), pd.Series(["1990-05-01", "1991-02-03", None], dtype=object)),
        "peildatum": ({"date"}, pd.Series(["2026-10-31"] * 3, dtype=object)),
    }
    assert masking.suspicious_columns(columns) == [("doelgroep", "bsn"), ("uren", "date")]


# ---------------------------------------------------------------------------------------------- BSN forms
@pytest.mark.parametrize("written", ["1112.22.333", "111 222 333", "1112 22 333", " 111222333 "])
def test_bsn_as_people_write_it_is_normalised(written):
    assert normalise_bsn(written) == VALID_BSN
    assert bsn_problem(written) is None


@pytest.mark.parametrize("written", ["11122233 3", "111-222-333", "111.222.333", "1112.22.3334"])
def test_other_separators_are_not_repaired(written):
    assert normalise_bsn(written) is None
    assert bsn_problem(written) == "bsn: not 8 or 9 digits"


def _random_bsn_forms(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        digits = "".join(rng.choice("0123456789") for _ in range(9))
        if rng.random() < 0.5:  # make every other one valid, so both outcomes are well represented
            total = sum(w * int(d) for w, d in zip((9, 8, 7, 6, 5, 4, 3, 2), digits[:8], strict=True))
            if total % 11 < 10:
                digits = digits[:8] + str(total % 11)
        form = rng.randrange(6)
        if form == 0:
            out.append(digits)
        elif form == 1:
            out.append(digits[1:] if digits[0] == "0" else digits)  # lost leading zero
        elif form == 2:
            out.append(f"{digits[:4]}.{digits[4:6]}.{digits[6:]}")
        elif form == 3:
            out.append(f"{digits[:3]} {digits[3:6]} {digits[6:]}")
        elif form == 4:
            out.append(f"{digits[:4]} {digits[4:6]} {digits[6:]}")
        else:
            out.append(f" {digits} ")
    return out


def test_elfproef_agrees_with_python_stdnum_on_200000_random_values():
    """A peer implementation (python-stdnum's nl.bsn) and regiowerk agree on every value, display forms included
    (before regiowerk accepted the display form 1234.56.782 it quarantined exactly those)."""
    from stdnum.nl import bsn

    values = _random_bsn_forms(random.Random(20261204), 200_000)
    ours = [bsn_problem(v) is None for v in values]
    theirs = [bsn.is_valid(v) for v in values]
    disagree = [v for v, a, b in zip(values, ours, theirs, strict=True) if a != b]
    assert disagree == []
    assert 60_000 < sum(ours) < 140_000  # both outcomes well represented
    assert sum(ours[i] for i, v in enumerate(values) if "." in v) > 10_000  # display form accepted


# ---------------------------------------------------------------------------------------------- keys
@pytest.mark.parametrize("value", ["prod", "production ", "Production", "", "staging"])
def test_unknown_environment_fails_closed(monkeypatch, value):
    monkeypatch.setenv("REGIOWERK_ENV", value)
    with pytest.raises(ConfigurationError, match="is not one of development, test, production"):
        environment()
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_AM21", secrets.token_hex(32))
    with pytest.raises(ConfigurationError, match="REGIOWERK_ENV"):
        region_key("AM21")  # never silently the demo key, never silently not production


@pytest.mark.parametrize(("key", "reason"), [
    (DEMO_KEY, "public demo key"),
    (DEMO_KEY + " ", "public demo key"),
    (" regiowerk-demo-key-not-for- production", "public demo key"),
    ("change-me-pseudonym-key-am21", "documented placeholder"),
    ("x", "1 bytes long, at least 32"),
    ("0123456789abcdef", "16 bytes long"),
    ("a" * 64, "does not look random"),
    ("abababababababababababababababab", "does not look random"),
])
def test_production_refuses_unfit_keys(monkeypatch, key, reason):
    monkeypatch.setenv("REGIOWERK_ENV", "production")
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_AM21", key)
    with pytest.raises(ConfigurationError) as exc:
        region_key("AM21")
    assert reason in str(exc.value) and "REGIOWERK_PSEUDONYM_KEY_AM21" in str(exc.value)
    if len(key) > 4:
        assert key.strip() not in str(exc.value)  # the key itself is never echoed


def test_production_accepts_a_random_key(monkeypatch):
    monkeypatch.setenv("REGIOWERK_ENV", "production")
    for key in (secrets.token_hex(32), secrets.token_urlsafe(32), secrets.token_hex(16)):
        monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_AM21", key)
        assert region_key("AM21") == key.encode()


def test_cli_refuses_to_start_with_an_unknown_environment(monkeypatch, capsys):
    from regiowerk import cli

    monkeypatch.setenv("REGIOWERK_ENV", "prod")
    assert cli.main(["registry"]) == 2
    assert "REGIOWERK_ENV='prod' is not one of development, test, production" in capsys.readouterr().err


def test_any_exception_in_extract_is_a_recorded_rejection_without_personal_values(tmp_path, monkeypatch, caplog):
    """A crash inside a connector (here: a library error quoting a cell) becomes a DeliveryError naming partner,
    dataset, stage and error kind; the log's traceback and audit.deliveries.message are masked."""
    import logging
    import shutil
    from pathlib import Path

    from regiowerk import pipeline, warehouse
    from regiowerk.connectors import file as file_connector

    corpus = Path(__file__).parent / "corpus"
    for name in ("partners", "drop/corpus_gemeente"):
        (tmp_path / name).mkdir(parents=True)
    shutil.copyfile(corpus / "partners" / "corpus_gemeente.yml", tmp_path / "partners" / "corpus_gemeente.yml")
    shutil.copyfile(corpus / "files" / "ok.csv", tmp_path / "drop" / "corpus_gemeente" / "clienten_2026-10-31.csv")
    monkeypatch.setenv("REGIOWERK_PARTNERS_DIR", str(tmp_path / "partners"))
    monkeypatch.setenv("REGIOWERK_DROP_DIR", str(tmp_path / "drop"))
    monkeypatch.setenv("REGIOWERK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIOWERK_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)

    def crash(*args, **kwargs):
        raise ValueError(f"invalid literal for int(): '{VALID_BSN}' near 2611AB")

    monkeypatch.setattr(file_connector, "read_delivery_file", crash)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DeliveryError) as exc:
        pipeline.extract("corpus_gemeente", "werkzoekenden")
    message = str(exc.value)
    assert message.startswith("partner corpus_gemeente, dataset werkzoekenden, source ")
    assert "could not be processed in extract (ValueError: invalid literal for int(): '(value masked)'" in message
    assert "Traceback" in caplog.text and "crash" in caplog.text  # the engineers' traceback is logged ...
    assert VALID_BSN not in caplog.text and "2611AB" not in caplog.text  # ... masked
    pipeline.record_rejection("corpus_gemeente", "werkzoekenden", exc.value)
    con = warehouse.connect(read_only=True)
    try:
        rows = con.execute("SELECT status, message FROM audit.deliveries").fetchall()
    finally:
        con.close()
    assert len(rows) == 1 and rows[0][0] == "rejected" and VALID_BSN not in rows[0][1]
