import hashlib
import hmac

import pandas as pd
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


def test_persoon_ids_apply_the_configured_key_chain(monkeypatch):
    from regiowerk import keys
    from regiowerk.pseudonymise import VERSION_NAME, persoon_ids, version_value

    base, k2, k3 = b"base-key", b"key-two", b"key-three"
    monkeypatch.delenv(VERSION_NAME, raising=False)
    assert persoon_ids(["111222333"], key=base) == [pseudonym("111222333", base)]  # never rotated: version 1
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_V2", k2.decode())
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_V3", k3.decode())
    monkeypatch.setenv(VERSION_NAME, version_value([keys.fingerprint(k) for k in (base, k2, k3)]))
    v3 = hmac.new(k3, hmac.new(k2, pseudonym("111222333", base).encode(), hashlib.sha256).hexdigest().encode(),
                  hashlib.sha256).hexdigest()
    assert persoon_ids(pd.Series(["111222333", "012345672"]), key=base)[0] == v3


@pytest.mark.parametrize("setting,message", [
    ({"REGIOWERK_PSEUDONYM_KEY_V2": None}, "REGIOWERK_PSEUDONYM_KEY_V2 must be set"),
    ({"REGIOWERK_PSEUDONYM_KEY_V2": "stale"}, "does not match the fingerprint of key version 2"),
    ({"REGIOWERK_PSEUDONYM_KEY_VERSION": "2"}, "exactly as printed by 'regiowerk keys rotate'"),
    ({"REGIOWERK_PSEUDONYM_KEY_VERSION": "2:abc; DROP TABLE x"}, "exactly as printed"),
    ({"REGIOWERK_PSEUDONYM_KEY_AM21": "another region key"}, "region AM21 is not key version 1"),
])
def test_persoon_ids_fail_closed(monkeypatch, setting, message):
    from regiowerk import keys
    from regiowerk.pseudonymise import VERSION_NAME, persoon_ids, version_value

    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_AM21", "region-key")
    monkeypatch.setenv("REGIOWERK_PSEUDONYM_KEY_V2", "key-two")
    monkeypatch.setenv(VERSION_NAME, version_value([keys.fingerprint(b"region-key"), keys.fingerprint(b"key-two")]))
    for name, value in setting.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message) as e:
        persoon_ids(["111222333"], "AM21")
    assert "key-two" not in str(e.value) and "region-key" not in str(e.value)  # never echoes a key
