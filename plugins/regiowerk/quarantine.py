"""The quarantine: rows that failed at the door, kept so that they can be re-processed after a mapping fix.

Every quarantined row in ``audit.quarantine`` keeps
- ``redenen``: every reason, ``; ``-separated (never a personal value in clear);
- ``waarden``: its canonical, pseudonymised values as JSON (``persoon_id``, ``postcode4``, ``geboortejaar``, ...);
- ``bronwaarden``: JSON of the partner's *own* values of the mapped columns that are not personal, keyed by
  canonical column (e.g. ``{"regeling": "ARB-3", "peildatum": "31-10-2026"}``): what a replay re-maps with the
  current partner file. A BSN, name, address, postcode or birth date is never among them (``personal``
  columns of :mod:`regiowerk.canonical`; unmapped columns never get this far, see :mod:`regiowerk.drift`).

The pseudonymise stage writes those source values to the landing Parquet as ``_bron__<column>`` text columns
(cheap: Arrow strings, no per-row JSON); the load turns them into ``bronwaarden`` for quarantined rows only.

``regiowerk quarantine replay`` (:func:`replay`) re-maps open quarantined rows with the current partner file,
validates them exactly as the pipeline does, and loads the rows that now pass as a ``replayed`` delivery.
"""

from __future__ import annotations

import json

import pandas as pd

from regiowerk import canonical

SOURCE_PREFIX = "_bron__"


def replayable_columns(partner, dataset: str) -> list[tuple[str, str]]:
    """(canonical column, partner column) of the mapped columns whose source value may be kept: not personal."""
    ds = canonical.dataset(dataset)
    mapping = partner.datasets[dataset]
    return [(c.name, mapping.columns[c.name]) for c in ds.columns
            if c.name in mapping.columns and not c.personal]


def source_frame(frame: pd.DataFrame, partner, dataset: str) -> pd.DataFrame:
    """The ``_bron__<column>`` text columns for the landing file, from the partner's extract ``frame``."""
    out = {}
    for name, partner_col in replayable_columns(partner, dataset):
        values = frame[partner_col].reset_index(drop=True)
        out[SOURCE_PREFIX + name] = values.astype(object).where(values.notna(), None)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def source_values(frame: pd.DataFrame) -> pd.Series:
    """JSON ``bronwaarden`` per row of a landing frame (None for a landing file written before they existed)."""
    cols = [c for c in frame.columns if c.startswith(SOURCE_PREFIX)]
    if not cols:
        return pd.Series([None] * len(frame), dtype=object)
    records = frame[cols].astype(object).where(frame[cols].notna(), None).to_dict("records")
    return pd.Series([json.dumps({k[len(SOURCE_PREFIX):]: v for k, v in rec.items()}, ensure_ascii=False)
                      for rec in records], dtype=object)
