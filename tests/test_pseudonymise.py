import hashlib
import hmac

import pytest

from regiowerk.errors import ConfigurationError
from regiowerk.pseudonymise import DEMO_KEY, bsn_problem, elfproef, normalise_bsn, pseudonym, region_key


@pytest.mark.parametrize("bsn", ["111222333", "123456782", "999999990"])
def test_elfproef_accepts_valid(bsn):
    assert elfproef(bsn)


@pytest.mark.parametrize("bsn", ["111222334", "000000000", "123456789", "12345678", "abcdefghi"])
def test_elfproef_rejects_invalid(bsn):
    assert not elfproef(bsn)


def test_eight_digits_are_left_padded_and_then_valid():
    # 012345672 is valid; delivered without its leading zero it must still be accepted
    assert elfproef("012345672")
    assert normalise_bsn("12345672") == "012345672"
    assert bsn_problem("12345672") is None


@pytest.mark.parametrize("value,reason", [
    ("1234 5678", "not 8 or 9 digits"), ("12345678A", "not 8 or 9 digits"), ("", "missing"),
    (None, "missing"), ("111222334", "elfproef"), ("1234567", "not 8 or 9 digits")])
def test_bsn_problem_names_the_reason_without_the_value(value, reason):
    problem = bsn_problem(value)
    assert reason in problem
    if value:
        assert value not in problem


def test_pseudonym_is_keyed_hmac_sha256_and_stable():
    key = b"k1"
    expected = hmac.new(key, b"111222333", hashlib.sha256).hexdigest()
    assert pseudonym("111222333", key) == expected
    assert pseudonym("111222333", b"k2") != expected
    assert len(expected) == 64 and "111222333" not in expected


def test_region_key_prefers_the_region_specific_secret(monkeypatch):
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY", "general")
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_AM21", "haaglanden")
    assert region_key("AM21") == b"haaglanden"
    assert region_key("AM22") == b"general"


def test_demo_key_outside_production_only(monkeypatch):
    for name in ("REGIOWERK_PSEUDONYM_KEY", "REGIOWERK_PSEUDONYM_KEY_AM21"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REGIOWERK_ENV", "development")
    assert region_key("AM21") == DEMO_KEY.encode()
    monkeypatch.setenv("REGIOWERK_ENV", "production")
    with pytest.raises(ConfigurationError, match="AM21"):
        region_key("AM21")
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_AM21", DEMO_KEY)
    with pytest.raises(ConfigurationError, match="demo key"):
        region_key("AM21")
