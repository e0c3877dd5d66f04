"""Pseudonymisation at the door: BSN normalisation, the elfproef, and the keyed HMAC-SHA256 pseudonym.

``persoon_id = HMAC-SHA256(region key, normalised 9-digit BSN)`` as lower-case hex (version 1). The key is per
arbeidsmarktregio and comes from a secret store (environment or Airflow Variable), never from the repository.
The demo key is public by design; in production mode (``REGIOWERK_ENV=production``) it is refused.

After a key rotation (:mod:`regiowerk.keys`) the current pseudonym is the keyed chain on top of version 1;
:func:`persoon_ids` is the one function that makes pseudonyms at the door and always makes the current version.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import sys
from collections import Counter

from regiowerk import masking
from regiowerk.errors import ConfigurationError
from regiowerk.settings import is_production

DEMO_KEY = "regiowerk-demo-key-not-for-production"


def normalise_bsn(value: object) -> str | None:
    """The 9-digit form of a delivered BSN, or None when it cannot be one.

    Surrounding white space is removed, the forms people write are accepted (the official display form
    ``1234.56.782`` and the spaced forms ``123 456 782`` / ``1234 56 782``) and an 8-digit number is
    left-padded with a zero (a BSN that lost its leading zero in a spreadsheet). Letters, other separators or
    other lengths are not repaired. The shapes live in :mod:`regiowerk.masking`, which recognises the same
    BSNs wherever they appear.
    """
    digits = masking.bsn_digits(value)
    return digits.zfill(9) if digits is not None else None


def elfproef(bsn9: str) -> bool:
    """The BSN eleven test: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is a positive multiple of 11."""
    return len(bsn9) == 9 and masking.elfproef_digits(bsn9)


def bsn_problem(value: object) -> str | None:
    """Why a delivered BSN is unusable (text without the value itself), or None when it is valid."""
    if value is None or str(value).strip() == "":
        return "bsn: missing (required)"
    bsn9 = normalise_bsn(value)
    if bsn9 is None:
        return "bsn: not 8 or 9 digits"
    if not elfproef(bsn9):
        return "bsn: fails the elfproef"
    return None


def pseudonym(bsn9: str, key: bytes) -> str:
    return hmac.new(key, bsn9.encode("ascii"), hashlib.sha256).hexdigest()


def region_key(regio_code: str) -> bytes:
    """The pseudonymisation key of a region.

    Looked up as ``REGIOWERK_PSEUDONYM_KEY_<REGIO>`` then ``REGIOWERK_PSEUDONYM_KEY`` (environment or Airflow
    Variable of that name, lower case). Outside production the public demo key is the fallback.
    """
    names = (f"REGIOWERK_PSEUDONYM_KEY_{regio_code.upper()}", "REGIOWERK_PSEUDONYM_KEY")
    key, name = None, names[0]
    for name in names:
        key = secret(name)
        if key:
            break
    production = is_production()
    if not key:
        if production:
            raise ConfigurationError(
                f"no pseudonymisation key for region {regio_code}: set {names[0]} in the environment or as an "
                f"Airflow Variable {names[0].lower()}")
        key = DEMO_KEY
    if production:
        check_production_key(name, key)
    return key.encode("utf-8")


MIN_KEY_BYTES = 32
# Estimated as length x Shannon entropy per character of the key itself (a 32-character hex key, 128 real bits,
# estimates at ~115); a repeated or patterned string estimates far lower.
MIN_KEY_BITS = 96
MIN_DISTINCT_CHARACTERS = 8
# Words of the documented placeholders (deploy/env.example: "change-me-...") and other obvious non-keys.
_PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "placeholder", "example", "replace-me", "your-key",
                      "secret-key", "not-for-production")


def _documented_placeholders() -> set[str]:
    """The placeholder values of deploy/env.example (when the repository is at hand)."""
    from regiowerk.settings import project_root

    try:
        text = (project_root() / "deploy" / "env.example").read_text(encoding="utf-8")
    except OSError:
        return set()
    return {line.split("=", 1)[1].strip().strip("'\"") for line in text.splitlines()
            if "=" in line and not line.lstrip().startswith("#")}


def _entropy_bits(key: str) -> float:
    counts = Counter(key)
    per_char = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    return per_char * len(key)


def check_production_key(name: str, key: str) -> None:
    """Refuse a key that is not fit for production (fail closed, never echoing the key): the public demo key in
    any spelling, a documented placeholder, fewer than 32 bytes, or material that does not look random."""
    squeezed = re.sub(r"\s", "", key).casefold()
    reason = None
    if DEMO_KEY in squeezed:
        reason = "it is the public demo key"
    elif key.strip() in _documented_placeholders() or any(w in squeezed for w in _PLACEHOLDER_WORDS):
        reason = "it is a documented placeholder"
    elif len(key.encode("utf-8")) < MIN_KEY_BYTES:
        reason = f"it is {len(key.encode('utf-8'))} bytes long, at least {MIN_KEY_BYTES} are required"
    elif len(set(key)) < MIN_DISTINCT_CHARACTERS or _entropy_bits(key) < MIN_KEY_BITS:
        reason = "it does not look random (too few different characters)"
    if reason:
        raise ConfigurationError(
            f"{name} cannot be used in production: {reason}. Generate one with 'openssl rand -hex 32'; nothing "
            f"starts until it is set")


# ---- the current key version: the key chain applied at the door ------------------------------------------
#
# After ``regiowerk keys rotate`` the warehouse holds persoon_id_vn = HMAC(kn, ... HMAC(k2, HMAC(k1, bsn))).
# The door produces that same current-version pseudonym, so a new delivery of a known person joins the
# warehouse. It learns the version from the secret store, not from the warehouse (no connection while
# mapping): ``REGIOWERK_PSEUDONYM_KEY_VERSION`` holds ``<n>:<fingerprint v1>,...,<fingerprint vn>`` as printed
# by the rotation, and ``REGIOWERK_PSEUDONYM_KEY_V<k>`` holds the key of version k (2..n). Unset means version
# 1 (never rotated). The load checks the same value against ``audit.sleutelversies`` (regiowerk.keys).

VERSION_NAME = "REGIOWERK_PSEUDONYM_KEY_VERSION"
_VERSION_VALUE = re.compile(r"^([1-9][0-9]*)(?::([0-9a-f]{16}(?:,[0-9a-f]{16})*))?$")


def secret(name: str) -> str | None:
    """``name`` from the environment, else ``AIRFLOW_VAR_<NAME>``, else (inside Airflow) the Airflow Variable of
    that name in lower case.

    The Airflow Variable is asked only when Airflow's Task SDK is already loaded in this process (a task, or
    ``dag.test()``): outside a task there is no Variable to reach, and importing Airflow just to find that out
    costs seconds in every ``regiowerk check`` and benchmark. Commands run outside Airflow read the environment.
    """
    value = os.environ.get(name) or os.environ.get("AIRFLOW_VAR_" + name.upper())
    if value or "airflow.sdk" not in sys.modules:
        return value or None
    from regiowerk.secret_store import get_variable

    return get_variable(name.lower())


def configured_fingerprints() -> tuple[str, ...]:
    """The fingerprints of key versions 1..n named by ``REGIOWERK_PSEUDONYM_KEY_VERSION`` (empty: version 1,
    never rotated). Raises ConfigurationError on a malformed value."""
    value = (secret(VERSION_NAME) or "").strip()
    if not value:
        return ()
    m = _VERSION_VALUE.match(value)
    fingerprints = tuple(m.group(2).split(",")) if m and m.group(2) else ()
    if not m or (int(m.group(1)) > 1 and len(fingerprints) != int(m.group(1))):
        raise ConfigurationError(
            f"{VERSION_NAME} must be '<n>:<fingerprint v1>,...,<fingerprint vn>' exactly as printed by "
            f"'regiowerk keys rotate' (or '1' when never rotated); see 'regiowerk keys status'")
    return fingerprints


def version_value(fingerprints: list[str] | tuple[str, ...]) -> str:
    """The ``REGIOWERK_PSEUDONYM_KEY_VERSION`` value for a chain with these fingerprints (versions 1..n)."""
    return f"{len(fingerprints)}:{','.join(fingerprints)}"


def chain_keys_from_store(fingerprints: tuple[str, ...] | list[str], recorded_in: str = VERSION_NAME) -> list[bytes]:
    """The keys of versions 2..n from the secret store, each checked against its fingerprint (fail closed);
    ``recorded_in`` names where the fingerprints come from, for the message."""
    from regiowerk.keys import KEY_ENV, fingerprint

    keys = []
    for versie, expected in enumerate(fingerprints[1:], start=2):
        name = KEY_ENV.format(versie=versie)
        key = secret(name)
        if not key:
            raise ConfigurationError(
                f"pseudonym key version {versie} is missing: {recorded_in} names {len(fingerprints)} versions, "
                f"so {name} must be set (environment or Airflow Variable {name.lower()}); no pseudonym was made")
        if is_production():
            check_production_key(name, key)
        if fingerprint(key.encode("utf-8")) != expected:
            raise ConfigurationError(
                f"{name} does not match the fingerprint of key version {versie} in {recorded_in}: "
                f"a wrong or stale key; no pseudonym was made")
        keys.append(key.encode("utf-8"))
    return keys


def persoon_ids(bsn9s, regio_code: str | None = None, *, key: bytes | None = None) -> list[str]:
    """The current-version pseudonyms of valid 9-digit BSNs (a list or pandas Series), in order.

    The base key is ``key`` or the region key of ``regio_code``; the chain keys of versions 2..n are applied on
    top (see ``REGIOWERK_PSEUDONYM_KEY_VERSION``). Fails closed (ConfigurationError, no pseudonyms) when a
    chain key is missing or does not match its fingerprint, or, when resolved by ``regio_code``, the region
    key is not version 1 of the configured chain.
    """
    from regiowerk.keys import apply_chain, fingerprint

    if key is None:
        if regio_code is None:
            raise ValueError("persoon_ids needs regio_code or key")
        key = region_key(regio_code)
    fingerprints = configured_fingerprints()
    if regio_code is not None and fingerprints and fingerprint(key) != fingerprints[0]:
        raise ConfigurationError(f"the pseudonymisation key of region {regio_code} is not key version 1 of "
                                 f"{VERSION_NAME}: its pseudonyms would not join the warehouse")
    chain = chain_keys_from_store(fingerprints)
    return [apply_chain(pseudonym(b, key), chain) for b in bsn9s]
