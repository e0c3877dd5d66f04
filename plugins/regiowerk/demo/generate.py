"""Deterministic demo deliveries for region AM21 Haaglanden.

``generate_demo`` writes what the five demo partners in ``partners/`` deliver, in their own layouts:

* ``gemeente_den_haag``: ``<drop>/gemeente_den_haag/clienten_<YYYY-MM-DD>.csv`` (cp1252, ``;``, decimal comma,
  Participatieladder, local regeling codes, names and street in the export);
  and its placements in ``<drop>/gemeente_den_haag/plaatsingen_<YYYY-MM-DD>.csv`` (same conventions);
* ``gemeente_delft``: ``<drop>/gemeente_delft/zrm_export_<YYYY-MM>.xlsx`` (sheet ``ZRM``, Zelfredzaamheid-Matrix
  2017, real date cells);
* ``gemeente_westland``: ``<drop>/gemeente_westland/werkzoekenden_<YYYYMMDD>.csv`` (UTF-8 with BOM, ``,``,
  its own J/N werkfit flag);
* ``uwv_haaglanden``: JSON records for ``/werkzoekenden``, ``/vacatures`` and ``/plaatsingen`` (returned, to be
  served by the local UWV API; every record carries ``updated_at``);
* ``mbo_roc_mondriaan``: a SQLite student information system with tables ``deelnemers`` and ``diplomas``.

Everything is derived from one seeded :class:`random.Random` and one seeded ``Faker("nl_NL")``: the same
arguments give byte-identical files. Persons overlap across sources (a Den Haag client with WW at UWV, Delft
and Westland clients enrolled at ROC Mondriaan, WW'ers with a Mondriaan diploma). Every source carries the
same six kinds of realistic defects (see :data:`DEFECT_KINDS`), one row each, so the pipeline's quarantine can
be reconciled against ``DemoSources.expected``.
"""

from __future__ import annotations

import copy
import csv
import io
import random
import re
import sqlite3
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from faker import Faker

REGIO = "AM21"
DEN_HAAG, DELFT, RIJSWIJK, WESTLAND, MIDDEN_DELFLAND = "GM0518", "GM0503", "GM0603", "GM1783", "GM1842"
# Neighbouring gemeenten (AM34 Zuid-Holland Centraal) some Mondriaan students live in: valid codes, not defects.
ZOETERMEER, LEIDSCHENDAM_VOORBURG, PIJNACKER_NOOTDORP = "GM0637", "GM1916", "GM1926"
UNKNOWN_GEMEENTE = "GM9999"
BRIN = "25LJ"

DEFECT_KINDS: tuple[str, ...] = (
    "invalid_bsn",        # BSN fails the elfproef
    "unknown_gemeente",   # GM9999: not a CBS gemeente code
    "duplicate_row",      # an exact copy of another row in the same delivery
    "impossible_date",    # a calendar date that does not exist (31-02, 31-04, month 13 ...)
    "missing_required",   # a required canonical column left empty
    "unmapped_code",      # a local code the partner file has no mapping for
)

# Real PC4 areas per gemeente.
POSTCODES: dict[str, list[int]] = {
    DEN_HAAG: list(range(2491, 2499)) + list(range(2511, 2598)),
    DELFT: list(range(2611, 2630)),
    RIJSWIJK: list(range(2280, 2290)),
    WESTLAND: [2291, 2292, 2671, 2672, 2673, 2675, 2676, 2678, 2681, 2684, 2685, 2691, 2692],
    MIDDEN_DELFLAND: [2635, 2636, 3155],
    ZOETERMEER: list(range(2711, 2730)),
    LEIDSCHENDAM_VOORBURG: [2261, 2262, 2263, 2264, 2265, 2266, 2271, 2272, 2273, 2274, 2275],
    PIJNACKER_NOOTDORP: [2631, 2641, 2642, 2643],
}
WESTLAND_WOONPLAATS = {
    2291: "Wateringen", 2292: "Wateringen", 2671: "Naaldwijk", 2672: "Naaldwijk", 2673: "Naaldwijk",
    2675: "Honselersdijk", 2676: "Maasdijk", 2678: "De Lier", 2681: "Monster", 2684: "Ter Heijde",
    2685: "Poeldijk", 2691: "'s-Gravenzande", 2692: "'s-Gravenzande",
}
_PC_LETTERS = "ABCDEGHJKLMNPRSTVWXZ"

# ISCO-08 unit groups common in Haaglanden vacancies, with the sector they mostly occur in.
ISCO: list[tuple[str, str]] = [
    ("5223", "handel"), ("5230", "handel"), ("5120", "horeca"), ("5131", "horeca"), ("9412", "horeca"),
    ("9112", "schoonmaak"), ("9122", "schoonmaak"), ("8322", "logistiek"), ("8332", "logistiek"),
    ("9333", "logistiek"), ("4321", "logistiek"), ("5321", "zorg"), ("3221", "zorg"), ("2221", "zorg"),
    ("5322", "zorg"), ("7411", "techniek"), ("7126", "techniek"), ("7233", "techniek"), ("7115", "bouw"),
    ("9313", "bouw"), ("2512", "ict"), ("3512", "ict"), ("4110", "administratie"), ("4311", "administratie"),
    ("4222", "administratie"), ("6113", "landbouw"), ("9214", "landbouw"), ("5311", "onderwijs"),
    ("2341", "onderwijs"), ("3343", "overheid"), ("5414", "overig"),
]
# Illustrative MBO qualifications (crebo, name, niveau, Mondriaan sector code).
CREBO: list[tuple[str, str, int, str]] = [
    ("25998", "Entree - assistent", 1, "EN"), ("25480", "Helpende zorg en welzijn", 2, "ZW"),
    ("25655", "Verzorgende-IG", 3, "ZW"), ("25656", "Mbo-verpleegkundige", 4, "ZW"),
    ("25698", "Pedagogisch medewerker", 3, "ON"), ("25257", "Logistiek medewerker", 2, "LO"),
    ("25258", "Logistiek teamleider", 3, "LO"), ("25604", "Software developer", 4, "IC"),
    ("25187", "Medewerker ICT support", 2, "IC"), ("25261", "Eerste monteur elektrotechniek", 3, "TE"),
    ("25322", "Timmerman", 2, "BO"), ("25168", "Zelfstandig werkend kok", 3, "HO"),
    ("25171", "Medewerker bediening", 2, "HO"), ("25251", "Medewerker teelt", 2, "GR"),
    ("25140", "Medewerker schoonmaak", 2, "SC"), ("25196", "Verkoopmedewerker", 2, "HA"),
    ("25130", "Secretarieel medewerker", 3, "EA"),
]
# UWV's own skill labels (mapped onto the VUM gedragscompetenties in partners/uwv_haaglanden.yml) and, per
# ISCO-08 major group, the skills the demo draws from: illustrative, not a published occupation profile.
UWV_COMPETENTIES: dict[str, tuple[str, ...]] = {
    "1": ("BESLISSEN_EN_ACTIVITEITEN_INITIEREN", "AANSTUREN", "PLANNEN_EN_ORGANISEREN", "BEDRIJFSMATIG_HANDELEN"),
    "2": ("ANALYSEREN", "ONDERZOEKEN", "FORMULEREN_EN_RAPPORTEREN", "VAKDESKUNDIGHEID_TOEPASSEN", "LEREN"),
    "3": ("VAKDESKUNDIGHEID_TOEPASSEN", "ANALYSEREN", "SAMENWERKEN_EN_OVERLEGGEN", "KWALITEIT_LEVEREN"),
    "4": ("PLANNEN_EN_ORGANISEREN", "FORMULEREN_EN_RAPPORTEREN", "INSTRUCTIES_EN_PROCEDURES_OPVOLGEN",
          "KWALITEIT_LEVEREN"),
    "5": ("KLANTGERICHT", "AANDACHT_EN_BEGRIP_TONEN", "SAMENWERKEN_EN_OVERLEGGEN", "MET_DRUK_EN_TEGENSLAG_OMGAAN"),
    "6": ("MATERIALEN_EN_MIDDELEN_INZETTEN", "INSTRUCTIES_EN_PROCEDURES_OPVOLGEN", "KWALITEIT_LEVEREN"),
    "7": ("VAKDESKUNDIGHEID_TOEPASSEN", "MATERIALEN_EN_MIDDELEN_INZETTEN", "KWALITEIT_LEVEREN",
          "INSTRUCTIES_EN_PROCEDURES_OPVOLGEN"),
    "8": ("INSTRUCTIES_EN_PROCEDURES_OPVOLGEN", "MATERIALEN_EN_MIDDELEN_INZETTEN", "PLANNEN_EN_ORGANISEREN"),
    "9": ("INSTRUCTIES_EN_PROCEDURES_OPVOLGEN", "SAMENWERKEN_EN_OVERLEGGEN", "KWALITEIT_LEVEREN",
          "MET_DRUK_EN_TEGENSLAG_OMGAAN"),
}


def demo_beroepswensen(seed: str) -> list[str]:
    """Occupation wishes (ISCO-08 unit groups) a gemeente records, from a generator of their own (seeded by
    ``seed``) so adding them leaves every other generated value unchanged: none for one in five persons."""
    rng = random.Random(f"beroepswensen|{seed}")
    return sorted(c for c, _ in rng.sample(ISCO, k=rng.choice([0, 1, 1, 2, 2])))


def demo_competenties(seed: str, isco_codes: list[str]) -> list[str]:
    """UWV skill labels for a person (their occupation wishes) or a vacancy (its occupation), drawn from the
    major groups' lists with their own generator (seeded by ``seed``), so adding them leaves every other
    generated value unchanged."""
    rng = random.Random(f"competenties|{seed}")
    pool = sorted({c for isco in isco_codes for c in UWV_COMPETENTIES.get(isco[:1], ())})
    if not pool:
        return []
    return sorted(rng.sample(pool, k=min(len(pool), rng.choice([2, 3, 3, 4]))))


WERKFIT_STATUSES = ("werkfit", "werkfit_met_ondersteuning", "in_ontwikkeling", "niet_bemiddelbaar", "onbekend")
_ARCHETYPE_WEIGHTS = (0.28, 0.2, 0.24, 0.14, 0.14)


# --------------------------------------------------------------------------------------------------- BSN
def elfproef(bsn: str | int | None) -> bool:
    """True for a valid BSN: 9 digits (8 are left-padded with 0), 9*d1+...+2*d8-d9 = 0 mod 11 and > 0."""
    if bsn is None:
        return False
    s = str(bsn).strip()
    if len(s) == 8:
        s = "0" + s
    if len(s) != 9 or not s.isdigit():
        return False
    d = [int(c) for c in s]
    total = sum(w * x for w, x in zip(range(9, 1, -1), d[:8], strict=False)) - d[8]
    return total > 0 and total % 11 == 0


def normalise_bsn(bsn: str | int | None) -> str | None:
    """The 9-digit form of a valid BSN, else None."""
    if not elfproef(bsn):
        return None
    s = str(bsn).strip()
    return s.zfill(9)


def _make_bsn(rng: random.Random, leading_zero: bool = False) -> str:
    while True:
        d = [0 if leading_zero else rng.randint(1, 7)] + [rng.randint(0, 9) for _ in range(7)]
        if leading_zero and d[1] == 0:
            continue
        s = sum(w * x for w, x in zip(range(9, 1, -1), d, strict=False))
        check = s % 11
        if check == 10:
            continue
        bsn = "".join(map(str, d)) + str(check)
        if elfproef(bsn):
            return bsn


def _break_bsn(bsn: str) -> str:
    """Change the check digit so that the elfproef fails (a typing error)."""
    broken = bsn[:8] + str((int(bsn[8]) + 1) % 10)
    assert not elfproef(broken)
    return broken


# --------------------------------------------------------------------------------------------------- persons
@dataclass
class _Person:
    bsn: str  # 9 digits, possibly with a leading 0
    voornaam: str
    achternaam: str
    straat: str
    huisnummer: str
    postcode: str  # "2512 AB"
    gemeente_code: str
    geboortedatum: date

    @property
    def bsn_as_number(self) -> str:
        """How a system that stores the BSN as a number (or Excel) shows it: leading zero lost."""
        return str(int(self.bsn))

    @property
    def voorletters(self) -> str:
        return self.voornaam[0] + "."


@dataclass
class _Row:
    data: dict[str, Any]
    person: _Person | None
    archetype: str | None = None
    defect: str | None = None
    column: str | None = None


@dataclass
class DemoSources:
    """What :func:`generate_demo` wrote, and what a correct pipeline must find in it.

    ``expected[partner_id][dataset]`` (datasets: werkzoekenden; vacatures; mbo_inschrijvingen, mbo_diplomas):

    * ``rows``: rows delivered (file data rows, JSON records, table rows in rowid order);
    * ``defects``: ``{kind: count}`` for every kind in :data:`DEFECT_KINDS` (0 where not applicable: no BSN in
      vacatures, no gemeente in diplomas); each defect row carries exactly one defect;
    * ``clean_rows`` = rows - sum(defects) (the first of two duplicate rows counts as clean);
    * ``defect_rows``: ``[{"row": 1-based data row, "bron_rij", "kind", "column": partner column, "value"}]``,
      plus ``"duplicate_of"`` (the identical row) for ``duplicate_row``. ``bron_rij`` is the row number the
      connectors give: spreadsheet numbering for files (header = 1, so row + 1), the record index for REST,
      the row in ``ORDER BY GEWIJZIGD_OP`` for SQL (the SIS tables are stored in that order, so = rowid);
    * ``bsn`` (person-level only): rows with a ``valid`` / ``invalid`` BSN, valid ones written with
      ``eight_digit``s, and ``distinct_valid`` persons;
    * ``werkfit_intended_actief`` (werkzoekenden): how the clean, active rows were drawn per werkfit status
      under the draft rules of version 2026.1 (a hint for tests of the rule set, not a contract);
    * ``source``: the file path, endpoint, or ``<sqlite>:<table>``.

    ``expected["overlap"]`` counts distinct persons (clean rows, normalised BSN) known to several partners.
    """

    drop_dir: Path
    den_haag_csv: Path
    den_haag_plaatsingen_csv: Path
    delft_xlsx: Path
    westland_csv: Path
    sis_db: Path
    uwv_records: dict[str, list[dict[str, Any]]]
    expected: dict[str, Any]
    peildatum: date
    seed: int
    files: dict[str, Path] = field(default_factory=dict)  # partner_id -> delivered file (file partners)


class _Gen:
    def __init__(self, peildatum: date, seed: int) -> None:
        self.peil = peildatum
        self.rng = random.Random(seed)
        self.fake = Faker("nl_NL")
        self.fake.seed_instance(seed)
        self._bsns: set[str] = set()

    # ---- helpers
    def person(self, gemeente: str, min_age: int = 18, max_age: int = 66, leading_zero: bool = False) -> _Person:
        while True:
            bsn = _make_bsn(self.rng, leading_zero)
            if bsn not in self._bsns:
                self._bsns.add(bsn)
                break
        while True:
            voornaam, achternaam, straat = self.fake.first_name(), self.fake.last_name(), self.fake.street_name()
            try:  # the Den Haag export is cp1252; names outside it are not realistic there
                (voornaam + achternaam + straat).encode("cp1252")
                break
            except UnicodeEncodeError:
                continue
        pc4 = self.rng.choice(POSTCODES[gemeente])
        while True:
            letters = self.rng.choice(_PC_LETTERS) + self.rng.choice(_PC_LETTERS)
            if letters not in ("SA", "SD", "SS"):
                break
        age_days = self.rng.randint(min_age * 365 + 10, max_age * 365 + 300)
        return _Person(
            bsn=bsn, voornaam=voornaam, achternaam=achternaam, straat=straat,
            huisnummer=str(self.rng.randint(1, 240)) + self.rng.choice(["", "", "", "a", "b", "-1", "-2"]),
            postcode=f"{pc4} {letters}", gemeente_code=gemeente,
            geboortedatum=self.peil - timedelta(days=age_days),
        )

    def name(self) -> str:
        while True:
            n = f"{self.fake.first_name()} {self.fake.last_name()}"
            try:
                n.encode("cp1252")
                return n
            except UnicodeEncodeError:
                continue

    def days_ago(self, lo: int, hi: int) -> date:
        return self.peil - timedelta(days=self.rng.randint(lo, hi))

    def archetype(self) -> str:
        return self.rng.choices(WERKFIT_STATUSES, weights=_ARCHETYPE_WEIGHTS)[0]

    def hours(self, archetype: str, variant_low: bool) -> float:
        if archetype == "werkfit":
            return self.rng.choice([12, 16, 20, 24, 24, 28, 32, 32, 36, 38, 40, 18.5, 22.5])
        if archetype == "werkfit_met_ondersteuning" and variant_low:
            return self.rng.choice([8, 9, 10, 10.5, 11])
        if archetype == "werkfit_met_ondersteuning":
            return self.rng.choice([12, 16, 20, 24, 32])
        if archetype == "in_ontwikkeling":
            return self.rng.choice([0, 4, 8, 12, 16, 20, 24])
        return self.rng.choice([0, 0, 4, 8])

    def rijbewijzen(self) -> list[str]:
        r = self.rng.random()
        if r < 0.45:
            return []
        if r < 0.85:
            return ["B"]
        return self.rng.choice([["B", "BE"], ["B", "C"], ["B", "C", "CE"], ["AM", "B"], ["A", "B"], ["B", "D"]])

    def beschikbaar(self, archetype: str) -> date:
        if archetype in ("werkfit", "werkfit_met_ondersteuning"):
            return self.days_ago(0, 200)
        return self.peil + timedelta(days=self.rng.randint(-100, 120))


def _place(rng: random.Random, clean: list[_Row], defects: list[_Row]) -> list[_Row]:
    """Mix the defect rows into the clean rows at seeded positions."""
    rows = list(clean)
    for d in defects:
        rows.insert(rng.randint(0, len(rows)), d)
    return rows


def _duplicate(rng: random.Random, clean: list[_Row]) -> _Row:
    src = rng.choice(clean)
    return _Row(copy.deepcopy(src.data), src.person, src.archetype, "duplicate_row", None)


def _summary(rows: list[_Row], bsn_key: str | None, source: str, person_level: bool = True,
             uitgestroomd: Any = None, status_key: str | None = None, header_rows: int = 0) -> dict[str, Any]:
    defects = {k: 0 for k in DEFECT_KINDS}
    defect_rows = []
    for i, r in enumerate(rows, start=1):
        if r.defect:
            defects[r.defect] += 1
            entry = {"row": i, "bron_rij": i + header_rows, "kind": r.defect, "column": r.column,
                     "value": None if r.column is None else r.data.get(r.column)}
            if r.defect == "duplicate_row":
                entry["duplicate_of"] = next(j for j, o in enumerate(rows, start=1) if o is not r
                                             and o.data == r.data)
            defect_rows.append(entry)
    out: dict[str, Any] = {
        "source": source,
        "rows": len(rows),
        "clean_rows": len(rows) - sum(defects.values()),
        "defects": defects,
        "defect_rows": defect_rows,
    }
    if person_level and bsn_key:
        values = [r.data.get(bsn_key) for r in rows]
        valid = [v for v in values if elfproef(v)]
        out["bsn"] = {
            "valid": len(valid),
            "invalid": len(values) - len(valid),
            "eight_digit": sum(1 for v in valid if len(str(v)) == 8),
            "distinct_valid": len({normalise_bsn(v) for v in valid}),
        }
        hint: dict[str, int] = {s: 0 for s in WERKFIT_STATUSES}
        for r in rows:
            if r.defect is None and r.archetype and (status_key is None or r.data.get(status_key) != uitgestroomd):
                hint[r.archetype] += 1
        if any(hint.values()):
            out["werkfit_intended_actief"] = hint
    return out


def _fmt_nl(d: date | None, fmt: str) -> str:
    return "" if d is None else d.strftime(fmt)


def _hours_comma(h: float) -> str:
    return str(int(h)) if float(h).is_integer() else f"{h:.1f}".replace(".", ",")


# --------------------------------------------------------------------------------------------------- Den Haag
_DH_HEADER = [
    "Clientnummer", "BSN", "Voornaam", "Achternaam", "Straat", "Huisnummer", "Postcode", "Woongemeente",
    "Geboortedatum", "Regeling", "Ingangsdatum uitkering", "Einddatum uitkering", "Ontheffing",
    "Doelgroepregister", "Werk- en denkniveau", "Taalniveau", "Taaltraject", "Rijbewijs", "Uren per week",
    "Beschikbaar per", "Trede", "Datum trede", "Status", "Uitstroomdatum", "Reden uitstroom", "Peildatum",
    "Klantmanager", "Beroepswens",
]


def _den_haag_row(g: _Gen, p: _Person, nr: int, archetype: str) -> dict[str, Any]:
    rng, f = g.rng, "%d-%m-%Y"
    low = rng.random() < 0.5
    trede = {
        "werkfit": rng.choice([5, 6]),
        "werkfit_met_ondersteuning": 4 if not low else rng.choice([5, 6]),
        "in_ontwikkeling": rng.choice([2, 3]),
        "niet_bemiddelbaar": 1,
        "onbekend": None,
    }[archetype]
    ontheffing = archetype == "niet_bemiddelbaar" and rng.random() < 0.6
    if archetype in ("werkfit", "werkfit_met_ondersteuning"):
        taal = rng.choice(["1F", "2F", "2F", "A2", "B1", "3F", "B2"])
    else:
        taal = rng.choice(["A0", "A1", "1F", "2F", "A2", "B1", ""])
    uitgestroomd = rng.random() < 0.1
    regeling = rng.choices(["PW", "IOAW", "IOAZ", "NUG"], weights=[80, 8, 3, 9])[0]
    start = g.days_ago(60, 2200)
    uitstroom = g.days_ago(1, 90) if uitgestroomd else None
    return {
        "Clientnummer": f"SZW{100000 + nr}",
        "BSN": p.bsn_as_number,
        "Voornaam": p.voornaam, "Achternaam": p.achternaam, "Straat": p.straat, "Huisnummer": p.huisnummer,
        "Postcode": p.postcode, "Woongemeente": p.gemeente_code,
        "Geboortedatum": _fmt_nl(p.geboortedatum, f),
        "Regeling": regeling,
        "Ingangsdatum uitkering": _fmt_nl(start, f),
        "Einddatum uitkering": _fmt_nl(uitstroom, f),
        "Ontheffing": "J" if ontheffing else "N",
        "Doelgroepregister": "J" if rng.random() < 0.08 else "N",
        "Werk- en denkniveau": str(rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5, 6])) if rng.random() < 0.8 else "",
        "Taalniveau": taal,
        "Taaltraject": "J" if taal in ("A0", "A1") or rng.random() < 0.1 else "N",
        "Rijbewijs": ";".join(g.rijbewijzen()),
        "Uren per week": _hours_comma(g.hours(archetype, low)),
        "Beschikbaar per": _fmt_nl(g.beschikbaar(archetype), f),
        "Trede": "" if trede is None else str(trede),
        "Datum trede": "" if trede is None else _fmt_nl(g.days_ago(5, 330), f),
        "Status": "Beëindigd" if uitgestroomd else "Lopend",
        "Uitstroomdatum": _fmt_nl(uitstroom, f),
        "Reden uitstroom": rng.choice(["ARB", "ARB", "ARB", "SCH", "VHZ", "DET", "OVG"]) if uitgestroomd else "",
        "Peildatum": _fmt_nl(g.peil, f),
        "Klantmanager": g.name(),
        "Beroepswens": ";".join(demo_beroepswensen(p.bsn)),
    }


def _den_haag(g: _Gen, n: int) -> list[_Row]:
    clean = []
    for i in range(n):
        p = g.person(DEN_HAAG, leading_zero=i in (3, 17))
        a = g.archetype()
        clean.append(_Row(_den_haag_row(g, p, i, a), p, a))

    def bad(col: str, kind: str, value: str) -> _Row:
        p = g.person(DEN_HAAG)
        a = g.archetype()
        row = _den_haag_row(g, p, n + len(DEFECT_KINDS) + g.rng.randint(0, 999), a)
        row[col] = value
        if col == "BSN":
            p = None
        return _Row(row, p, a, kind, col)

    tmp = g.person(DEN_HAAG)
    defects = [
        bad("BSN", "invalid_bsn", _break_bsn(tmp.bsn)),
        bad("Woongemeente", "unknown_gemeente", UNKNOWN_GEMEENTE),
        _duplicate(g.rng, clean),
        bad("Ingangsdatum uitkering", "impossible_date", "31-02-2026"),
        bad("Regeling", "missing_required", ""),
        bad("Regeling", "unmapped_code", "XX"),
    ]
    return _place(g.rng, clean, defects)


def _write_csv(path: Path, rows: list[_Row], header: list[str], delimiter: str, encoding: str) -> None:
    """A gemeente export as its case system writes it (CRLF line ends, the partner's delimiter and encoding)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=header, delimiter=delimiter, lineterminator="\r\n")
    w.writeheader()
    for r in rows:
        w.writerow(r.data)
    path.write_bytes(buf.getvalue().encode(encoding))


def _write_den_haag(path: Path, rows: list[_Row]) -> None:
    _write_csv(path, rows, _DH_HEADER, ";", "cp1252")


# --------------------------------------------------------------------------------------------------- Delft
_ZRM_DOMAINS = ["zrm_financien", "zrm_werk_en_opleiding", "zrm_tijdsbesteding", "zrm_huisvesting",
                "zrm_huiselijke_relaties", "zrm_geestelijke_gezondheid", "zrm_lichamelijke_gezondheid",
                "zrm_middelengebruik", "zrm_sociaal_netwerk", "zrm_maatschappelijke_participatie"]
_DELFT_HEADER = (["clientnummer", "burgerservicenummer", "achternaam", "voorletters", "adres", "postcode",
                  "woongemeente_cbs", "geboortedatum", "regeling_code", "datum_instroom",
                  "ontheffing_arbeidsplicht", "taalniveau", "inburgering_of_taaltraject", "rijbewijs",
                  "uren_beschikbaar", "beschikbaar_vanaf"]
                 + _ZRM_DOMAINS
                 + ["zrm_laagste_score", "zrm_versie", "datum_zrm", "instrumenten", "dossierstatus",
                    "datum_uitstroom", "reden_uitstroom", "peildatum", "regisseur", "beroepswensen"])


def _delft_row(g: _Gen, p: _Person, nr: int, archetype: str) -> dict[str, Any]:
    rng = g.rng
    low = rng.random() < 0.5
    taalroute_variant = archetype == "werkfit_met_ondersteuning" and rng.random() < 0.3
    scores: dict[str, int | None]
    if archetype == "onbekend":
        scores = {d: None for d in _ZRM_DOMAINS}
    else:
        scores = {d: rng.choice([2, 3, 3, 4, 4, 5]) for d in _ZRM_DOMAINS}
        if archetype == "werkfit":
            wo = rng.choice([4, 5])
        elif archetype == "werkfit_met_ondersteuning":
            wo = rng.choice([4, 5]) if (low or taalroute_variant) else 3
        elif archetype == "in_ontwikkeling":
            wo = rng.choice([2, 2, 4])
            if wo == 4:  # any domain at 1 caps afstand at C
                scores[rng.choice([d for d in _ZRM_DOMAINS if d != "zrm_werk_en_opleiding"])] = 1
        else:
            wo = 1
        scores["zrm_werk_en_opleiding"] = wo
    known = [s for s in scores.values() if s is not None]
    hours = g.hours("werkfit", False) if archetype in ("werkfit",) or taalroute_variant else g.hours(archetype, low)
    if taalroute_variant:
        taal, route = "A1", "ja"
    elif archetype in ("werkfit", "werkfit_met_ondersteuning"):
        taal, route = rng.choice(["A2", "B1", "B1", "B2", "C1"]), "nee"
    else:
        taal = rng.choice(["A0", "A1", "A2", "B1", None])
        route = "ja" if taal in ("A0", "A1") else "nee"
    ontheffing = archetype == "niet_bemiddelbaar" and rng.random() < 0.5
    uitgestroomd = rng.random() < 0.1
    instr = rng.sample(["JC", "LKS", "PP", "SCHOL", "BW"], k=rng.choice([0, 0, 0, 1, 1, 2]))
    return {
        "clientnummer": 700000 + nr,
        "burgerservicenummer": p.bsn_as_number,  # text cell; Excel already lost leading zeros
        "achternaam": p.achternaam, "voorletters": p.voorletters, "adres": f"{p.straat} {p.huisnummer}",
        "postcode": p.postcode, "woongemeente_cbs": p.gemeente_code, "geboortedatum": p.geboortedatum,
        "regeling_code": rng.choices(["10", "11", "20", "30", "40"], weights=[70, 12, 7, 3, 8])[0],
        "datum_instroom": g.days_ago(60, 2500),
        "ontheffing_arbeidsplicht": "ja" if ontheffing else "nee",
        "taalniveau": taal, "inburgering_of_taaltraject": route,
        "rijbewijs": ",".join(g.rijbewijzen()) or None,
        "uren_beschikbaar": hours,
        "beschikbaar_vanaf": g.beschikbaar("werkfit" if taalroute_variant else archetype),
        **scores,
        "zrm_laagste_score": min(known) if known else None,
        "zrm_versie": "2017" if known else None,
        "datum_zrm": g.days_ago(10, 360) if known else None,
        "instrumenten": ",".join(instr) or None,
        "dossierstatus": "gesloten" if uitgestroomd else "open",
        "datum_uitstroom": g.days_ago(1, 80) if uitgestroomd else None,
        "reden_uitstroom": rng.choice(["werk", "werk", "werk (deeltijd)", "opleiding", "verhuisd", "overig"])
        if uitgestroomd else None,
        "peildatum": g.peil,
        "regisseur": g.name(),
    }


def _delft(g: _Gen, n: int) -> list[_Row]:
    clean = []
    for i in range(n):
        p = g.person(DELFT, max_age=60 if i % 3 else 35, leading_zero=i in (5, 29))
        a = g.archetype()
        clean.append(_Row(_delft_row(g, p, i, a), p, a))

    def bad(col: str, kind: str, value: Any) -> _Row:
        p = g.person(DELFT)
        a = g.archetype()
        row = _delft_row(g, p, n + g.rng.randint(100, 999), a)
        row[col] = value
        return _Row(row, None if col == "burgerservicenummer" else p, a, kind, col)

    tmp = g.person(DELFT)
    defects = [
        bad("burgerservicenummer", "invalid_bsn", _break_bsn(tmp.bsn)),
        bad("woongemeente_cbs", "unknown_gemeente", UNKNOWN_GEMEENTE),
        _duplicate(g.rng, clean),
        bad("datum_zrm", "impossible_date", "2026-02-30"),  # typed as text over a date cell
        bad("woongemeente_cbs", "missing_required", None),
        bad("regeling_code", "unmapped_code", "99"),
    ]
    return _place(g.rng, clean, defects)


def _deterministic_xlsx(data: bytes, stamp: datetime) -> bytes:
    """openpyxl stamps the save time into docProps/core.xml and the zip entries; pin both."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              lambda m: m.group(1) + iso + m.group(3), text)
                content = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            dst.writestr(zi, content)
    return out.getvalue()


def _write_delft(path: Path, rows: list[_Row], peildatum: date) -> None:
    from openpyxl import Workbook

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "ZRM"
    ws.append(_DELFT_HEADER)
    for r in rows:
        ws.append([r.data.get(c) for c in _DELFT_HEADER])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, date):
                cell.number_format = "DD-MM-YYYY"
    notes = wb.create_sheet("Toelichting")
    notes.append(["Export Zelfredzaamheid-Matrix (ZRM 2017), team Werk en Inkomen, gemeente Delft"])
    notes.append(["Peildatum", peildatum])
    notes.append(["Regelingcodes", "10 PW, 11 PW jongeren <27, 20 IOAW, 30 IOAZ, 40 NUG"])
    stamp = datetime(peildatum.year, peildatum.month, peildatum.day, 6, 0, 0)
    wb.properties.creator = "GWS4all rapportage"
    wb.properties.created = stamp
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(_deterministic_xlsx(buf.getvalue(), stamp))


# --------------------------------------------------------------------------------------------------- Westland
_WL_HEADER = ["bsn", "naam", "adres", "postcode", "woonplaats", "gemeentecode", "geb_datum", "doelgroep",
              "startdatum", "ontheffing", "nt2_niveau", "rijbewijs", "uren", "beschikbaar_per", "Werkfit",
              "datum_beoordeling", "status", "uitstroomdatum", "uitstroomreden", "peildatum", "beroepen"]


def _westland_row(g: _Gen, p: _Person, archetype: str) -> dict[str, Any]:
    rng, f = g.rng, "%d/%m/%Y"
    low = rng.random() < 0.5
    flag = {"werkfit": "J", "werkfit_met_ondersteuning": "J", "in_ontwikkeling": "N",
            "niet_bemiddelbaar": "N", "onbekend": ""}[archetype]
    # J with 8-11 hours: support bridges it (werkfit_met_ondersteuning)
    hours = g.hours(archetype, archetype == "werkfit_met_ondersteuning" or low)
    uitgestroomd = rng.random() < 0.1
    taal = (rng.choice(["A2", "B1", "B1", "B2", "C1"]) if flag == "J"
            else rng.choice(["A0", "A1", "A2", "B1", ""]))
    return {
        "bsn": p.bsn_as_number,
        "naam": f"{p.achternaam}, {p.voornaam}",
        "adres": f"{p.straat} {p.huisnummer}",
        "postcode": p.postcode,
        "woonplaats": WESTLAND_WOONPLAATS.get(int(p.postcode[:4]), "Naaldwijk"),
        "gemeentecode": p.gemeente_code,
        "geb_datum": _fmt_nl(p.geboortedatum, f),
        "doelgroep": rng.choices(["01", "02", "03", "04"], weights=[78, 10, 9, 3])[0],
        "startdatum": _fmt_nl(g.days_ago(60, 2400), f),
        "ontheffing": "J" if archetype == "niet_bemiddelbaar" else "N",
        "nt2_niveau": taal,
        "rijbewijs": "|".join(g.rijbewijzen()),
        "uren": str(int(hours)) if float(hours).is_integer() else f"{hours:.1f}",
        "beschikbaar_per": _fmt_nl(g.beschikbaar(archetype), f),
        "Werkfit": flag,
        "datum_beoordeling": "" if not flag else _fmt_nl(g.days_ago(5, 300), f),
        "status": "U" if uitgestroomd else "A",
        "uitstroomdatum": _fmt_nl(g.days_ago(1, 80), f) if uitgestroomd else "",
        "uitstroomreden": rng.choice(["1", "1", "1", "2", "3", "9"]) if uitgestroomd else "",
        "peildatum": _fmt_nl(g.peil, f),
    }


def _westland(g: _Gen, n: int) -> list[_Row]:
    clean = []
    for i in range(n):
        p = g.person(WESTLAND, max_age=60 if i % 3 else 32, leading_zero=i in (7, 41))
        a = g.archetype()
        clean.append(_Row(_westland_row(g, p, a), p, a))

    def bad(col: str, kind: str, value: str) -> _Row:
        p = g.person(WESTLAND)
        a = g.archetype()
        row = _westland_row(g, p, a)
        row[col] = value
        return _Row(row, None if col == "bsn" else p, a, kind, col)

    tmp = g.person(WESTLAND)
    defects = [
        bad("bsn", "invalid_bsn", _break_bsn(tmp.bsn)),
        bad("gemeentecode", "unknown_gemeente", UNKNOWN_GEMEENTE),
        _duplicate(g.rng, clean),
        bad("geb_datum", "impossible_date", "31/04/1990"),
        bad("doelgroep", "missing_required", ""),
        bad("doelgroep", "unmapped_code", "09"),
    ]
    return _place(g.rng, clean, defects)


def _write_westland(path: Path, rows: list[_Row]) -> None:
    _write_csv(path, rows, _WL_HEADER, ",", "utf-8-sig")


# --------------------------------------------------------------------------------------------------- UWV
def _updated_at(g: _Gen) -> str:
    base = datetime(g.peil.year, g.peil.month, g.peil.day, tzinfo=UTC)
    return (base - timedelta(minutes=g.rng.randint(60, 60 * 24 * 45))).replace(second=0).isoformat()


def _uwv_person_record(g: _Gen, p: _Person, uitkering: str, archetype: str | None = None) -> tuple[dict, str]:
    rng, iso = g.rng, "%Y-%m-%d"
    if uitkering == "WAJONG":
        band, archetype = None, "onbekend"  # no Werkverkenner for Wajong
    else:
        archetype = archetype or rng.choices(
            ["werkfit", "werkfit_met_ondersteuning", "in_ontwikkeling", "onbekend"], weights=[45, 25, 15, 15])[0]
        band = {"werkfit": rng.choice([3, 4]), "werkfit_met_ondersteuning": 2, "in_ontwikkeling": 1,
                "onbekend": None}[archetype]
    hours = (g.hours("werkfit", False) if archetype in ("werkfit", "werkfit_met_ondersteuning")
             else g.hours(archetype, False))
    uitgestroomd = rng.random() < 0.08
    start = g.days_ago(20, 700) if uitkering == "WW" else g.days_ago(200, 5000)
    rec = {
        "bsn": p.bsn,
        "woonplaatsGemeentecode": p.gemeente_code,
        "postcode": p.postcode.replace(" ", ""),
        "geboortedatum": p.geboortedatum.strftime(iso),
        "uitkering": uitkering,
        "uitkeringStartdatum": start.strftime(iso),
        "uitkeringEinddatum": None,
        "doelgroepregister": uitkering == "WAJONG" and rng.random() < 0.7,
        "opleidingsniveau": rng.choice([2, 3, 3, 4, 4, 5, 6, 7]) if uitkering == "WW" else rng.choice([1, 2, 2, 3]),
        "taalniveau": rng.choice(["B1", "B2", "C1", "C2", "A2", "ONBEKEND"]),
        "rijbewijzen": g.rijbewijzen(),
        "urenPerWeek": hours,
        "beschikbaarVanaf": g.beschikbaar(archetype).strftime(iso),
        "beroepswensen": [c for c, _ in rng.sample(ISCO, k=rng.choice([0, 1, 2, 2, 3]))],
        "werkverkennerBand": band,
        "werkverkennerDatum": g.days_ago(10, 200).strftime(iso) if band else None,
        "status": "BEEINDIGD" if uitgestroomd else "ACTIEF",
        "uitstroomDatum": g.days_ago(1, 60).strftime(iso) if uitgestroomd else None,
        "uitstroomReden": rng.choice(["WERKHERVATTING", "WERKHERVATTING", "EINDE_DUUR", "SCHOLING", "OVERIG"])
        if uitgestroomd else None,
        "peildatum": g.peil.strftime(iso),
        "updated_at": _updated_at(g),
    }
    if band and not rec["beroepswensen"]:  # a client with a Werkverkenner score has a wish on werk.nl
        rec["beroepswensen"] = demo_beroepswensen(p.bsn)[:1] or [ISCO[0][0]]
    rec["competenties"] = demo_competenties(p.bsn, rec["beroepswensen"])
    if uitgestroomd:
        rec["uitkeringEinddatum"] = rec["uitstroomDatum"]
    return rec, archetype


def _uwv_werkzoekenden(g: _Gen, n: int, den_haag_overlap: list[_Person]) -> list[_Row]:
    clean: list[_Row] = []
    for p in den_haag_overlap:  # WW with aanvullende bijstand from Den Haag
        rec, a = _uwv_person_record(g, p, "WW")
        clean.append(_Row(rec, p, a))
    weights = {DEN_HAAG: 52, DELFT: 12, WESTLAND: 12, RIJSWIJK: 8, MIDDEN_DELFLAND: 3}
    while len(clean) < n:
        gm = g.rng.choices(list(weights), weights=list(weights.values()))[0]
        uitkering = g.rng.choices(["WW", "WAJONG", "WIA"], weights=[70, 20, 10])[0]
        p = g.person(gm, min_age=18 if uitkering == "WAJONG" else 22, max_age=35 if uitkering == "WAJONG" else 66)
        rec, a = _uwv_person_record(g, p, uitkering)
        clean.append(_Row(rec, p, a))

    def bad(col: str, kind: str, value: Any) -> _Row:
        p = g.person(g.rng.choice([DEN_HAAG, RIJSWIJK, DELFT]))
        rec, a = _uwv_person_record(g, p, "WW")
        rec[col] = value
        return _Row(rec, None if col == "bsn" else p, a, kind, col)

    tmp = g.person(DEN_HAAG)
    defects = [
        bad("bsn", "invalid_bsn", _break_bsn(tmp.bsn)),
        bad("woonplaatsGemeentecode", "unknown_gemeente", UNKNOWN_GEMEENTE),
        _duplicate(g.rng, clean),  # the same record on two pages
        bad("beschikbaarVanaf", "impossible_date", f"{g.peil.year}-11-31"),
        bad("status", "missing_required", None),
        bad("uitkering", "unmapped_code", "TW"),  # Toeslagenwet: not a regeling of the platform
    ]
    return _place(g.rng, clean, defects)


def _vacatures(g: _Gen, n: int) -> list[_Row]:
    rng, iso = g.rng, "%Y-%m-%d"
    region = [DEN_HAAG, DEN_HAAG, DEN_HAAG, DELFT, WESTLAND, WESTLAND, RIJSWIJK, MIDDEN_DELFLAND]
    kvks = [f"{rng.randint(10_000_000, 99_999_999)}" for _ in range(max(10, n // 3))]

    def record(i: int) -> dict[str, Any]:
        gm = rng.choice(region)
        isco, sector = rng.choice(ISCO)
        if gm == WESTLAND and rng.random() < 0.5:
            isco, sector = rng.choice([("6113", "landbouw"), ("9214", "landbouw"), ("9333", "logistiek")])
        opened = g.days_ago(1, 120)
        lvl = {"2": [5, 6, 7], "3": [4, 5], "4": [3, 4], "5": [2, 3], "9": [1, 2]}.get(isco[0], [2, 3, 4])
        return {
            "vacatureId": f"V{g.peil.year}{i:06d}",
            "kvkNummer": rng.choice(kvks),
            "werklocatieGemeentecode": gm,
            "iscoCode": isco,
            "sector": sector,
            "urenPerWeek": rng.choice([12, 16, 20, 24, 24, 32, 32, 36, 38, 40]),
            "contractvorm": rng.choices(["VAST", "BEPAALDE_TIJD", "UITZEND", "OPROEP", "BBL"],
                                        weights=[25, 40, 20, 10, 5])[0],
            "opleidingsniveauMinimaal": rng.choice(lvl),
            "taalniveauMinimaal": rng.choice(["A2", "A2", "B1", "B1", "B2"]) if isco[0] in "4789" or isco[0] == "5"
            else rng.choice(["B1", "B2", "C1"]),
            "rijbewijsVereist": (["C", "CE"] if isco == "8332" else ["B"] if isco in ("8322", "7411", "7126")
                                 else []),
            "aantalPlekken": rng.choice([1, 1, 1, 2, 2, 3, 5, 10]),
            "openSinds": opened.strftime(iso),
            "sluitingsdatum": (g.peil + timedelta(days=rng.choice([7, 14, 30, 42, 60, 90]))).strftime(iso)
            if rng.random() < 0.8 else None,
            "banenafspraak": rng.random() < 0.12,
            "peildatum": g.peil.strftime(iso),
            "updated_at": _updated_at(g),
            "competenties": demo_competenties(f"V{g.peil.year}{i:06d}", [isco]),
        }

    clean = [_Row(record(i), None) for i in range(1, n + 1)]

    def bad(col: str, kind: str, value: Any) -> _Row:
        rec = record(n + 1 + rng.randint(0, 99_000))
        rec[col] = value
        return _Row(rec, None, None, kind, col)

    defects = [
        bad("werklocatieGemeentecode", "unknown_gemeente", UNKNOWN_GEMEENTE),
        _duplicate(rng, clean),
        bad("openSinds", "impossible_date", f"{g.peil.year}-09-31"),
        bad("iscoCode", "missing_required", None),
        bad("contractvorm", "unmapped_code", "ZZP"),
    ]
    rows = _place(rng, clean, defects)
    # make generated ids unique (a defect row drew a random number)
    seen: set[str] = set()
    for r in rows:
        if r.defect != "duplicate_row":
            while r.data["vacatureId"] in seen:
                r.data["vacatureId"] = f"V{g.peil.year}{rng.randint(900_000, 999_999):06d}"
            seen.add(r.data["vacatureId"])
    return rows


# --------------------------------------------------------------------------------------------------- ROC Mondriaan
_DEELNEMERS_COLS = ["DEELNEMERNUMMER", "BSN", "ROEPNAAM", "ACHTERNAAM", "BRIN", "CREBO", "OPLEIDING", "NIVEAU",
                    "LEERWEG", "SECTOR", "STARTDATUM", "VERWACHTE_EINDDATUM", "STATUS", "WOONGEMEENTE",
                    "PEILDATUM", "GEWIJZIGD_OP"]
_DIPLOMA_COLS = ["DIPLOMANUMMER", "BSN", "BRIN", "CREBO", "OPLEIDING", "NIVEAU", "SECTOR", "DIPLOMADATUM",
                 "PEILDATUM", "GEWIJZIGD_OP"]


def _gewijzigd(g: _Gen) -> str:
    base = datetime(g.peil.year, g.peil.month, g.peil.day)
    return (base - timedelta(minutes=g.rng.randint(30, 60 * 24 * 60))).strftime("%Y-%m-%d %H:%M:%S")


def _enrolment(g: _Gen, p: _Person, nr: int, leerweg: str | None = None, niveau_max: int = 4) -> dict[str, Any]:
    rng, iso = g.rng, "%Y-%m-%d"
    crebo, naam, niveau, sector = rng.choice([c for c in CREBO if c[2] <= niveau_max])
    start_year = g.peil.year - rng.choice([0, 0, 1, 1, 2, 3])
    start = date(start_year, rng.choice([8, 8, 8, 9, 2]), rng.choice([1, 15, 25, 28]))
    if start > g.peil:
        start = date(start_year - 1, 8, 29)
    duur = {1: 1, 2: 2, 3: 3, 4: 4}[niveau]
    eind = date(start.year + duur, 7, 31)
    status = "ING" if eind >= g.peil else rng.choice(["GED", "GED", "UIT"])
    if rng.random() < 0.07:
        status = "UIT"
    return {
        "DEELNEMERNUMMER": 2_000_000 + nr,
        "BSN": int(p.bsn),  # stored as a number in the SIS: a leading zero is lost
        "ROEPNAAM": p.voornaam, "ACHTERNAAM": p.achternaam,
        "BRIN": BRIN, "CREBO": crebo, "OPLEIDING": naam, "NIVEAU": niveau,
        "LEERWEG": leerweg or rng.choices(["BOL", "BBL", "EXT"], weights=[72, 25, 3])[0],
        "SECTOR": sector,
        "STARTDATUM": start.strftime(iso), "VERWACHTE_EINDDATUM": eind.strftime(iso),
        "STATUS": status, "WOONGEMEENTE": p.gemeente_code,
        "PEILDATUM": g.peil.strftime(iso), "GEWIJZIGD_OP": _gewijzigd(g),
    }


def _diploma(g: _Gen, p: _Person, nr: int, years_ago: tuple[int, int] = (0, 3)) -> dict[str, Any]:
    rng, iso = g.rng, "%Y-%m-%d"
    crebo, naam, niveau, sector = rng.choice([c for c in CREBO if c[2] >= 2])
    d = date(g.peil.year - rng.randint(*years_ago), rng.choice([6, 7, 7, 1]), rng.choice([1, 5, 10, 28]))
    if d > g.peil:
        d = date(d.year - 1, 7, 5)
    return {
        "DIPLOMANUMMER": 9_000_000 + nr, "BSN": int(p.bsn), "BRIN": BRIN, "CREBO": crebo, "OPLEIDING": naam,
        "NIVEAU": niveau, "SECTOR": sector, "DIPLOMADATUM": d.strftime(iso), "PEILDATUM": g.peil.strftime(iso),
        "GEWIJZIGD_OP": _gewijzigd(g),
    }


def _mbo(g: _Gen, n_enrol: int, n_dipl: int, enrol_overlap: list[_Person], dipl_overlap: list[_Person]
         ) -> tuple[list[_Row], list[_Row]]:
    rng = g.rng
    enrol: list[_Row] = []
    for p in enrol_overlap:  # bijstand clients following an MBO route (often BBL or Entree)
        row = _enrolment(g, p, len(enrol), leerweg=rng.choice(["BBL", "BOL"]), niveau_max=2)
        start = date(g.peil.year, 9, 1) if g.peil >= date(g.peil.year, 9, 1) else date(g.peil.year - 1, 9, 1)
        row.update(STARTDATUM=start.isoformat(), VERWACHTE_EINDDATUM=date(start.year + row["NIVEAU"], 7, 31)
                   .isoformat(), STATUS="ING")
        enrol.append(_Row(row, p))
    weights = {DEN_HAAG: 50, DELFT: 11, WESTLAND: 13, RIJSWIJK: 7, MIDDEN_DELFLAND: 3,
               ZOETERMEER: 2, LEIDSCHENDAM_VOORBURG: 2, PIJNACKER_NOOTDORP: 1}
    while len(enrol) < n_enrol:
        gm = rng.choices(list(weights), weights=list(weights.values()))[0]
        p = g.person(gm, min_age=16, max_age=24 if rng.random() < 0.85 else 45,
                     leading_zero=len(enrol) in (11, 57))
        enrol.append(_Row(_enrolment(g, p, len(enrol)), p))

    dipl: list[_Row] = []
    for p in dipl_overlap:  # WW'ers who once got a Mondriaan diploma
        dipl.append(_Row(_diploma(g, p, len(dipl), years_ago=(4, 20)), p))
    # recent graduates: some of them also appear among the enrolments (a follow-up course)
    for r in rng.sample(enrol[len(enrol_overlap):], k=min(len(enrol) - len(enrol_overlap), max(2, n_dipl // 5))):
        dipl.append(_Row(_diploma(g, r.person, len(dipl)), r.person))
    while len(dipl) < n_dipl:
        p = g.person(rng.choice([DEN_HAAG, DEN_HAAG, DELFT, WESTLAND, RIJSWIJK]), min_age=18, max_age=28)
        dipl.append(_Row(_diploma(g, p, len(dipl)), p))

    def bad_e(col: str, kind: str, value: Any) -> _Row:
        p = g.person(DEN_HAAG, min_age=16, max_age=22)
        row = _enrolment(g, p, 5000 + rng.randint(0, 999))
        row[col] = value
        return _Row(row, None if col == "BSN" else p, None, kind, col)

    def bad_d(col: str, kind: str, value: Any) -> _Row:
        p = g.person(DELFT, min_age=18, max_age=25)
        row = _diploma(g, p, 5000 + rng.randint(0, 999))
        row[col] = value
        return _Row(row, None if col == "BSN" else p, None, kind, col)

    t1, t2 = g.person(DEN_HAAG), g.person(DELFT)
    enrol_rows = _place(rng, enrol, [
        bad_e("BSN", "invalid_bsn", int(_break_bsn(t1.bsn))),
        bad_e("WOONGEMEENTE", "unknown_gemeente", UNKNOWN_GEMEENTE),
        _duplicate(rng, enrol),
        bad_e("STARTDATUM", "impossible_date", f"{g.peil.year - 1}-09-31"),
        bad_e("CREBO", "missing_required", None),
        bad_e("LEERWEG", "unmapped_code", "DUAAL"),
    ])
    dipl_rows = _place(rng, dipl, [
        bad_d("BSN", "invalid_bsn", int(_break_bsn(t2.bsn))),
        _duplicate(rng, dipl),
        bad_d("DIPLOMADATUM", "impossible_date", f"{g.peil.year}-06-31"),
        bad_d("CREBO", "missing_required", None),
        bad_d("SECTOR", "unmapped_code", "XX"),
    ])
    # The SQL connector reads ``ORDER BY GEWIJZIGD_OP``: store the rows in that order, so that the row number
    # the connector gives (bron_rij) is the rowid order too (a duplicate pair has equal times and is adjacent).
    enrol_rows.sort(key=lambda r: r.data["GEWIJZIGD_OP"])
    dipl_rows.sort(key=lambda r: r.data["GEWIJZIGD_OP"])
    return enrol_rows, dipl_rows


def _write_sis(path: Path, enrol: list[_Row], dipl: list[_Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    try:
        con.execute("""CREATE TABLE deelnemers (
            DEELNEMERNUMMER INTEGER, BSN INTEGER, ROEPNAAM TEXT, ACHTERNAAM TEXT, BRIN TEXT, CREBO TEXT,
            OPLEIDING TEXT, NIVEAU INTEGER, LEERWEG TEXT, SECTOR TEXT, STARTDATUM TEXT, VERWACHTE_EINDDATUM TEXT,
            STATUS TEXT, WOONGEMEENTE TEXT, PEILDATUM TEXT, GEWIJZIGD_OP TEXT)""")
        con.execute("""CREATE TABLE diplomas (
            DIPLOMANUMMER INTEGER, BSN INTEGER, BRIN TEXT, CREBO TEXT, OPLEIDING TEXT, NIVEAU INTEGER,
            SECTOR TEXT, DIPLOMADATUM TEXT, PEILDATUM TEXT, GEWIJZIGD_OP TEXT)""")
        con.executemany(f"INSERT INTO deelnemers VALUES ({','.join('?' * len(_DEELNEMERS_COLS))})",
                        [[r.data[c] for c in _DEELNEMERS_COLS] for r in enrol])
        con.executemany(f"INSERT INTO diplomas VALUES ({','.join('?' * len(_DIPLOMA_COLS))})",
                        [[r.data[c] for c in _DIPLOMA_COLS] for r in dipl])
        con.commit()
    finally:
        con.close()


# --------------------------------------------------------------------------------------------------- plaatsingen
# Placements are drawn last, from their own seeded generator, so that adding them left every other delivery as
# it was. Three kinds, so that duurzame plaatsing is meaningful: a client who left the benefit for work (recent:
# too recent to judge at 26 weeks), an earlier placement after which the person came back on a benefit (some
# lasted 26 weeks, most did not), and part-time work next to the benefit (some of it with a follow-on placement).
_DH_PL_HEADER = ["Clientnummer", "BSN", "Werkgever", "KvK-nummer werkgever", "Datum aanvang", "Datum einde",
                 "Uren per week", "Soort contract", "Ingezette instrumenten", "Peildatum"]
_DH_CONTRACT = {"vast": "VAST", "tijdelijk": "BEP", "uitzend": "UITZ", "oproep": "OPR", "leerwerk": "LWB"}
_DH_INSTR = {"jobcoach": "JC", "loonkostensubsidie": "LKS", "proefplaatsing": "PP", "scholing": "SCHOL"}
_UWV_CONTRACT = {"vast": "VAST", "tijdelijk": "BEPAALDE_TIJD", "uitzend": "UITZEND", "oproep": "OPROEP",
                 "leerwerk": "BBL"}
_UWV_INSTR = {"jobcoach": "JOBCOACH", "loonkostensubsidie": "LKS", "proefplaatsing": "PROEFPLAATSING",
              "scholing": "SCHOLING"}


@dataclass
class _Placement:
    person: _Person
    kvk: str
    start: date
    end: date | None
    hours: float
    contract: str
    instruments: list[str]
    vacature_id: str | None = None


def _placements_of(g: _Gen, p: _Person, regeling_start: date, uitstroom_werk: date | None,
                   kvks: list[str]) -> list[_Placement]:
    rng = g.rng

    def one(start: date, end: date | None, hours: float) -> _Placement:
        contract = rng.choices(["vast", "tijdelijk", "uitzend", "oproep", "leerwerk"], weights=[20, 45, 20, 10, 5])[0]
        instr = rng.sample(["jobcoach", "loonkostensubsidie", "proefplaatsing", "scholing"],
                           k=rng.choice([0, 0, 1, 1, 2]))
        return _Placement(p, rng.choice(kvks), start, end, hours, contract, instr)

    if uitstroom_werk is not None:  # left the benefit for this job
        return [one(uitstroom_werk - timedelta(days=rng.randint(0, 14)), None, rng.choice([16, 24, 32, 36, 40]))]
    if rng.random() < 0.45:  # an earlier job, then back on a benefit
        start = regeling_start - timedelta(days=rng.randint(150, 900))
        end = min(start + timedelta(days=rng.choice([30, 60, 90, 120, 150, 200, 300, 400])),
                  regeling_start - timedelta(days=1))
        return [one(start, end, rng.choice([12, 16, 20, 24, 32, 36]))]
    lo = max(regeling_start, g.peil - timedelta(days=700))
    if (g.peil - lo).days < 40:
        return []
    start = lo + timedelta(days=rng.randint(0, (g.peil - lo).days - 30))
    end = None if rng.random() < 0.6 else start + timedelta(days=rng.randint(30, 250))
    first = one(start, end if end is None or end < g.peil else None, rng.choice([8, 10, 12, 16, 20, 24]))
    if first.end is not None and rng.random() < 0.5 and first.end + timedelta(days=10) < g.peil:
        return [first, one(first.end + timedelta(days=rng.randint(1, 10)), None, rng.choice([12, 16, 20]))]
    return [first]


def _dh_placement_row(pl: _Placement, nr: int, werkgever: str, peil: date) -> dict[str, Any]:
    f = "%d-%m-%Y"
    return {
        "Clientnummer": f"SZW{100000 + nr}", "BSN": pl.person.bsn_as_number, "Werkgever": werkgever,
        "KvK-nummer werkgever": pl.kvk, "Datum aanvang": _fmt_nl(pl.start, f), "Datum einde": _fmt_nl(pl.end, f),
        "Uren per week": _hours_comma(pl.hours), "Soort contract": _DH_CONTRACT[pl.contract],
        "Ingezette instrumenten": ";".join(_DH_INSTR[i] for i in pl.instruments), "Peildatum": _fmt_nl(peil, f),
    }


def _uwv_placement_record(g: _Gen, pl: _Placement) -> dict[str, Any]:
    iso = "%Y-%m-%d"
    return {
        "bsn": pl.person.bsn, "kvkNummer": pl.kvk, "vacatureId": pl.vacature_id,
        "startdatum": pl.start.strftime(iso), "einddatum": pl.end.strftime(iso) if pl.end else None,
        "urenPerWeek": pl.hours, "contractvorm": _UWV_CONTRACT[pl.contract],
        "instrumenten": [_UWV_INSTR[i] for i in pl.instruments], "peildatum": g.peil.strftime(iso),
        "updated_at": _updated_at(g),
    }


def _beroepswensen(g: _Gen, rows: list[_Row], column: str, separator: str, vac: list[_Row]) -> None:
    """Desired occupations (ISCO-08 unit groups) of gemeente clients, drawn from the occupations the region's
    vacancies ask for, so that spanning per beroep meets supply and demand (some clients name none)."""
    wanted = [r.data["iscoCode"] for r in vac if r.defect is None]
    drawn: dict[str, str | None] = {}  # per person, so that a duplicated row stays an exact copy
    for r in rows:
        key = r.person.bsn if r.person else f"row{id(r)}"
        if key not in drawn:
            k = g.rng.choice([0, 1, 1, 2, 3])
            drawn[key] = separator.join(sorted({g.rng.choice(wanted) for _ in range(k)})) or None
        r.data[column] = drawn[key]


def _plaatsingen(g: _Gen, den_haag: list[_Row], uwv: list[_Row], vac: list[_Row]) -> tuple[list[_Row], list[_Row]]:
    """Placements of Den Haag clients (file) and UWV clients (API), with the usual defects."""
    rng = g.rng
    vacancies = [r.data for r in vac if r.defect is None]
    kvks = sorted({v["kvkNummer"] for v in vacancies})
    dh: list[_Row] = []
    for r in den_haag:
        if r.defect is not None or r.person is None or rng.random() < 0.55:
            continue
        d = r.data
        werk = (datetime.strptime(d["Uitstroomdatum"], "%d-%m-%Y").date()
                if d["Status"] == "Beëindigd" and d["Reden uitstroom"] == "ARB" else None)
        start = datetime.strptime(d["Ingangsdatum uitkering"], "%d-%m-%Y").date()
        for pl in _placements_of(g, r.person, start, werk, kvks):
            dh.append(_Row(_dh_placement_row(pl, len(dh), g.fake.company(), g.peil), pl.person))
    uw: list[_Row] = []
    for r in uwv:
        if r.defect is not None or r.person is None or rng.random() < 0.6:
            continue
        d = r.data
        werk = (date.fromisoformat(d["uitstroomDatum"])
                if d["status"] == "BEEINDIGD" and d["uitstroomReden"] == "WERKHERVATTING" else None)
        for pl in _placements_of(g, r.person, date.fromisoformat(d["uitkeringStartdatum"]), werk, kvks):
            if pl.start >= g.peil - timedelta(days=120) and rng.random() < 0.6:  # recent: the vacancy is known
                v = rng.choice(vacancies)
                pl.vacature_id, pl.kvk = v["vacatureId"], v["kvkNummer"]
            uw.append(_Row(_uwv_placement_record(g, pl), pl.person))

    def bad_dh(col: str, kind: str, value: str) -> _Row:
        p = g.person(DEN_HAAG)
        pl = _placements_of(g, p, g.peil - timedelta(days=400), None, kvks)[0]
        row = _dh_placement_row(pl, 9000 + rng.randint(0, 999), g.fake.company(), g.peil)
        row[col] = value
        return _Row(row, None if col == "BSN" else p, None, kind, col)

    def bad_uwv(col: str, kind: str, value: Any) -> _Row:
        p = g.person(DELFT)
        pl = _placements_of(g, p, g.peil - timedelta(days=400), None, kvks)[0]
        rec = _uwv_placement_record(g, pl)
        rec[col] = value
        return _Row(rec, None if col == "bsn" else p, None, kind, col)

    t1, t2 = g.person(DEN_HAAG), g.person(DELFT)
    dh_rows = _place(rng, dh, [
        bad_dh("BSN", "invalid_bsn", _break_bsn(t1.bsn)),
        _duplicate(rng, dh),
        bad_dh("Datum aanvang", "impossible_date", "31-04-2025"),
        bad_dh("KvK-nummer werkgever", "missing_required", ""),
        bad_dh("Soort contract", "unmapped_code", "ZZP"),
    ])
    uwv_rows = _place(rng, uw, [
        bad_uwv("bsn", "invalid_bsn", _break_bsn(t2.bsn)),
        _duplicate(rng, uw),  # the same record on two pages
        bad_uwv("startdatum", "impossible_date", f"{g.peil.year}-02-30"),
        bad_uwv("startdatum", "missing_required", None),
        bad_uwv("contractvorm", "unmapped_code", "ZZP"),
    ])
    return dh_rows, uwv_rows


# --------------------------------------------------------------------------------------------------- entry point
def _persons(rows: list[_Row]) -> set[str]:
    """Normalised BSNs of the clean rows of a delivery."""
    return {p.bsn for r in rows if r.defect is None and (p := r.person) is not None}


def generate_demo(drop_dir: Path, sis_db: Path, peildatum: date = date(2026, 11, 1), seed: int = 21,
                  n_per_gemeente: int = 60) -> DemoSources:
    """Write the demo deliveries of the five AM21 partners; return their paths, the UWV records and what a
    correct pipeline must find (``expected``). Same arguments -> byte-identical files."""
    drop_dir, sis_db = Path(drop_dir), Path(sis_db)
    n = max(12, int(n_per_gemeente))
    g = _Gen(peildatum, seed)

    den_haag = _den_haag(g, n)
    delft = _delft(g, n)
    westland = _westland(g, n)

    # overlap: Den Haag clients with WW (aanvullende bijstand); include one whose BSN starts with 0, which the
    # gemeente exports as 8 digits and UWV as 9.
    dh_clean = [r for r in den_haag if r.defect is None and r.person and r.data["Status"] == "Lopend"]
    dh_zero = [r.person for r in den_haag if r.defect is None and r.person and r.person.bsn.startswith("0")]
    dh_other = [r.person for r in dh_clean if not r.person.bsn.startswith("0")]
    k_uwv = max(3, n // 8)
    dh_uwv = dh_zero[:1] + g.rng.sample(dh_other, k=k_uwv - len(dh_zero[:1]))
    uwv = _uwv_werkzoekenden(g, n * 3 // 2, dh_uwv)
    vac = _vacatures(g, 80)

    # overlap: young Delft/Westland clients enrolled at Mondriaan, one Den Haag+UWV client too; WW'ers with a diploma
    def young(rows: list[_Row], k: int) -> list[_Person]:
        cands = sorted((r.person for r in rows if r.defect is None and r.person),
                       key=lambda p: (-p.geboortedatum.toordinal(), p.bsn))
        return cands[:k]

    k_mbo = max(2, n // 10)
    enrol_overlap = young(delft, k_mbo) + young(westland, k_mbo) + dh_uwv[:1]
    ww_only = [r.person for r in uwv if r.defect is None and r.person and r.data["uitkering"] == "WW"
               and r.person not in dh_uwv]
    dipl_overlap = g.rng.sample(ww_only, k=min(len(ww_only), max(3, n // 10))) + dh_uwv[1:2]
    enrol, dipl = _mbo(g, n * 2, n * 2 // 3, enrol_overlap, dipl_overlap)

    # placements and the Delft/Westland beroepswensen last, from their own generator (the draws above stay as
    # they were)
    pg = _Gen(peildatum, seed + 1)
    pg._bsns = set(g._bsns)
    dh_plaatsingen, uwv_plaatsingen = _plaatsingen(pg, den_haag, uwv, vac)
    _beroepswensen(pg, delft, "beroepswensen", ",", vac)
    _beroepswensen(pg, westland, "beroepen", "|", vac)

    # ---- write
    dh_path = drop_dir / "gemeente_den_haag" / f"clienten_{peildatum:%Y-%m-%d}.csv"
    dh_pl_path = drop_dir / "gemeente_den_haag" / f"plaatsingen_{peildatum:%Y-%m-%d}.csv"
    delft_path = drop_dir / "gemeente_delft" / f"zrm_export_{peildatum:%Y-%m}.xlsx"
    wl_path = drop_dir / "gemeente_westland" / f"werkzoekenden_{peildatum:%Y%m%d}.csv"
    _write_den_haag(dh_path, den_haag)
    _write_csv(dh_pl_path, dh_plaatsingen, _DH_PL_HEADER, ";", "cp1252")
    _write_delft(delft_path, delft, peildatum)
    _write_westland(wl_path, westland)
    _write_sis(sis_db, enrol, dipl)
    uwv_records = {"/werkzoekenden": [copy.deepcopy(r.data) for r in uwv],
                   "/vacatures": [copy.deepcopy(r.data) for r in vac],
                   "/plaatsingen": [copy.deepcopy(r.data) for r in uwv_plaatsingen]}

    # ---- expected
    delft_xlsx_view = [_Row({k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.data.items()},
                            r.person, r.archetype, r.defect, r.column) for r in delft]
    sets = {"gemeente_den_haag": _persons(den_haag), "gemeente_delft": _persons(delft),
            "gemeente_westland": _persons(westland), "uwv_haaglanden": _persons(uwv),
            "mbo_inschrijvingen": _persons(enrol), "mbo_diplomas": _persons(dipl)}
    mbo_all = sets["mbo_inschrijvingen"] | sets["mbo_diplomas"]
    gemeenten = sets["gemeente_den_haag"] | sets["gemeente_delft"] | sets["gemeente_westland"]
    ww = {r.person.bsn for r in uwv if r.defect is None and r.person and r.data["uitkering"] == "WW"}
    expected: dict[str, Any] = {
        "defect_kinds": list(DEFECT_KINDS),
        "peildatum": peildatum.isoformat(),
        "gemeente_den_haag": {"werkzoekenden": _summary(den_haag, "BSN", str(dh_path), header_rows=1,
                                                        uitgestroomd="Beëindigd", status_key="Status"),
                              "plaatsingen": _summary(dh_plaatsingen, "BSN", str(dh_pl_path), header_rows=1)},
        "gemeente_delft": {"werkzoekenden": _summary(delft_xlsx_view, "burgerservicenummer", str(delft_path),
                                                     header_rows=1,
                                                     uitgestroomd="gesloten", status_key="dossierstatus")},
        "gemeente_westland": {"werkzoekenden": _summary(westland, "bsn", str(wl_path), header_rows=1,
                                                        uitgestroomd="U", status_key="status")},
        "uwv_haaglanden": {
            "werkzoekenden": _summary(uwv, "bsn", "/werkzoekenden", uitgestroomd="BEEINDIGD", status_key="status"),
            "vacatures": _summary(vac, None, "/vacatures", person_level=False),
            "plaatsingen": _summary(uwv_plaatsingen, "bsn", "/plaatsingen"),
        },
        "mbo_roc_mondriaan": {
            "mbo_inschrijvingen": _summary(enrol, "BSN", f"{sis_db}:deelnemers"),
            "mbo_diplomas": _summary(dipl, "BSN", f"{sis_db}:diplomas"),
        },
        # distinct persons (clean rows, normalised 9-digit BSN) known to more than one partner
        "overlap": {
            "gemeente_den_haag&uwv_haaglanden": len(sets["gemeente_den_haag"] & sets["uwv_haaglanden"]),
            "gemeente_delft&mbo_roc_mondriaan": len(sets["gemeente_delft"] & mbo_all),
            "gemeente_westland&mbo_roc_mondriaan": len(sets["gemeente_westland"] & mbo_all),
            "uwv_ww&mbo_diplomas": len(ww & sets["mbo_diplomas"]),
            "gemeente&uwv&mbo": len(gemeenten & sets["uwv_haaglanden"] & mbo_all),
            "persons_total": len(gemeenten | sets["uwv_haaglanden"] | mbo_all),
        },
    }
    enrol_outside = sum(1 for r in enrol if r.defect is None
                        and r.data["WOONGEMEENTE"] in (ZOETERMEER, LEIDSCHENDAM_VOORBURG, PIJNACKER_NOOTDORP))
    expected["mbo_roc_mondriaan"]["mbo_inschrijvingen"]["outside_region_rows"] = enrol_outside

    return DemoSources(
        drop_dir=drop_dir, den_haag_csv=dh_path, den_haag_plaatsingen_csv=dh_pl_path, delft_xlsx=delft_path,
        westland_csv=wl_path, sis_db=sis_db,
        uwv_records=uwv_records, expected=expected, peildatum=peildatum, seed=seed,
        files={"gemeente_den_haag": dh_path, "gemeente_delft": delft_path, "gemeente_westland": wl_path},
    )
