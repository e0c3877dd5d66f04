"""Synthetic partner sources at national scale, with real region and gemeente codes (CBS indeling 2026).

``generate(scale, out_dir)`` writes, for the regions of the scale (see :data:`SCALES`):

* every gemeente of those regions as a file-drop partner in one of the three demo export layouts -- the
  partner YAMLs are made from ``partners/gemeente_{den_haag,delft,westland}.yml`` as templates (only
  ``partner_id``, ``naam``, ``gemeente_code``, ``regio_code``, ``contact`` and the drop folder change), the
  files follow the demo's headers, encodings, delimiters and date formats (cp1252 ``;`` dd-mm-yyyy CSV, XLSX
  sheet ``ZRM`` with date cells, UTF-8-BOM ``,`` CSV with its own codes);
* one UWV partner per region (template ``partners/uwv_haaglanden.yml``, its own ``conn_id``), whose records are
  written as ``uwv/<REGIO>.json`` (``{"/werkzoekenden": [...], "/vacatures": [...]}``) to be served by
  :class:`regiowerk.demo.uwv_api.UwvApiServer` -- one server per region, see :meth:`NationalSources.serve`;
* MBO schools (60 nationally, at least one per region) as SQLite student information systems
  ``mbo/<partner_id>.sqlite`` with the demo's ``deelnemers`` and ``diplomas`` tables (template
  ``partners/mbo_roc_mondriaan.yml``).

Everything is vectorised numpy/pandas from one seeded ``numpy.random.Generator`` (names come from small
pools), so national scale (~1M job seekers, 400k vacancies, 500k enrolments) takes a few minutes, not hours.
The same arguments give byte-identical files. Every delivery carries the six demo defect kinds
(:data:`regiowerk.demo.generate.DEFECT_KINDS`) in the same columns as the demo, at a share of
:data:`DEFECT_SHARE` of its rows (at least one of each kind).

``out_dir/manifest.json`` describes what was written (:meth:`NationalSources.load` reads it back).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from regiowerk import reference
from regiowerk.demo.generate import (
    _ARCHETYPE_WEIGHTS,
    _DEELNEMERS_COLS,
    _DELFT_HEADER,
    _DH_HEADER,
    _DIPLOMA_COLS,
    _PC_LETTERS,
    _WL_HEADER,
    _ZRM_DOMAINS,
    CREBO,
    DEFECT_KINDS,
    ISCO,
    POSTCODES,
    UNKNOWN_GEMEENTE,
    UWV_COMPETENTIES,
    WERKFIT_STATUSES,
    _Row,
    _write_sis,
)
from regiowerk.settings import paths

PEILDATUM = date(2026, 11, 1)
DEFECT_SHARE = 0.005
N_SCHOOLS_NATIONAL = 60
LAYOUTS = ("den_haag", "delft", "westland")
LAYOUT_WEIGHTS = (0.40, 0.25, 0.35)
TEMPLATES = {"den_haag": "gemeente_den_haag.yml", "delft": "gemeente_delft.yml",
             "westland": "gemeente_westland.yml", "uwv": "uwv_haaglanden.yml", "mbo": "mbo_roc_mondriaan.yml"}


@dataclass(frozen=True)
class Scale:
    regions: tuple[str, ...] | None  # None: all 35 regions
    werkzoekenden: int               # gemeenten + UWV
    vacatures: int
    mbo_inschrijvingen: int
    mbo_diplomas: int
    gemeente_share: float = 0.6      # share of werkzoekenden delivered by gemeenten (the rest: UWV)


SCALES: dict[str, Scale] = {
    "tiny": Scale(("AM20", "AM35"), 1_200, 400, 300, 100),
    "region": Scale(("AM21",), 30_000, 12_000, 15_000, 5_000),
    "national": Scale(None, 1_000_000, 400_000, 500_000, 170_000),
}


@dataclass
class NationalSources:
    """What :func:`generate` wrote. Paths are strings so that the manifest is plain JSON."""

    scale: str
    seed: int
    out_dir: str
    partners_dir: str
    drop_dir: str
    regions: list[str]
    gemeente_files: dict[str, str]          # partner_id -> delivered file
    layouts: dict[str, str]                 # partner_id -> den_haag | delft | westland
    uwv_files: dict[str, str]               # partner_id -> JSON file of records
    uwv_regions: dict[str, str]             # partner_id -> regio_code
    sis_dbs: dict[str, str]                 # partner_id -> SQLite file
    conn_ids: dict[str, str]                # partner_id -> conn_id (uwv and mbo)
    expected: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # partner -> dataset -> counts

    @property
    def rows(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for datasets in self.expected.values():
            for ds, e in datasets.items():
                out[ds] = out.get(ds, 0) + e["rows"]
        return out

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def deliveries(self) -> list[tuple[str, str]]:
        return [(p, ds) for p in sorted(self.expected) for ds in self.expected[p]]

    def save(self) -> Path:
        path = Path(self.out_dir) / "manifest.json"
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True), encoding="utf-8")
        return path

    @classmethod
    def load(cls, out_dir: Path) -> NationalSources:
        return cls(**json.loads((Path(out_dir) / "manifest.json").read_text(encoding="utf-8")))

    def serve(self):
        """Start one :class:`UwvApiServer` per UWV partner; returns ``(servers, env)`` where ``env`` holds the
        ``AIRFLOW_CONN_*`` variables of every UWV and MBO connection. Stop the servers with ``.stop()``."""
        from regiowerk.demo.uwv_api import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, UwvApiServer

        servers, env = [], self.sql_env()
        for pid, path in sorted(self.uwv_files.items()):
            records = json.loads(Path(path).read_text(encoding="utf-8"))
            api = UwvApiServer(records).start()
            servers.append(api)
            env[_conn_env(self.conn_ids[pid])] = json.dumps(
                {"conn_type": "http", "host": api.url, "login": DEMO_CLIENT_ID, "password": DEMO_CLIENT_SECRET})
        return servers, env

    def sql_env(self) -> dict[str, str]:
        return {_conn_env(self.conn_ids[pid]): json.dumps({"conn_type": "sqlite", "host": path})
                for pid, path in sorted(self.sis_dbs.items())}


def _conn_env(conn_id: str) -> str:
    return "AIRFLOW_CONN_" + conn_id.upper()


# --------------------------------------------------------------------------------------------------- helpers
def _split(total: int, weights: np.ndarray, minimum: int = 20) -> np.ndarray:
    """Integer parts of ``total`` proportional to ``weights`` (largest remainder), each at least ``minimum``."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    raw = w * max(total - minimum * len(w), 0)
    base = np.floor(raw).astype(np.int64)
    rest = max(total - minimum * len(w), 0) - int(base.sum())
    order = np.argsort(-(raw - base), kind="stable")[:rest]
    base[order] += 1
    return base + minimum


def _objects(values: list) -> np.ndarray:
    """A 1-d object array of ``values`` (lists stay list objects, also when they all have the same length)."""
    arr = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        arr[i] = v
    return arr


def _pick(rng: np.random.Generator, values: list | tuple, n: int, p: list | tuple | None = None) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    if p is not None:
        p = np.asarray(p, dtype=float)
        p = p / p.sum()
    return arr[rng.choice(len(values), size=n, p=p)]


_PEIL = pd.Timestamp(PEILDATUM)


def _fmt_days(days: np.ndarray, fmt: str | None, mask: np.ndarray | None = None, empty: Any = "") -> np.ndarray:
    """Day offsets from the peildatum -> formatted strings (or ``date`` objects when fmt is None)."""
    days = np.asarray(days, dtype=np.int64)
    uniq, inv = np.unique(days, return_inverse=True)
    stamps = _PEIL + pd.to_timedelta(uniq, unit="D")
    table = np.empty(len(uniq), dtype=object)
    table[:] = [s.date() for s in stamps] if fmt is None else list(stamps.strftime(fmt))
    out = table[inv.reshape(-1)]
    if mask is not None:
        out[~mask] = empty
    return out


def _bsns(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct valid BSNs as int64 (about 1% below 100,000,000: a leading zero in the 9-digit form)."""
    weights = np.array([9, 8, 7, 6, 5, 4, 3, 2])
    got: list[np.ndarray] = []
    have = 0
    while have < n:
        m = int((n - have) * 1.25) + 64
        d = rng.integers(0, 10, size=(m, 8))
        d[:, 0] = rng.integers(1, 8, size=m)
        zero = rng.random(m) < 0.01
        d[zero, 0] = 0
        d[zero, 1] = rng.integers(1, 10, size=int(zero.sum()))
        s = d @ weights
        check = s % 11
        ok = (check != 10) & (s - check > 0)
        value = (d[ok] @ (10 ** np.arange(8, 0, -1))) + check[ok]
        got.append(value)
        have += len(value)
    allv = pd.unique(np.concatenate(got))
    while len(allv) < n:  # (practically never) collisions ate into the margin
        allv = pd.unique(np.concatenate([allv, _bsns(rng, n - len(allv) + 16)]))
    return allv[:n].astype(np.int64)


def _bsn9(bsn: np.ndarray) -> np.ndarray:
    return np.char.zfill(bsn.astype(str), 9).astype(object)


def _broken(bsn: int) -> int:
    """A typing error in the check digit: fails the elfproef."""
    return int(bsn) // 10 * 10 + (int(bsn) % 10 + 1) % 10


class _Pools:
    """Small name pools (seeded Faker, once); rows draw from them with numpy."""

    def __init__(self, seed: int) -> None:
        from faker import Faker

        fake = Faker("nl_NL")
        fake.seed_instance(seed)

        def pool(make, k: int) -> np.ndarray:
            seen: dict[str, None] = {}
            while len(seen) < k:
                v = make()
                try:
                    v.encode("cp1252")
                except UnicodeEncodeError:
                    continue
                seen[v] = None
            arr = np.empty(k, dtype=object)
            arr[:] = list(seen)
            return arr

        self.first = pool(fake.first_name, 150)
        self.last = pool(fake.last_name, 200)
        self.street = pool(fake.street_name, 120)


def _postcode_areas(code: str) -> list[int]:
    """Real PC4 areas where the demo knows them, else a stable synthetic block of ten PC4 numbers."""
    if code in POSTCODES:
        return POSTCODES[code]
    base = 1000 + (int(code[2:]) * 7919) % 8980
    return list(range(base, base + 10))


@dataclass
class _People:
    bsn: np.ndarray          # int64
    voornaam: np.ndarray
    achternaam: np.ndarray
    straat: np.ndarray
    huisnummer: np.ndarray
    postcode: np.ndarray     # "2512 AB"
    gemeente: np.ndarray
    geboorte_days: np.ndarray  # offset from the peildatum (negative)

    def __len__(self) -> int:
        return len(self.bsn)


def _people(rng: np.random.Generator, pools: _Pools, bsns: np.ndarray, gemeenten: np.ndarray,
            min_age: int = 18, max_age: int = 66) -> _People:
    n = len(bsns)
    pc = np.empty(n, dtype=object)
    for code in pd.unique(gemeenten):
        sel = gemeenten == code
        areas = np.asarray(_postcode_areas(code))
        pc[sel] = areas[rng.integers(0, len(areas), size=int(sel.sum()))].astype(str)
    letters = np.array([a + b for a in _PC_LETTERS for b in _PC_LETTERS if a + b not in ("SA", "SD", "SS")],
                       dtype=object)
    postcode = pc + " " + letters[rng.integers(0, len(letters), size=n)]
    suffix = np.array(["", "", "", "a", "b", "-1", "-2"], dtype=object)
    huis = rng.integers(1, 241, size=n).astype(str).astype(object) + suffix[rng.integers(0, len(suffix), size=n)]
    return _People(
        bsn=bsns, voornaam=pools.first[rng.integers(0, len(pools.first), size=n)],
        achternaam=pools.last[rng.integers(0, len(pools.last), size=n)],
        straat=pools.street[rng.integers(0, len(pools.street), size=n)], huisnummer=huis, postcode=postcode,
        gemeente=np.asarray(gemeenten, dtype=object),
        geboorte_days=-rng.integers(min_age * 365 + 10, max_age * 365 + 300, size=n),
    )


# Driving licences as the demo draws them: 45% none, 40% B, 15% one of six combinations.
_RIJBEWIJZEN: list[tuple[str, ...]] = [(), ("B",), ("B", "BE"), ("B", "C"), ("B", "C", "CE"), ("AM", "B"),
                                       ("A", "B"), ("B", "D")]
_RIJBEWIJS_P = [0.45, 0.40] + [0.025] * 6
# Hours per week per werkfit archetype (the demo's _Gen.hours tables; "low" is the supported 8-11 hours variant).
_HOURS = {
    "werkfit": [12, 16, 20, 24, 24, 28, 32, 32, 36, 38, 40, 18.5, 22.5],
    "werkfit_met_ondersteuning_low": [8, 9, 10, 10.5, 11],
    "werkfit_met_ondersteuning": [12, 16, 20, 24, 32],
    "in_ontwikkeling": [0, 4, 8, 12, 16, 20, 24],
    "niet_bemiddelbaar": [0, 0, 4, 8],
    "onbekend": [0, 0, 4, 8],
}


def _archetypes(rng: np.random.Generator, n: int) -> np.ndarray:
    return _pick(rng, WERKFIT_STATUSES, n, _ARCHETYPE_WEIGHTS)


def _hours(rng: np.random.Generator, arch: np.ndarray, low: np.ndarray) -> np.ndarray:
    out = np.zeros(len(arch), dtype=float)
    for name, values in _HOURS.items():
        if name == "werkfit_met_ondersteuning_low":
            sel = (arch == "werkfit_met_ondersteuning") & low
        elif name == "werkfit_met_ondersteuning":
            sel = (arch == name) & ~low
        else:
            sel = arch == name
        out[sel] = np.asarray(values, dtype=float)[rng.integers(0, len(values), size=int(sel.sum()))]
    return out


def _licences(rng: np.random.Generator, n: int, sep: str | None) -> np.ndarray:
    idx = rng.choice(len(_RIJBEWIJZEN), size=n, p=_RIJBEWIJS_P)
    if sep is None:  # JSON lists, a fresh list object per row
        return _objects([list(_RIJBEWIJZEN[i]) for i in idx.tolist()])
    table = _objects([sep.join(r) for r in _RIJBEWIJZEN])
    return table[idx]


def _beschikbaar_days(rng: np.random.Generator, arch: np.ndarray) -> np.ndarray:
    fit = np.isin(arch, ("werkfit", "werkfit_met_ondersteuning"))
    return np.where(fit, -rng.integers(0, 201, size=len(arch)), rng.integers(-100, 121, size=len(arch)))


def _where(mask: np.ndarray, a: Any, b: Any) -> np.ndarray:
    out = np.empty(len(mask), dtype=object)
    a_arr = a if isinstance(a, np.ndarray) else np.full(len(mask), a, dtype=object)
    b_arr = b if isinstance(b, np.ndarray) else np.full(len(mask), b, dtype=object)
    out[mask] = a_arr[mask]
    out[~mask] = b_arr[~mask]
    return out


def _hours_text(h: np.ndarray, decimal: str) -> np.ndarray:
    whole = np.floor(h) == h
    return _where(whole, h.astype(np.int64).astype(str).astype(object),
                  np.char.replace(np.char.mod("%.1f", h), ".", decimal).astype(object))


# --------------------------------------------------------------------------------------------------- layouts
def _den_haag_frame(rng: np.random.Generator, p: _People, pools: _Pools, start_nr: int) -> pd.DataFrame:
    n, f = len(p), "%d-%m-%Y"
    arch = _archetypes(rng, n)
    low = rng.random(n) < 0.5
    trede = np.select(
        [arch == "werkfit", (arch == "werkfit_met_ondersteuning") & ~low, arch == "werkfit_met_ondersteuning",
         arch == "in_ontwikkeling", arch == "niet_bemiddelbaar"],
        [rng.integers(5, 7, size=n), 4, rng.integers(5, 7, size=n), rng.integers(2, 4, size=n), 1], 0)
    fit = np.isin(arch, ("werkfit", "werkfit_met_ondersteuning"))
    taal = _where(fit, _pick(rng, ["1F", "2F", "2F", "A2", "B1", "3F", "B2"], n),
                  _pick(rng, ["A0", "A1", "1F", "2F", "A2", "B1", ""], n))
    uit = rng.random(n) < 0.1
    start = -rng.integers(60, 2201, size=n)
    uitdag = -rng.integers(1, 91, size=n)
    has_trede = trede > 0
    return pd.DataFrame({
        "Clientnummer": np.char.add("SZW", (100000 + start_nr + np.arange(n)).astype(str)).astype(object),
        "BSN": p.bsn.astype(str).astype(object),  # stored as a number: a leading zero is lost
        "Voornaam": p.voornaam, "Achternaam": p.achternaam, "Straat": p.straat, "Huisnummer": p.huisnummer,
        "Postcode": p.postcode, "Woongemeente": p.gemeente,
        "Geboortedatum": _fmt_days(p.geboorte_days, f),
        "Regeling": _pick(rng, ["PW", "IOAW", "IOAZ", "NUG"], n, [80, 8, 3, 9]),
        "Ingangsdatum uitkering": _fmt_days(start, f),
        "Einddatum uitkering": _fmt_days(uitdag, f, uit),
        "Ontheffing": _where((arch == "niet_bemiddelbaar") & (rng.random(n) < 0.6), "J", "N"),
        "Doelgroepregister": _where(rng.random(n) < 0.08, "J", "N"),
        "Werk- en denkniveau": _where(rng.random(n) < 0.8, _pick(rng, ["1", "2", "2", "3", "3", "3", "4", "4",
                                                                         "5", "6"], n), ""),
        "Taalniveau": taal,
        "Taaltraject": _where(np.isin(taal, ("A0", "A1")) | (rng.random(n) < 0.1), "J", "N"),
        "Rijbewijs": _licences(rng, n, ";"),
        "Uren per week": _hours_text(_hours(rng, arch, low), ","),
        "Beschikbaar per": _fmt_days(_beschikbaar_days(rng, arch), f),
        "Trede": _where(has_trede, trede.astype(str).astype(object), ""),
        "Datum trede": _fmt_days(-rng.integers(5, 331, size=n), f, has_trede),
        "Status": _where(uit, "Beëindigd", "Lopend"),
        "Uitstroomdatum": _fmt_days(uitdag, f, uit),
        "Reden uitstroom": _where(uit, _pick(rng, ["ARB", "ARB", "ARB", "SCH", "VHZ", "DET", "OVG"], n), ""),
        "Peildatum": _fmt_days(np.zeros(n), f),
        "Klantmanager": pools.first[rng.integers(0, len(pools.first), size=n)] + " "
        + pools.last[rng.integers(0, len(pools.last), size=n)],
        "Beroepswens": _beroepswensen(start_nr, n, ";"),
    }, columns=_DH_HEADER)


def _delft_frame(rng: np.random.Generator, p: _People, pools: _Pools, start_nr: int) -> pd.DataFrame:
    n = len(p)
    arch = _archetypes(rng, n)
    low = rng.random(n) < 0.5
    known = arch != "onbekend"
    scores = {d: rng.choice([2, 3, 3, 4, 4, 5], size=n) for d in _ZRM_DOMAINS}
    wo = np.select([arch == "werkfit", (arch == "werkfit_met_ondersteuning") & low,
                    arch == "werkfit_met_ondersteuning", arch == "in_ontwikkeling"],
                   [rng.integers(4, 6, size=n), rng.integers(4, 6, size=n), 3, rng.choice([2, 2, 4], size=n)], 1)
    scores["zrm_werk_en_opleiding"] = wo
    matrix = np.column_stack([scores[d] for d in _ZRM_DOMAINS])
    lowest = matrix.min(axis=1)
    fit = np.isin(arch, ("werkfit", "werkfit_met_ondersteuning"))
    taal = _where(fit, _pick(rng, ["A2", "B1", "B1", "B2", "C1"], n), _pick(rng, ["A0", "A1", "A2", "B1", None], n))
    uit = rng.random(n) < 0.1
    instr = _pick(rng, [None, None, None, "JC", "LKS", "PP", "SCHOL", "JC,LKS", "PP,SCHOL", "BW"], n)
    lic = _licences(rng, n, ",")
    uitdag = -rng.integers(1, 81, size=n)

    def opt(values: np.ndarray) -> np.ndarray:
        return _where(known, values.astype(object), None)

    cols: dict[str, Any] = {
        "clientnummer": (700000 + start_nr + np.arange(n)).astype(object),
        "burgerservicenummer": p.bsn.astype(str).astype(object),  # text cell; Excel lost leading zeros
        "achternaam": p.achternaam, "voorletters": np.array([v[0] + "." for v in p.voornaam], dtype=object),
        "adres": p.straat + " " + p.huisnummer, "postcode": p.postcode, "woongemeente_cbs": p.gemeente,
        "geboortedatum": _fmt_days(p.geboorte_days, None),
        "regeling_code": _pick(rng, ["10", "11", "20", "30", "40"], n, [70, 12, 7, 3, 8]),
        "datum_instroom": _fmt_days(-rng.integers(60, 2501, size=n), None),
        "ontheffing_arbeidsplicht": _where((arch == "niet_bemiddelbaar") & (rng.random(n) < 0.5), "ja", "nee"),
        "taalniveau": taal,
        "inburgering_of_taaltraject": _where(np.isin(taal, ("A0", "A1")), "ja", "nee"),
        "rijbewijs": _where(lic == "", None, lic),
        "uren_beschikbaar": _hours(rng, arch, low).astype(object),
        "beschikbaar_vanaf": _fmt_days(_beschikbaar_days(rng, arch), None),
        **{d: opt(scores[d]) for d in _ZRM_DOMAINS},
        "zrm_laagste_score": opt(lowest),
        "zrm_versie": _where(known, "2017", None),
        "datum_zrm": _fmt_days(-rng.integers(10, 361, size=n), None, known, None),
        "instrumenten": instr,
        "dossierstatus": _where(uit, "gesloten", "open"),
        "datum_uitstroom": _fmt_days(uitdag, None, uit, None),
        "reden_uitstroom": _where(uit, _pick(rng, ["werk", "werk", "werk (deeltijd)", "opleiding", "verhuisd",
                                                   "overig"], n), None),
        "peildatum": _fmt_days(np.zeros(n), None),
        "regisseur": pools.first[rng.integers(0, len(pools.first), size=n)] + " "
        + pools.last[rng.integers(0, len(pools.last), size=n)],
    }
    return pd.DataFrame(cols, columns=_DELFT_HEADER)


def _westland_frame(rng: np.random.Generator, p: _People, woonplaats: np.ndarray) -> pd.DataFrame:
    n, f = len(p), "%d/%m/%Y"
    arch = _archetypes(rng, n)
    low = rng.random(n) < 0.5
    flag = np.select([np.isin(arch, ("werkfit", "werkfit_met_ondersteuning")),
                      np.isin(arch, ("in_ontwikkeling", "niet_bemiddelbaar"))], ["J", "N"], "").astype(object)
    hours = _hours(rng, arch, (arch == "werkfit_met_ondersteuning") | low)
    uit = rng.random(n) < 0.1
    return pd.DataFrame({
        "bsn": p.bsn.astype(str).astype(object),
        "naam": p.achternaam + ", " + p.voornaam,
        "adres": p.straat + " " + p.huisnummer,
        "postcode": p.postcode, "woonplaats": woonplaats, "gemeentecode": p.gemeente,
        "geb_datum": _fmt_days(p.geboorte_days, f),
        "doelgroep": _pick(rng, ["01", "02", "03", "04"], n, [78, 10, 9, 3]),
        "startdatum": _fmt_days(-rng.integers(60, 2401, size=n), f),
        "ontheffing": _where(arch == "niet_bemiddelbaar", "J", "N"),
        "nt2_niveau": _where(flag == "J", _pick(rng, ["A2", "B1", "B1", "B2", "C1"], n),
                             _pick(rng, ["A0", "A1", "A2", "B1", ""], n)),
        "rijbewijs": _licences(rng, n, "|"),
        "uren": _hours_text(hours, "."),
        "beschikbaar_per": _fmt_days(_beschikbaar_days(rng, arch), f),
        "Werkfit": flag,
        "datum_beoordeling": _fmt_days(-rng.integers(5, 301, size=n), f, flag != ""),
        "status": _where(uit, "U", "A"),
        "uitstroomdatum": _fmt_days(-rng.integers(1, 81, size=n), f, uit),
        "uitstroomreden": _where(uit, _pick(rng, ["1", "1", "1", "2", "3", "9"], n), ""),
        "peildatum": _fmt_days(np.zeros(n), f),
    }, columns=_WL_HEADER)


def _updated_at(rng: np.random.Generator, n: int) -> np.ndarray:
    minutes = rng.integers(60, 60 * 24 * 45, size=n)
    stamps = pd.Timestamp(PEILDATUM, tz="UTC") - pd.to_timedelta(minutes, unit="min")
    return np.asarray(stamps.strftime("%Y-%m-%dT%H:%M:00+00:00"), dtype=object)


def _beroepswensen(seed: int, n: int, sep: str) -> np.ndarray:
    """Occupation wishes (0-2 ISCO-08 unit groups, joined by ``sep``) from a generator of their own."""
    rng = np.random.default_rng(seed + 7)
    isco = np.array([c for c, _ in ISCO], dtype=object)
    k = rng.choice([0, 1, 1, 2, 2], size=n)
    return _objects([sep.join(sorted(isco[rng.choice(len(isco), size=int(j), replace=False)])) for j in k])


def _competenties(seed: int, first_isco: list[str | None]) -> np.ndarray:
    """UWV skill labels per row (lists), drawn from the list of the row's ISCO major group (demo.generate
    UWV_COMPETENTIES) with a generator of their own, so the other generated columns stay as they were."""
    rng = np.random.default_rng(seed)
    n = len(first_isco)
    out: list[list[str]] = [[] for _ in range(n)]
    groups = np.array([c[:1] if c else "" for c in first_isco], dtype=object)
    for group, pool in UWV_COMPETENTIES.items():
        rows = np.flatnonzero(groups == group)
        if not len(rows):
            continue
        order = np.argsort(rng.random((len(rows), len(pool))), axis=1)
        k = np.minimum(rng.choice([2, 3, 3, 4], size=len(rows)), len(pool))
        for row, o, kk in zip(rows, order, k, strict=True):
            out[row] = sorted(pool[j] for j in o[:kk])
    return _objects(out)


def _uwv_frame(rng: np.random.Generator, p: _People) -> pd.DataFrame:
    n, iso = len(p), "%Y-%m-%d"
    uitkering = _pick(rng, ["WW", "WAJONG", "WIA"], n, [70, 20, 10])
    arch = _pick(rng, ["werkfit", "werkfit_met_ondersteuning", "in_ontwikkeling", "onbekend"], n, [45, 25, 15, 15])
    arch = _where(uitkering == "WAJONG", "onbekend", arch)
    band = np.select([arch == "werkfit", arch == "werkfit_met_ondersteuning", arch == "in_ontwikkeling"],
                     [rng.integers(3, 5, size=n), 2, 1], 0)
    has_band = band > 0
    fit = np.isin(arch, ("werkfit", "werkfit_met_ondersteuning"))
    hours = _hours(rng, _where(fit, "werkfit", arch), np.zeros(n, dtype=bool))
    uit = rng.random(n) < 0.08
    ww = uitkering == "WW"
    start = np.where(ww, -rng.integers(20, 701, size=n), -rng.integers(200, 5001, size=n))
    uitdatum = _fmt_days(-rng.integers(1, 61, size=n), iso, uit, None)
    isco = np.array([c for c, _ in ISCO], dtype=object)
    k = rng.choice([0, 1, 2, 2, 3], size=n)
    wensen = [list(isco[rng.choice(len(isco), size=int(j), replace=False)]) if j else [] for j in k]
    return pd.DataFrame({
        "bsn": _bsn9(p.bsn),
        "woonplaatsGemeentecode": p.gemeente,
        "postcode": np.char.replace(p.postcode.astype(str), " ", "").astype(object),
        "geboortedatum": _fmt_days(p.geboorte_days, iso),
        "uitkering": uitkering,
        "uitkeringStartdatum": _fmt_days(start, iso),
        "uitkeringEinddatum": uitdatum,
        "doelgroepregister": (uitkering == "WAJONG") & (rng.random(n) < 0.7),
        "opleidingsniveau": np.where(ww, rng.choice([2, 3, 3, 4, 4, 5, 6, 7], size=n),
                                     rng.choice([1, 2, 2, 3], size=n)),
        "taalniveau": _pick(rng, ["B1", "B2", "C1", "C2", "A2", "ONBEKEND"], n),
        "rijbewijzen": _licences(rng, n, None),
        "urenPerWeek": hours,
        "beschikbaarVanaf": _fmt_days(_beschikbaar_days(rng, arch), iso),
        "beroepswensen": _objects(wensen),
        "werkverkennerBand": _where(has_band, band.astype(object), None),
        "werkverkennerDatum": _fmt_days(-rng.integers(10, 201, size=n), iso, has_band, None),
        "status": _where(uit, "BEEINDIGD", "ACTIEF"),
        "uitstroomDatum": uitdatum,
        "uitstroomReden": _where(uit, _pick(rng, ["WERKHERVATTING", "WERKHERVATTING", "EINDE_DUUR", "SCHOLING",
                                                  "OVERIG"], n), None),
        "peildatum": _fmt_days(np.zeros(n), iso),
        "updated_at": _updated_at(rng, n),
        "competenties": _competenties(n, [w[0] if w else None for w in wensen]),
    })


def _vacature_frame(rng: np.random.Generator, n: int, gemeenten: list[str], prefix: str) -> pd.DataFrame:
    iso = "%Y-%m-%d"
    isco_idx = rng.integers(0, len(ISCO), size=n)
    isco = np.array([c for c, _ in ISCO], dtype=object)[isco_idx]
    sector = np.array([s for _, s in ISCO], dtype=object)[isco_idx]
    first = np.array([c[0] for c in isco], dtype=object)
    lvl = np.select([first == "2", first == "3", first == "4", first == "5", first == "9"],
                    [rng.integers(5, 8, size=n), rng.integers(4, 6, size=n), rng.integers(3, 5, size=n),
                     rng.integers(2, 4, size=n), rng.integers(1, 3, size=n)], rng.integers(2, 5, size=n))
    kvks = rng.integers(10_000_000, 100_000_000, size=max(10, n // 3)).astype(str).astype(object)
    rijb = _objects([["C", "CE"] if c == "8332" else ["B"] if c in ("8322", "7411", "7126") else [] for c in isco])
    return pd.DataFrame({
        "vacatureId": np.char.add(f"V{PEILDATUM.year}{prefix}", np.char.zfill(np.arange(1, n + 1).astype(str), 7)
                                  ).astype(object),
        "kvkNummer": kvks[rng.integers(0, len(kvks), size=n)],
        "werklocatieGemeentecode": _pick(rng, gemeenten, n),
        "iscoCode": isco, "sector": sector,
        "urenPerWeek": rng.choice([12, 16, 20, 24, 24, 32, 32, 36, 38, 40], size=n),
        "contractvorm": _pick(rng, ["VAST", "BEPAALDE_TIJD", "UITZEND", "OPROEP", "BBL"], n, [25, 40, 20, 10, 5]),
        "opleidingsniveauMinimaal": lvl,
        "taalniveauMinimaal": _where(np.isin(first, list("45789")), _pick(rng, ["A2", "A2", "B1", "B1", "B2"], n),
                                     _pick(rng, ["B1", "B2", "C1"], n)),
        "rijbewijsVereist": rijb,
        "aantalPlekken": rng.choice([1, 1, 1, 2, 2, 3, 5, 10], size=n),
        "openSinds": _fmt_days(-rng.integers(1, 121, size=n), iso),
        "sluitingsdatum": _fmt_days(rng.choice([7, 14, 30, 42, 60, 90], size=n), iso, rng.random(n) < 0.8, None),
        "banenafspraak": rng.random(n) < 0.12,
        "peildatum": _fmt_days(np.zeros(n), iso),
        "updated_at": _updated_at(rng, n),
        "competenties": _competenties(n + 1, list(isco)),
    })


def _gewijzigd(rng: np.random.Generator, n: int) -> np.ndarray:
    minutes = rng.integers(30, 60 * 24 * 60, size=n)
    stamps = pd.Timestamp(PEILDATUM) - pd.to_timedelta(minutes, unit="min")
    return np.asarray(stamps.strftime("%Y-%m-%d %H:%M:%S"), dtype=object)


def _enrol_frame(rng: np.random.Generator, p: _People, brin: str, start_nr: int) -> pd.DataFrame:
    n = len(p)
    c = rng.integers(0, len(CREBO), size=n)
    crebo = np.array(CREBO, dtype=object)
    niveau = np.array([x[2] for x in CREBO])[c]
    start_year = PEILDATUM.year - rng.choice([0, 0, 1, 1, 2, 3], size=n)
    start_month = rng.choice([8, 8, 8, 9, 2], size=n)
    start_day = rng.choice([1, 15, 25, 28], size=n)
    start = pd.to_datetime(pd.DataFrame({"year": start_year, "month": start_month, "day": start_day}))
    future = start > _PEIL
    start = start.where(~future, pd.to_datetime(pd.DataFrame({"year": start_year - 1, "month": 8, "day": 29})))
    eind = pd.to_datetime(pd.DataFrame({"year": start.dt.year + niveau, "month": 7, "day": 31}))
    status = _where((eind >= _PEIL).to_numpy(), "ING", _pick(rng, ["GED", "GED", "UIT"], n))
    status = _where(rng.random(n) < 0.07, "UIT", status)
    return pd.DataFrame({
        "DEELNEMERNUMMER": 2_000_000 + start_nr + np.arange(n),
        "BSN": p.bsn, "ROEPNAAM": p.voornaam, "ACHTERNAAM": p.achternaam, "BRIN": brin,
        "CREBO": np.array([x[0] for x in crebo])[c].astype(object),
        "OPLEIDING": np.array([x[1] for x in crebo])[c].astype(object), "NIVEAU": niveau,
        "LEERWEG": _pick(rng, ["BOL", "BBL", "EXT"], n, [72, 25, 3]),
        "SECTOR": np.array([x[3] for x in crebo])[c].astype(object),
        "STARTDATUM": start.dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
        "VERWACHTE_EINDDATUM": eind.dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
        "STATUS": status, "WOONGEMEENTE": p.gemeente,
        "PEILDATUM": PEILDATUM.isoformat(), "GEWIJZIGD_OP": _gewijzigd(rng, n),
    }, columns=_DEELNEMERS_COLS)


def _diploma_frame(rng: np.random.Generator, p: _People, brin: str, start_nr: int) -> pd.DataFrame:
    n = len(p)
    choices = [x for x in CREBO if x[2] >= 2]
    c = rng.integers(0, len(choices), size=n)
    year = PEILDATUM.year - rng.integers(0, 4, size=n)
    d = pd.to_datetime(pd.DataFrame({"year": year, "month": rng.choice([6, 7, 7, 1], size=n),
                                     "day": rng.choice([1, 5, 10, 28], size=n)}))
    d = d.where(d <= _PEIL, pd.to_datetime(pd.DataFrame({"year": year - 1, "month": 7, "day": 5})))
    return pd.DataFrame({
        "DIPLOMANUMMER": 9_000_000 + start_nr + np.arange(n), "BSN": p.bsn, "BRIN": brin,
        "CREBO": np.array([x[0] for x in choices], dtype=object)[c],
        "OPLEIDING": np.array([x[1] for x in choices], dtype=object)[c],
        "NIVEAU": np.array([x[2] for x in choices])[c],
        "SECTOR": np.array([x[3] for x in choices], dtype=object)[c],
        "DIPLOMADATUM": d.dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
        "PEILDATUM": PEILDATUM.isoformat(), "GEWIJZIGD_OP": _gewijzigd(rng, n),
    }, columns=_DIPLOMA_COLS)


# --------------------------------------------------------------------------------------------------- defects
# The demo's defect per kind, per layout: (column, value); "invalid_bsn" breaks the row's own BSN, "duplicate_row"
# copies another row of the delivery. Kinds without a spec do not apply (no BSN in vacatures ...).
_BSN = object()
DEFECT_SPECS: dict[str, dict[str, tuple[str | None, Any]]] = {
    "den_haag": {"invalid_bsn": ("BSN", _BSN), "unknown_gemeente": ("Woongemeente", UNKNOWN_GEMEENTE),
                 "duplicate_row": (None, None), "impossible_date": ("Ingangsdatum uitkering", "31-02-2026"),
                 "missing_required": ("Regeling", ""), "unmapped_code": ("Regeling", "XX")},
    "delft": {"invalid_bsn": ("burgerservicenummer", _BSN), "unknown_gemeente": ("woongemeente_cbs",
                                                                                 UNKNOWN_GEMEENTE),
              "duplicate_row": (None, None), "impossible_date": ("datum_zrm", "2026-02-30"),
              "missing_required": ("woongemeente_cbs", None), "unmapped_code": ("regeling_code", "99")},
    "westland": {"invalid_bsn": ("bsn", _BSN), "unknown_gemeente": ("gemeentecode", UNKNOWN_GEMEENTE),
                 "duplicate_row": (None, None), "impossible_date": ("geb_datum", "31/04/1990"),
                 "missing_required": ("doelgroep", ""), "unmapped_code": ("doelgroep", "09")},
    "uwv_werkzoekenden": {"invalid_bsn": ("bsn", _BSN), "unknown_gemeente": ("woonplaatsGemeentecode",
                                                                             UNKNOWN_GEMEENTE),
                          "duplicate_row": (None, None),
                          "impossible_date": ("beschikbaarVanaf", f"{PEILDATUM.year}-11-31"),
                          "missing_required": ("status", None), "unmapped_code": ("uitkering", "TW")},
    "uwv_vacatures": {"unknown_gemeente": ("werklocatieGemeentecode", UNKNOWN_GEMEENTE),
                      "duplicate_row": (None, None), "impossible_date": ("openSinds", f"{PEILDATUM.year}-09-31"),
                      "missing_required": ("iscoCode", None), "unmapped_code": ("contractvorm", "ZZP")},
    "mbo_inschrijvingen": {"invalid_bsn": ("BSN", _BSN), "unknown_gemeente": ("WOONGEMEENTE", UNKNOWN_GEMEENTE),
                           "duplicate_row": (None, None),
                           "impossible_date": ("STARTDATUM", f"{PEILDATUM.year - 1}-09-31"),
                           "missing_required": ("CREBO", None), "unmapped_code": ("LEERWEG", "DUAAL")},
    "mbo_diplomas": {"invalid_bsn": ("BSN", _BSN), "duplicate_row": (None, None),
                     "impossible_date": ("DIPLOMADATUM", f"{PEILDATUM.year}-06-31"),
                     "missing_required": ("CREBO", None), "unmapped_code": ("SECTOR", "XX")},
}


def _add_defects(rng: np.random.Generator, frame: pd.DataFrame, spec_name: str) -> dict[str, Any]:
    """Put defects into ``frame`` in place (one kind per defect row); return the expected counts."""
    specs = DEFECT_SPECS[spec_name]
    kinds = [k for k in DEFECT_KINDS if k in specs]
    n = len(frame)
    k = max(len(kinds), int(round(n * DEFECT_SHARE)))
    positions = rng.choice(n, size=min(k, n // 2), replace=False)
    counts = dict.fromkeys(DEFECT_KINDS, 0)
    dups: list[int] = []
    for i, pos in enumerate(positions.tolist()):
        kind = kinds[i % len(kinds)]
        counts[kind] += 1
        col, value = specs[kind]
        if kind == "duplicate_row":
            dups.append(pos)
            continue
        if value is _BSN:
            old = frame.iat[pos, frame.columns.get_loc(col)]
            new = _broken(int(old))
            value = new if isinstance(old, (int, np.integer)) else (f"{new:09d}" if len(str(old)) == 9
                                                                     else str(new))
        frame.iat[pos, frame.columns.get_loc(col)] = value
    if dups:
        taken = set(positions.tolist())
        free = np.array([i for i in range(n) if i not in taken])
        sources = free[rng.choice(len(free), size=len(dups), replace=False)]
        for j in range(frame.shape[1]):
            frame.iloc[dups, j] = frame.iloc[sources, j].to_numpy()
    return {"rows": n, "defects": counts, "defect_rows": int(sum(counts.values()))}


# --------------------------------------------------------------------------------------------------- writers
def _write_csv(frame: pd.DataFrame, path: Path, sep: str, encoding: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = frame.to_csv(sep=sep, index=False, lineterminator="\r\n")
    path.write_bytes(text.encode(encoding))


_EPOCH = date(1899, 12, 30)
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def _col_letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _sheet_xml(rows: list[list[Any]]) -> bytes:
    """SpreadsheetML of a sheet: text as inline strings, numbers, dates as serials with the date style (s=1)."""
    letters = [_col_letter(j) for j in range(max((len(r) for r in rows), default=0))]
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.'
           'openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    for i, row in enumerate(rows, start=1):
        cells = []
        for letter, v in zip(letters, row, strict=False):
            if v is None or (isinstance(v, float) and v != v):
                continue
            if isinstance(v, str):
                cells.append(f'<c r="{letter}{i}" t="inlineStr"><is><t xml:space="preserve">'
                             f'{v.translate(_XML_ESCAPES)}</t></is></c>')
            elif isinstance(v, date):
                cells.append(f'<c r="{letter}{i}" s="1"><v>{(v - _EPOCH).days}</v></c>')
            elif isinstance(v, (bool, np.bool_)):
                cells.append(f'<c r="{letter}{i}" t="b"><v>{int(v)}</v></c>')
            else:
                cells.append(f'<c r="{letter}{i}"><v>{v}</v></c>')
        out.append(f'<row r="{i}">{"".join(cells)}</row>')
    out.append("</sheetData></worksheet>")
    return "".join(out).encode("utf-8")


_XLSX_STATIC = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.'
    'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
    'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/worksheets/'
    'sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.styles+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.'
    'openxmlformats-package.core-properties+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://'
    'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
    'core-properties" Target="docProps/core.xml"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://'
    'schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships"><sheets><sheet name="ZRM" sheetId="1" r:id="rId1"/><sheet '
    'name="Toelichting" sheetId="2" r:id="rId2"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
    'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
    'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet2.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.'
    'org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>',
    "xl/styles.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="http://'
    'schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" '
    'formatCode="dd\\-mm\\-yyyy"/></numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font>'
    '</fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill '
    'patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/>'
    '</border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf '
    'numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>',
}


def _write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    """Sheet ``ZRM`` with real date cells (format DD-MM-YYYY) and a ``Toelichting`` sheet, like the demo's Delft
    export. Written as SpreadsheetML directly: openpyxl needs ~ms per row, too slow for national scale (the demo
    generator's openpyxl writer has no reusable fast path). Fixed zip timestamps: byte-identical per input."""
    import zipfile

    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime(PEILDATUM.year, PEILDATUM.month, PEILDATUM.day, 6, 0, 0)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    columns = [frame[c].tolist() for c in frame.columns]
    parts = dict(_XLSX_STATIC)
    rows = [list(r) for r in zip(*columns, strict=True)]
    parts["xl/worksheets/sheet1.xml"] = _sheet_xml([list(frame.columns), *rows])
    parts["xl/worksheets/sheet2.xml"] = _sheet_xml([
        ["Export Zelfredzaamheid-Matrix (ZRM 2017), team Werk en Inkomen"], ["Peildatum", PEILDATUM],
        ["Regelingcodes", "10 PW, 11 PW jongeren <27, 20 IOAW, 30 IOAZ, 40 NUG"]])
    parts["docProps/core.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties xmlns:cp="http://schemas.'
        'openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<dc:creator>GWS4all rapportage</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">'
        f'{iso}</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">{iso}</dcterms:modified>'
        '</cp:coreProperties>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, content if isinstance(content, bytes) else content.encode("utf-8"))
    path.write_bytes(buf.getvalue())


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.to_dict("records")
    for rec in out:
        for key, value in rec.items():
            if isinstance(value, float) and value != value:
                rec[key] = None
    return out


def _write_partner(template: str, out: Path, changes: dict[str, Any], connector: dict[str, Any] | None = None,
                   sources: dict[str, str] | None = None) -> None:
    # the project's own demo partners (not REGIOWERK_PARTNERS_DIR, which may point at generated partners)
    data = yaml.safe_load((paths().root / "partners" / template).read_text(encoding="utf-8"))
    data.update(changes)
    # only the datasets this generator writes (the demo partners also deliver plaatsingen, not generated here)
    data["datasets"] = {ds: m for ds, m in data["datasets"].items() if ds != "plaatsingen"}
    if connector:
        data["connector"].update(connector)
    for ds, source in (sources or {}).items():
        data["datasets"][ds]["source"] = source
    out.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Generated by regiowerk.demo.national from partners/{template} (synthetic national benchmark).\n"
    out.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _schools(regions: list[str]) -> dict[str, int]:
    """MBO schools per region: one each, the rest of the 60 to the regions with the most gemeenten."""
    all_regions = sorted(reference.regios())
    size = {r: len(reference.gemeenten_in(r)) for r in all_regions}
    count = dict.fromkeys(all_regions, 1)
    for r in sorted(all_regions, key=lambda r: (-size[r], r))[:N_SCHOOLS_NATIONAL - len(all_regions)]:
        count[r] += 1
    return {r: count[r] for r in regions}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


# --------------------------------------------------------------------------------------------------- entry point
MARKER = ".regiowerk-national"


def _fresh_dir(path: Path) -> None:
    """Empty a folder this module made before (it holds :data:`MARKER`); refuse to empty anything else."""
    if path.exists() and any(path.iterdir()):
        if not (path / MARKER).exists():
            raise FileExistsError(f"{path} is not empty and was not written by regiowerk.demo.national; "
                                  f"choose an empty folder")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("generated by regiowerk.demo.national; emptied on the next run\n", encoding="utf-8")


def generate(scale: str, out_dir: Path, seed: int = 35, *, partners_dir: Path | None = None,
             drop_dir: Path | None = None) -> NationalSources:
    """Write the sources and partner YAMLs of ``scale`` under ``out_dir``; same arguments -> identical files.

    ``partners_dir`` / ``drop_dir`` (default ``out_dir/partners`` and ``out_dir/drop``) put the partner YAMLs
    and the gemeente files elsewhere (e.g. where REGIOWERK_PARTNERS_DIR / REGIOWERK_DROP_DIR point)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    sc = SCALES[scale]
    out_dir = Path(out_dir).resolve()
    partners_dir = Path(partners_dir).resolve() if partners_dir else out_dir / "partners"
    drop_dir = Path(drop_dir).resolve() if drop_dir else out_dir / "drop"
    out_dir.mkdir(parents=True, exist_ok=True)
    for sub in (partners_dir, drop_dir, out_dir / "uwv", out_dir / "mbo"):
        _fresh_dir(sub)
    rng = np.random.default_rng(seed)
    pools = _Pools(seed)
    regions = sorted(sc.regions or reference.regios())
    regio_naam = reference.regios()
    gem = [g for r in regions for g in reference.gemeenten_in(r)]
    all_codes = sorted(reference.gemeenten())

    n_gem_wz = int(round(sc.werkzoekenden * sc.gemeente_share))
    gem_weights = rng.lognormal(0.0, 0.8, size=len(gem))
    gem_rows = _split(n_gem_wz, gem_weights)
    region_weights = np.array([sum(w for g, w in zip(gem, gem_weights, strict=True) if g.regio_code == r)
                               for r in regions])
    uwv_rows = _split(sc.werkzoekenden - n_gem_wz, region_weights)
    vac_rows = _split(sc.vacatures, region_weights)
    schools = [(r, i) for r, k in _schools(regions).items() for i in range(1, k + 1)]
    school_weights = rng.lognormal(0.0, 0.5, size=len(schools))
    enrol_rows = _split(sc.mbo_inschrijvingen, school_weights)
    dipl_rows = _split(sc.mbo_diplomas, school_weights, minimum=10)
    bsns = _bsns(rng, int(gem_rows.sum() + uwv_rows.sum() + enrol_rows.sum() + dipl_rows.sum()))
    taken = 0

    def next_bsns(k: int) -> np.ndarray:
        nonlocal taken
        taken += k
        return bsns[taken - k:taken]

    src = NationalSources(scale=scale, seed=seed, out_dir=str(out_dir), partners_dir=str(partners_dir),
                          drop_dir=str(drop_dir), regions=regions, gemeente_files={}, layouts={}, uwv_files={},
                          uwv_regions={}, sis_dbs={}, conn_ids={})
    layouts = _pick(rng, LAYOUTS, len(gem), LAYOUT_WEIGHTS)

    # ---- gemeenten
    for g, n, layout in zip(gem, gem_rows.tolist(), layouts.tolist(), strict=False):
        pid = f"gemeente_{g.code.lower()}"
        codes = np.full(n, g.code, dtype=object)
        people = _people(rng, pools, next_bsns(n), codes)
        if layout == "den_haag":
            frame = _den_haag_frame(rng, people, pools, 0)
            path = drop_dir / pid / f"clienten_{PEILDATUM:%Y-%m-%d}.csv"
        elif layout == "delft":
            frame = _delft_frame(rng, people, pools, 0)
            path = drop_dir / pid / f"zrm_export_{PEILDATUM:%Y-%m}.xlsx"
        else:
            frame = _westland_frame(rng, people, np.full(n, g.naam, dtype=object))
            path = drop_dir / pid / f"werkzoekenden_{PEILDATUM:%Y%m%d}.csv"
        expected = _add_defects(rng, frame, layout)
        if layout == "den_haag":
            _write_csv(frame, path, ";", "cp1252")
        elif layout == "delft":
            _write_xlsx(frame, path)
        else:
            _write_csv(frame, path, ",", "utf-8-sig")
        _write_partner(TEMPLATES[layout], partners_dir / f"{pid}.yml", {
            "partner_id": pid, "naam": f"Gemeente {g.naam} - Werk en Inkomen", "regio_code": g.regio_code,
            "gemeente_code": g.code, "contact": f"werk.inkomen.data@{_slug(g.naam)}.example"},
            connector={"directory": pid})
        src.gemeente_files[pid], src.layouts[pid] = str(path), layout
        src.expected[pid] = {"werkzoekenden": expected}

    # ---- UWV per region
    for r, n_wz, n_vac in zip(regions, uwv_rows.tolist(), vac_rows.tolist(), strict=False):
        pid, conn = f"uwv_{r.lower()}", f"regiowerk_uwv_{r.lower()}"
        codes = [g.code for g in reference.gemeenten_in(r)]
        w = np.array([gem_weights[i] for i, g in enumerate(gem) if g.regio_code == r])
        people = _people(rng, pools, next_bsns(n_wz), _pick(rng, codes, n_wz, w), min_age=22)
        wz = _uwv_frame(rng, people)
        e_wz = _add_defects(rng, wz, "uwv_werkzoekenden")
        vac = _vacature_frame(rng, n_vac, codes, r[2:])
        e_vac = _add_defects(rng, vac, "uwv_vacatures")
        path = out_dir / "uwv" / f"{r}.json"
        path.write_text(json.dumps({"/werkzoekenden": _records(wz), "/vacatures": _records(vac)},
                                   ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        _write_partner(TEMPLATES["uwv"], partners_dir / f"{pid}.yml", {
            "partner_id": pid, "naam": f"UWV WERKbedrijf {regio_naam[r]}", "regio_code": r,
            "contact": f"regio.{_slug(regio_naam[r])}.data@uwv.example"}, connector={"conn_id": conn})
        src.uwv_files[pid], src.uwv_regions[pid], src.conn_ids[pid] = str(path), r, conn
        src.expected[pid] = {"werkzoekenden": e_wz, "vacatures": e_vac}

    # ---- MBO schools
    for (r, i), n_e, n_d in zip(schools, enrol_rows.tolist(), dipl_rows.tolist(), strict=False):
        brin = f"{int(r[2:]):02d}{chr(ord('A') + i - 1)}{chr(ord('A') + (int(r[2:]) * 7 + i) % 26)}"
        pid, conn = f"mbo_{brin.lower()}", f"regiowerk_mbo_{brin.lower()}"
        codes = [g.code for g in reference.gemeenten_in(r)]
        home = _pick(rng, codes, n_e)
        home = _where(rng.random(n_e) < 0.05, _pick(rng, all_codes, n_e), home)  # neighbouring regions
        enrol = _enrol_frame(rng, _people(rng, pools, next_bsns(n_e), home, 16, 24), brin, 0)
        e_enrol = _add_defects(rng, enrol, "mbo_inschrijvingen")
        dipl = _diploma_frame(rng, _people(rng, pools, next_bsns(n_d), _pick(rng, codes, n_d), 18, 28), brin, 0)
        e_dipl = _add_defects(rng, dipl, "mbo_diplomas")
        # the SQL connector reads ORDER BY GEWIJZIGD_OP: store rows in that order (as the demo does)
        enrol = enrol.sort_values("GEWIJZIGD_OP", kind="stable")
        dipl = dipl.sort_values("GEWIJZIGD_OP", kind="stable")
        path = out_dir / "mbo" / f"{pid}.sqlite"
        _write_sis(path, [_Row(rec, None) for rec in _records(enrol)], [_Row(rec, None) for rec in _records(dipl)])
        _write_partner(TEMPLATES["mbo"], partners_dir / f"{pid}.yml", {
            "partner_id": pid, "naam": f"MBO-school {brin} ({regio_naam[r]})", "regio_code": r,
            "contact": f"informatiemanagement@{brin.lower()}.example"}, connector={"conn_id": conn})
        src.sis_dbs[pid], src.conn_ids[pid] = str(path), conn
        src.expected[pid] = {"mbo_inschrijvingen": e_enrol, "mbo_diplomas": e_dipl}

    src.save()
    return src


# --------------------------------------------------------------------------------------------------- CLI
def _cmd_generate(args: argparse.Namespace) -> int:
    import time

    started = time.perf_counter()
    src = generate(args.scale, Path(args.out), seed=args.seed)
    print(f"scale {src.scale}: {len(src.regions)} region(s), {len(src.gemeente_files)} gemeenten, "
          f"{len(src.uwv_files)} UWV, {len(src.sis_dbs)} MBO schools; rows {src.rows} "
          f"({src.total_rows} in total) in {time.perf_counter() - started:.1f}s")
    print(f"partners: {src.partners_dir}\ndrop:     {src.drop_dir}\nmanifest: {Path(src.out_dir) / 'manifest.json'}")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """``regiowerk generate --scale {tiny,region,national} --out DIR`` (wired into cli.py by the caller)."""
    p = subparsers.add_parser(
        "generate", help="write synthetic partner sources for 2 regions, one region or all 35",
        description="Writes synthetic sources with real region and gemeente codes: every gemeente of the chosen "
                    "regions in one of the three demo export layouts, UWV records per region (JSON, served by "
                    "the local UWV API) and MBO schools as SQLite databases, plus partner YAMLs in DIR/partners.")
    p.add_argument("--scale", choices=sorted(SCALES), default="tiny")
    p.add_argument("--out", required=True, help="output folder (partners/, drop/, uwv/, mbo/, manifest.json)")
    p.add_argument("--seed", type=int, default=35)
    p.set_defaults(func=_cmd_generate)
    return p


if __name__ == "__main__":
    import sys

    parser = argparse.ArgumentParser(prog="python -m regiowerk.demo.national")
    add_parser(parser.add_subparsers(dest="command", required=True))
    ns = parser.parse_args(["generate", *sys.argv[1:]])
    sys.exit(ns.func(ns))
