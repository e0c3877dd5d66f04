"""The canonical datasets: the one contract every partner delivery is mapped onto.

This module is the single place that says which columns a canonical dataset has, their types, which are
required, which code list or range they must respect, and which columns form the key within a delivery.
The Great Expectations suites in ``expectations/`` are generated from it (``regiowerk expectations``), the
loader creates the ``raw`` tables from it, and the partner registry checks its mappings against it.

Personal data never appears here in clear: ``bsn`` is an *input-only* column that pseudonymisation turns
into ``persoon_id`` before anything is written (see :mod:`regiowerk.pseudonymise`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["text", "integer", "number", "date", "boolean", "list"]

# Code lists enforced at the door. The labels and descriptions live in the dbt seeds
# (dbt_project/seeds/codelists.csv); these are the allowed canonical codes.
CODE_LISTS: dict[str, tuple[str, ...]] = {
    "regeling": ("participatiewet", "ioaw", "ioaz", "ww", "wajong", "wia", "nug", "anw", "geen"),
    "taalniveau": ("A0", "A1", "A2", "B1", "B2", "C1", "C2"),
    "rijbewijs": ("AM", "A1", "A2", "A", "B", "BE", "C1", "C1E", "C", "CE", "D1", "D1E", "D", "DE", "T"),
    "afstand": ("A", "B", "C", "D"),
    "ondersteuning": ("jobcoach", "loonkostensubsidie", "beschut_werk", "proefplaatsing", "scholing"),
    "status_werkzoekende": ("actief", "uitgestroomd"),
    "uitstroom_reden": ("werk", "opleiding", "verhuizing", "overig"),
    "zrm_versie": ("2013", "2017"),
    "leerweg": ("BOL", "BBL", "EX"),
    "status_inschrijving": ("actief", "gestopt", "gediplomeerd"),
    "contractvorm": ("vast", "tijdelijk", "uitzend", "oproep", "leerwerk"),
    "sector": (
        "zorg", "techniek", "bouw", "handel", "horeca", "logistiek", "schoonmaak", "ict",
        "administratie", "onderwijs", "overheid", "landbouw", "overig",
    ),
    # Skills vocabulary: the VUM gedragscompetenties (VUM v2 codes 24100-24126; labels and source in the dbt
    # seed competenties.csv, which a test keeps equal to this list).
    "competentie": (
        "24100", "24101", "24102", "24104", "24105", "24106", "24107", "24108", "24109", "24110", "24111",
        "24112", "24113", "24114", "24115", "24116", "24118", "24119", "24120", "24121", "24122", "24123",
        "24124", "24125", "24126",
    ),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str
    required: bool = False
    code_list: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    pattern: str | None = None
    personal: bool = False  # pseudonymised or minimised personal data (masked in reports)
    input_only: bool = False  # accepted from partners, never stored (bsn, postcode, geboortedatum)


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    partner_kinds: tuple[str, ...]
    person_level: bool = True
    stored_columns: tuple[Column, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stored_columns", tuple(c for c in self.columns if not c.input_only))

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"dataset {self.name!r} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def stored_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.stored_columns)


GEMEENTE_PATTERN = r"^GM[0-9]{4}$"

# Columns every person-level dataset receives at the door; bsn/postcode/geboortedatum are turned into
# persoon_id/postcode4/geboortejaar and then dropped.
_PERSON_INPUT = (
    Column("bsn", "text", "Burgerservicenummer as delivered; replaced by persoon_id at the door.",
           required=True, personal=True, input_only=True),
    Column("persoon_id", "text", "HMAC-SHA256 pseudonym of the normalised 9-digit BSN (region key).",
           required=True, personal=True, pattern=r"^[0-9a-f]{64}$"),
)

WERKZOEKENDEN = Dataset(
    name="werkzoekenden",
    description="One row per job seeker per delivery (gemeente: Participatiewet clients; UWV: WW/Wajong).",
    partner_kinds=("gemeente", "uwv"),
    key=("persoon_id",),
    columns=_PERSON_INPUT + (
        Column("postcode", "text", "Postcode as delivered; cut to postcode4 at the door.",
               personal=True, input_only=True),
        Column("geboortedatum", "date", "Birth date as delivered; cut to geboortejaar at the door.",
               personal=True, input_only=True),
        Column("gemeente_code", "text", "CBS code of the gemeente of residence (GM + 4 digits).",
               required=True, pattern=GEMEENTE_PATTERN),
        Column("postcode4", "text", "The four digits of the postcode.", personal=True, pattern=r"^[1-9][0-9]{3}$"),
        Column("geboortejaar", "integer", "Year of birth.", personal=True, min_value=1900, max_value=2100),
        Column("regeling", "text", "Benefit scheme.", required=True, code_list="regeling"),
        Column("regeling_start", "date", "Start of the benefit."),
        Column("regeling_einde", "date", "End of the benefit, if ended."),
        Column("ontheffing_arbeidsplicht", "boolean", "Exempted from the obligation to work."),
        Column("doelgroepregister", "boolean", "Registered in the doelgroepregister (banenafspraak)."),
        Column("opleidingsniveau", "integer", "Self-reported or partner-recorded VUM werk- en denkniveau 0-7.",
               min_value=0, max_value=7),
        Column("taalniveau_nl", "text", "Dutch language level (CEFR).", code_list="taalniveau"),
        Column("taalroute", "boolean", "Follows a language route (inburgering or taaleis traject)."),
        Column("rijbewijzen", "list", "Driving licence categories.", code_list="rijbewijs"),
        Column("uren_beschikbaar_per_week", "number", "Hours available per week.", min_value=0, max_value=40),
        Column("beschikbaar_vanaf", "date", "Available for work from this date."),
        Column("beroepswensen", "list", "Desired occupations as ISCO-08 unit group codes.",
               pattern=r"^[0-9]{4}$"),
        Column("competenties", "list", "Skills of the job seeker (VUM gedragscompetentie codes).",
               code_list="competentie"),
        Column("participatieladder", "integer", "Participatieladder trede (1-6).", min_value=1, max_value=6),
        Column("zrm_werk_opleiding", "integer", "ZRM score on the domain Werk & Opleiding (1-5).",
               min_value=1, max_value=5),
        Column("zrm_laagste_domein", "integer", "Lowest ZRM score over all domains (1-5).",
               min_value=1, max_value=5),
        Column("zrm_versie", "text", "ZRM version of the scores.", code_list="zrm_versie"),
        Column("werkverkenner_band", "integer", "UWV Werkverkenner band (1-4, 4 = best chance).",
               min_value=1, max_value=4),
        Column("eigen_afstand", "text", "A partner's own job-readiness flag, mapped explicitly onto afstand A-D.",
               code_list="afstand"),
        Column("instrument_datum", "date", "Date of the instrument score(s) in this row."),
        Column("ondersteuning", "list", "Support instruments in use.", code_list="ondersteuning"),
        Column("status", "text", "actief or uitgestroomd.", required=True, code_list="status_werkzoekende"),
        Column("uitstroom_datum", "date", "Date of exit from the benefit."),
        Column("uitstroom_reden", "text", "Reason of exit.", code_list="uitstroom_reden"),
        Column("peildatum", "date", "The date the partner's data describes.", required=True),
    ),
)

VACATURES = Dataset(
    name="vacatures",
    description="Open vacancies from employers (UWV, later the WSP). Business data, not personal.",
    partner_kinds=("uwv",),
    key=("vacature_id",),
    person_level=False,
    columns=(
        Column("vacature_id", "text", "The partner's vacancy id.", required=True),
        Column("kvk_nummer", "text", "KvK number of the employer (8 digits).", pattern=r"^[0-9]{8}$"),
        Column("gemeente_code", "text", "CBS code of the gemeente of the workplace.", required=True,
               pattern=GEMEENTE_PATTERN),
        Column("isco_code", "text", "ISCO-08 unit group of the occupation.", required=True, pattern=r"^[0-9]{4}$"),
        Column("sector", "text", "Sector of the employer.", code_list="sector"),
        Column("uren_per_week", "number", "Hours per week.", min_value=1, max_value=40),
        Column("contractvorm", "text", "Contract type.", code_list="contractvorm"),
        Column("opleidingsniveau_minimaal", "integer", "Minimum VUM werk- en denkniveau.", min_value=0, max_value=7),
        Column("taalniveau_minimaal", "text", "Minimum Dutch level (CEFR).", code_list="taalniveau"),
        Column("rijbewijs_vereist", "list", "Required driving licence categories.", code_list="rijbewijs"),
        Column("competenties", "list", "Skills the vacancy asks for (VUM gedragscompetentie codes).",
               code_list="competentie"),
        Column("aantal_plekken", "integer", "Number of places.", min_value=1, max_value=1000),
        Column("open_sinds", "date", "Date the vacancy opened.", required=True),
        Column("sluitingsdatum", "date", "Closing date."),
        Column("geschikt_banenafspraak", "boolean", "Suitable for the banenafspraak."),
        Column("peildatum", "date", "The date the partner's data describes.", required=True),
    ),
)

MBO_INSCHRIJVINGEN = Dataset(
    name="mbo_inschrijvingen",
    description="MBO enrolments from a school's student information system.",
    partner_kinds=("mbo",),
    key=("persoon_id", "crebo", "startdatum"),
    columns=_PERSON_INPUT + (
        Column("gemeente_code", "text", "CBS code of the gemeente of residence.", pattern=GEMEENTE_PATTERN),
        Column("brin", "text", "BRIN code of the school.", required=True, pattern=r"^[0-9]{2}[A-Z]{2}$"),
        Column("crebo", "text", "Crebo (erkende opleidingscode), 5 digits.", required=True, pattern=r"^[0-9]{5}$"),
        Column("niveau", "integer", "MBO niveau 1-4.", required=True, min_value=1, max_value=4),
        Column("leerweg", "text", "BOL, BBL or EX.", required=True, code_list="leerweg"),
        Column("sector", "text", "Sector of the qualification.", code_list="sector"),
        Column("startdatum", "date", "Start of the enrolment.", required=True),
        Column("verwachte_einddatum", "date", "Expected end."),
        Column("status", "text", "Enrolment status.", required=True, code_list="status_inschrijving"),
        Column("peildatum", "date", "The date the partner's data describes.", required=True),
    ),
)

MBO_DIPLOMAS = Dataset(
    name="mbo_diplomas",
    description="MBO diplomas awarded.",
    partner_kinds=("mbo",),
    key=("persoon_id", "crebo"),
    columns=_PERSON_INPUT + (
        Column("brin", "text", "BRIN code of the school.", required=True, pattern=r"^[0-9]{2}[A-Z]{2}$"),
        Column("crebo", "text", "Crebo, 5 digits.", required=True, pattern=r"^[0-9]{5}$"),
        Column("niveau", "integer", "MBO niveau 1-4.", required=True, min_value=1, max_value=4),
        Column("sector", "text", "Sector of the qualification.", code_list="sector"),
        Column("diplomadatum", "date", "Date of the diploma.", required=True),
        Column("peildatum", "date", "The date the partner's data describes.", required=True),
    ),
)

PLAATSINGEN = Dataset(
    name="plaatsingen",
    description="Placements of job seekers with an employer (gemeente, UWV): one row per placement per delivery.",
    partner_kinds=("gemeente", "uwv"),
    key=("persoon_id", "kvk_nummer", "startdatum"),
    columns=_PERSON_INPUT + (
        Column("kvk_nummer", "text", "KvK number of the employer (8 digits).", required=True,
               pattern=r"^[0-9]{8}$"),
        Column("vacature_id", "text", "The vacancy filled, if known (UWV vacature_id)."),
        Column("startdatum", "date", "First day of work.", required=True),
        Column("einddatum", "date", "Last day of work, if ended."),
        Column("uren_per_week", "number", "Contract hours per week.", required=True, min_value=1, max_value=48),
        Column("contractvorm", "text", "Contract type.", code_list="contractvorm"),
        Column("instrumenten", "list", "Support instruments used for the placement.", code_list="ondersteuning"),
        Column("peildatum", "date", "The date the partner's data describes.", required=True),
    ),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (WERKZOEKENDEN, VACATURES, MBO_INSCHRIJVINGEN, MBO_DIPLOMAS,
                                                    PLAATSINGEN)}

# Columns the loader adds to every raw table.
METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("partner_id", "text"),
    ("regio_code", "text"),
    ("delivery_id", "text"),
    ("bron_rij", "integer"),
)

LIST_SEPARATOR = ","


def dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown canonical dataset {name!r}; known: {', '.join(sorted(DATASETS))}") from None
