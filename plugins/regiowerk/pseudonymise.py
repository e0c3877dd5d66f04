"""Pseudonymisation at the door: BSN normalisation, the elfproef, and the keyed HMAC-SHA256 pseudonym.

``persoon_id = HMAC-SHA256(region key, normalised 9-digit BSN)`` as lower-case hex. The key is per
arbeidsmarktregio and comes from a secret store (environment or Airflow Variable), never from the repository.
The demo key is public by design; in production mode (``REGIOWERK_ENV=production``) it is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from regiowerk.errors import ConfigurationError

DEMO_KEY = "regiowerk-demo-key-not-for-production"
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)
_DIGITS = re.compile(r"^[0-9]{8,9}$")


def normalise_bsn(value: object) -> str | None:
    """The 9-digit form of a delivered BSN, or None when it cannot be one.

    Surrounding white space is removed and an 8-digit number is left-padded with a zero (a BSN that lost its
    leading zero in a spreadsheet). Letters, inner spaces, dots or other lengths are not repaired.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not _DIGITS.match(text):
        return None
    return text.zfill(9)


def elfproef(bsn9: str) -> bool:
    """The BSN eleven test: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is a positive multiple of 11."""
    if len(bsn9) != 9 or not bsn9.isdigit():
        return False
    total = sum(w * int(d) for w, d in zip(_WEIGHTS, bsn9, strict=True))
    return total > 0 and total % 11 == 0


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
    from regiowerk.secret_store import get_variable

    names = (f"REGIOWERK_PSEUDONYM_KEY_{regio_code.upper()}", "REGIOWERK_PSEUDONYM_KEY")
    key = None
    for name in names:
        key = os.environ.get(name) or get_variable(name.lower())
        if key:
            break
    production = os.environ.get("REGIOWERK_ENV", "development").lower() == "production"
    if not key:
        if production:
            raise ConfigurationError(
                f"no pseudonymisation key for region {regio_code}: set {names[0]} in the environment or as an "
                f"Airflow Variable {names[0].lower()}")
        key = DEMO_KEY
    if production and key == DEMO_KEY:
        raise ConfigurationError(f"region {regio_code}: the public demo key cannot be used in production")
    return key.encode("utf-8")
