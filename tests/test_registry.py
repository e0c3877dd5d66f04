"""The partner registry: every file in partners/ loads, and a wrong file fails naming file, field and reason."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from regiowerk import canonical
from regiowerk.registry import FileConnector, RegistryError, RestConnector, SqlConnector, load_partner, load_registry
from regiowerk.settings import paths

PARTNERS_DIR = paths().root / "partners"
PARTNER_FILES = sorted(PARTNERS_DIR.glob("*.yml"))
DEMO_PARTNERS = {"gemeente_den_haag", "gemeente_delft", "gemeente_westland", "uwv_haaglanden", "mbo_roc_mondriaan"}


# ---------------------------------------------------------------------------------------------- the real files
def test_partner_files_present() -> None:
    assert {f.stem for f in PARTNER_FILES} >= DEMO_PARTNERS


def test_registry_loads_every_partner() -> None:
    registry = load_registry(PARTNERS_DIR)
    assert set(registry) == {f.stem for f in PARTNER_FILES}


@pytest.mark.parametrize("path", PARTNER_FILES, ids=lambda p: p.stem)
def test_partner_file_is_valid(path: Path) -> None:
    partner = load_partner(path)
    assert partner.partner_id == path.stem
    assert partner.regio_code == "AM21"
    assert partner.contact and "@" in partner.contact
    for name, mapping in partner.datasets.items():
        ds = canonical.dataset(name)
        required = {c.name for c in ds.columns if c.required and c.name != "persoon_id"}
        assert required <= set(mapping.columns) | set(mapping.constants), name


@pytest.mark.parametrize("path", PARTNER_FILES, ids=lambda p: p.stem)
def test_partner_file_holds_no_secrets(path: Path) -> None:
    """No key that looks like a credential, at any depth (the schema forbids them too: extra fields)."""
    secretish = ("password", "passwd", "secret", "token", "api_key", "apikey", "credential", "private_key")

    def keys(node: Any, prefix: str = "") -> list[str]:
        if isinstance(node, dict):
            out = []
            for k, v in node.items():
                out += [f"{prefix}{k}"] + keys(v, f"{prefix}{k}.")
            return out
        return []

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in keys(data):
        last = key.rsplit(".", 1)[-1].lower()
        if last == "token_path" or ".columns." in key or ".values." in key:
            continue  # an endpoint path, or a partner column name
        assert not any(w in last for w in secretish), f"{path.name}: {key} looks like a secret"


def test_gemeenten_do_not_map_names_or_addresses() -> None:
    """Minimisation at the door: name and street columns of the exports are never mapped."""
    registry = load_registry(PARTNERS_DIR)
    forbidden = {"voornaam", "achternaam", "straat", "huisnummer", "naam", "adres", "voorletters", "regisseur",
                 "klantmanager", "roepnaam"}
    for partner in registry.values():
        for mapping in partner.datasets.values():
            assert not {c.lower() for c in mapping.columns.values()} & forbidden, partner.partner_id


def test_demo_partner_layouts() -> None:
    r = load_registry(PARTNERS_DIR)
    dh = r["gemeente_den_haag"]
    assert isinstance(dh.connector, FileConnector)
    assert (dh.gemeente_code, dh.connector.delimiter, dh.connector.encoding, dh.connector.decimal) == (
        "GM0518", ";", "cp1252", ",")
    wz = dh.datasets["werkzoekenden"]
    assert wz.date_format == "%d-%m-%Y" and wz.list_separator == ";"
    assert wz.values["taalniveau_nl"]["1F"] == "A2" and wz.values["taalniveau_nl"]["2F"] == "B1"
    assert wz.values["regeling"]["PW"] == "participatiewet"

    delft = r["gemeente_delft"]
    assert isinstance(delft.connector, FileConnector) and delft.connector.format == "xlsx"
    assert delft.datasets["werkzoekenden"].columns["zrm_werk_opleiding"] == "zrm_werk_en_opleiding"

    wl = r["gemeente_westland"]
    assert wl.datasets["werkzoekenden"].values["eigen_afstand"] == {"J": "A", "N": "C"}
    assert wl.datasets["werkzoekenden"].values["regeling"]["01"] == "participatiewet"

    uwv = r["uwv_haaglanden"]
    assert isinstance(uwv.connector, RestConnector)
    assert uwv.connector.conn_id == "regiowerk_uwv_haaglanden" and uwv.connector.pagination.style == "page"
    assert set(uwv.datasets) == {"werkzoekenden", "vacatures", "plaatsingen"}
    assert uwv.datasets["werkzoekenden"].incremental

    mbo = r["mbo_roc_mondriaan"]
    assert isinstance(mbo.connector, SqlConnector) and mbo.gemeente_code is None
    assert mbo.datasets["mbo_inschrijvingen"].watermark_column == "GEWIJZIGD_OP"
    assert mbo.datasets["mbo_inschrijvingen"].values["sector"]["ON"] == "onderwijs"  # not YAML's boolean True


# ---------------------------------------------------------------------------------------------- failing files
def _base() -> dict[str, Any]:
    return yaml.safe_load((PARTNERS_DIR / "gemeente_den_haag.yml").read_text(encoding="utf-8"))


def _wz(d: dict[str, Any]) -> dict[str, Any]:
    return d["datasets"]["werkzoekenden"]


Mutator = Callable[[dict[str, Any]], None]

BAD_CASES: list[tuple[str, Mutator, str, str, str]] = [
    # id, mutation, file stem, field named in the message, reason named in the message
    ("unknown_kind", lambda d: d.update(kind="provincie"), "gemeente_den_haag", "kind", "'gemeente', 'uwv' or 'mbo'"),
    ("unknown_regio", lambda d: d.update(regio_code="AM99"), "gemeente_den_haag", "regio_code",
     "not a CBS arbeidsmarktregio code"),
    ("gemeente_outside_region", lambda d: d.update(gemeente_code="GM0599"), "gemeente_den_haag", "gemeente_code",
     "lies in AM22, not in regio_code AM21"),
    ("unknown_gemeente", lambda d: d.update(gemeente_code="GM9999"), "gemeente_den_haag", "gemeente_code",
     "not a CBS gemeente code"),
    ("gemeente_without_code", lambda d: d.pop("gemeente_code"), "gemeente_den_haag", "gemeente_code",
     "required for a partner of kind gemeente"),
    ("missing_required_mapping", lambda d: _wz(d)["columns"].pop("regeling"), "gemeente_den_haag",
     "datasets.werkzoekenden.columns", "required canonical column 'regeling' is not mapped"),
    ("non_canonical_column", lambda d: _wz(d)["columns"].update(voornaam="Voornaam"), "gemeente_den_haag",
     "datasets.werkzoekenden.columns.voornaam", "not an input column of canonical dataset werkzoekenden"),
    ("pseudonym_mapped", lambda d: _wz(d)["columns"].update(persoon_id="BSN"), "gemeente_den_haag",
     "datasets.werkzoekenden.columns.persoon_id", "derived from bsn/postcode/geboortedatum"),
    ("value_not_in_code_list", lambda d: _wz(d)["values"]["regeling"].update(PW="bijstand"), "gemeente_den_haag",
     "datasets.werkzoekenden.values.regeling.PW", "'bijstand' is not in code list regeling"),
    ("unknown_dataset", lambda d: d["datasets"].update(klanten=_wz(d)), "gemeente_den_haag", "datasets.klanten",
     "unknown canonical dataset"),
    ("dataset_not_for_kind", lambda d: d["datasets"].update(vacatures=_wz(d)), "gemeente_den_haag",
     "datasets.vacatures", "a partner of kind gemeente cannot deliver vacatures"),
    ("bad_cron", lambda d: d.update(schedule="every monday"), "gemeente_den_haag", "schedule",
     "not a five-field cron expression"),
    ("bad_cron_six_fields", lambda d: d.update(schedule="0 30 6 * * 1"), "gemeente_den_haag", "schedule",
     "not a five-field cron expression"),
    ("partner_id_not_file_name", lambda d: d.update(partner_id="gemeente_delft"), "gemeente_den_haag",
     "partner_id", "must equal the file name 'gemeente_den_haag'"),
    ("partner_id_sql_injection", lambda d: d.update(partner_id="x; drop table"), "x", "partner_id",
     "lower case letters, digits and underscores"),
    ("unknown_connector_type", lambda d: d["connector"].update(type="ftp"), "gemeente_den_haag", "connector",
     "'ftp' found using 'type' does not match any of the expected tags"),
    ("secret_in_connector", lambda d: d["connector"].update(password="hunter2"), "gemeente_den_haag",
     "connector.file.password", "Extra inputs are not permitted"),
    ("secret_at_top_level", lambda d: d.update(api_key="s3cr3t"), "gemeente_den_haag", "api_key",
     "Extra inputs are not permitted"),
    ("unknown_encoding", lambda d: d["connector"].update(encoding="klingon"), "gemeente_den_haag",
     "connector.file.encoding", "unknown encoding 'klingon'"),
    ("watermark_on_file_connector", lambda d: _wz(d).update(watermark_column="gewijzigd"), "gemeente_den_haag",
     "datasets.werkzoekenden.watermark_column", "only the sql connector"),
    ("missing_contact", lambda d: d.pop("contact"), "gemeente_den_haag", "contact", "Field required"),
    # paths stay inside the partner's drop folder
    ("directory_absolute", lambda d: d["connector"].update(directory="/elsewhere"), "gemeente_den_haag",
     "connector.file.directory", "an absolute path is not allowed"),
    ("directory_parent", lambda d: d["connector"].update(directory="../../../outside"), "gemeente_den_haag",
     "connector.file.directory", "no '..'"),
    ("directory_parent_inside", lambda d: d["connector"].update(directory="a/../b"), "gemeente_den_haag",
     "connector.file.directory", "no '..'"),
    ("directory_home", lambda d: d["connector"].update(directory="~/x"), "gemeente_den_haag",
     "connector.file.directory", "an absolute path is not allowed"),
    ("source_glob_parent", lambda d: _wz(d).update(source="../gemeente_delft/*.csv"), "gemeente_den_haag",
     "datasets.werkzoekenden.source", "inside the partner's drop folder"),
    ("source_glob_absolute", lambda d: _wz(d).update(source="/etc/*"), "gemeente_den_haag",
     "datasets.werkzoekenden.source", "no absolute path"),
    # the rest of issue 15's registry cases
    ("delimiter_newline", lambda d: d["connector"].update(delimiter="\n"), "gemeente_den_haag",
     "connector.file.delimiter", "not a supported delimiter"),
    ("delimiter_letter", lambda d: d["connector"].update(delimiter="x"), "gemeente_den_haag",
     "connector.file.delimiter", "not a supported delimiter"),
    ("quotechar_odd", lambda d: d["connector"].update(quotechar=";"), "gemeente_den_haag",
     "connector.file.quotechar", "not a supported quote character"),
    ("partner_id_53_characters", lambda d: d.update(partner_id="g" * 53), "g" * 53, "partner_id",
     "53 characters long, at most 45"),
]


@pytest.mark.parametrize(("mutate", "stem", "field", "reason"), [c[1:] for c in BAD_CASES],
                         ids=[c[0] for c in BAD_CASES])
def test_bad_partner_file_names_file_field_and_reason(tmp_path: Path, mutate: Mutator, stem: str, field: str,
                                                      reason: str) -> None:
    data = copy.deepcopy(_base())
    mutate(data)
    path = tmp_path / f"{stem}.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(RegistryError) as exc:
        load_partner(path)
    msg = str(exc.value)
    assert str(path) in msg
    assert field in msg
    assert reason in msg


def test_yaml_syntax_error_names_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "gemeente_den_haag.yml"
    path.write_text("partner_id: gemeente_den_haag\nnaam: [niet afgesloten\nkind: gemeente\n", encoding="utf-8")
    with pytest.raises(RegistryError) as exc:
        load_partner(path)
    msg = str(exc.value)
    assert str(path) in msg and "not valid YAML" in msg and "line" in msg


def test_yaml_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "gemeente_den_haag.yml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="must be a mapping of fields"):
        load_partner(path)


def test_registry_fails_on_the_first_wrong_file(tmp_path: Path) -> None:
    for f in PARTNER_FILES:
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    bad = _base()
    bad["partner_id"] = "zz_kapot"
    bad["schedule"] = "nu meteen"
    (tmp_path / "zz_kapot.yml").write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"zz_kapot\.yml.*\n\s+schedule: 'nu meteen'"):
        load_registry(tmp_path)


def test_registry_rereads_changed_added_and_removed_files(tmp_path: Path) -> None:
    """load_registry remembers parsed files (the load stage asks on every delivery) but never serves a stale
    partner: an edited, added or removed file counts on the next call, and a broken edit still fails."""
    for f in PARTNER_FILES:
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    first = load_registry(tmp_path)
    assert load_registry(tmp_path)["gemeente_den_haag"] is first["gemeente_den_haag"]  # parsed once

    edited = _base()
    edited["naam"] = "Gemeente Den Haag - na de reorganisatie, met een langere naam"
    (tmp_path / "gemeente_den_haag.yml").write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
    assert load_registry(tmp_path)["gemeente_den_haag"].naam == edited["naam"]

    added = _base()
    added["partner_id"] = "gemeente_zz_nieuw"
    added["connector"].pop("directory", None)  # its own drop folder (sharing Den Haag's is refused)
    (tmp_path / "gemeente_zz_nieuw.yml").write_text(yaml.safe_dump(added, allow_unicode=True), encoding="utf-8")
    assert "gemeente_zz_nieuw" in load_registry(tmp_path)
    (tmp_path / "gemeente_zz_nieuw.yml").unlink()
    assert set(load_registry(tmp_path)) == set(first)

    edited["schedule"] = "nu meteen"
    (tmp_path / "gemeente_den_haag.yml").write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RegistryError, match="schedule"):
        load_registry(tmp_path)


def test_partner_id_of_45_characters_is_the_longest_role_name(tmp_path: Path) -> None:
    from regiowerk.access import partner_role

    data = _base()
    data["partner_id"] = "g" * 45
    data["connector"].pop("directory")
    path = tmp_path / f"{'g' * 45}.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert len(partner_role(load_partner(path).partner_id)) == 63


def _copy_partners(tmp_path: Path) -> None:
    for f in PARTNER_FILES:
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")


def test_second_file_for_the_same_partner_is_refused(tmp_path: Path) -> None:
    """gemeente_westland.yml and gemeente_westland.yaml: neither silently wins."""
    _copy_partners(tmp_path)
    (tmp_path / "gemeente_westland.yaml").write_text((PARTNERS_DIR / "gemeente_westland.yml").read_text(
        encoding="utf-8"), encoding="utf-8")
    with pytest.raises(RegistryError) as exc:
        load_registry(tmp_path)
    msg = str(exc.value)
    assert str(tmp_path / "gemeente_westland.yaml") in msg and str(tmp_path / "gemeente_westland.yml") in msg
    assert "partner_id" in msg and "one file per partner" in msg


@pytest.mark.parametrize("directory", ["gemeente_delft", "gemeente_delft/sub", "mbo_roc_mondriaan"])
def test_a_partner_cannot_use_another_partners_folder(tmp_path: Path, directory: str) -> None:
    _copy_partners(tmp_path)
    data = _base()
    data["connector"]["directory"] = directory
    (tmp_path / "gemeente_den_haag.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RegistryError) as exc:
        load_registry(tmp_path)
    msg = str(exc.value)
    assert str(tmp_path / "gemeente_den_haag.yml") in msg and "connector.directory" in msg  # both files named
    assert str(tmp_path / f"{directory.split('/')[0]}.yml") in msg
    assert "every partner has a folder of its own" in msg


def test_extract_never_reads_outside_the_drop_folder(tmp_path: Path, monkeypatch) -> None:
    """The registry is the guard: a partner file whose directory points outside cannot even be loaded, so no
    stage gets a path outside the drop zone."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "clienten_2026-10-31.csv").write_text("bsn;x\n111222333;y\n", encoding="utf-8")
    (tmp_path / "partners").mkdir()
    data = _base()
    data["connector"]["directory"] = str(outside)
    (tmp_path / "partners" / "gemeente_den_haag.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv("REGIOWERK_PARTNERS_DIR", str(tmp_path / "partners"))
    from regiowerk import pipeline

    with pytest.raises(RegistryError, match="connector.file.directory"):
        pipeline.extract("gemeente_den_haag", "werkzoekenden")


# ---------------------------------------------------------------------------------------------- onboarding
RIJSWIJK_YAML = """\
# A sixth gemeente, onboarded with this file only: tab separated, latin-1, two-digit years, its own codes.
partner_id: gemeente_rijswijk
naam: Gemeente Rijswijk - Werk en Inkomen
kind: gemeente
regio_code: AM21
gemeente_code: GM0603
contact: werkeninkomen.data@rijswijk.example
schedule: "45 5 * * 3"
connector:
  type: file
  format: csv
  delimiter: "\\t"
  encoding: latin-1
  decimal: ","
datasets:
  werkzoekenden:
    source: "RWK_WZ_*.txt"
    date_format: "%d.%m.%y"
    list_separator: "/"
    true_values: ["WAAR", "1"]
    false_values: ["ONWAAR", "0"]
    columns:
      bsn: SOFI_BSN
      gemeente_code: GEM_CBS
      postcode: PC
      geboortedatum: GEB_DAT
      regeling: WET
      ontheffing_arbeidsplicht: ONTH_IND
      taalniveau_nl: TAAL
      rijbewijzen: RIJB
      uren_beschikbaar_per_week: UREN
      participatieladder: LADDER
      instrument_datum: LADDER_DAT
      status: STAT
      peildatum: PEIL_DAT
    values:
      regeling: {"P": participatiewet, "W": ioaw, "Z": ioaz, "N": nug}
      taalniveau_nl: {"1F": A2, "2F": B1, "3F": B2, "<1F": A1}
      status: {"1": actief, "0": uitgestroomd}
"""


def test_new_gemeente_is_onboarded_with_one_yaml_file(tmp_path: Path) -> None:
    for f in PARTNER_FILES:
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "gemeente_rijswijk.yml").write_text(RIJSWIJK_YAML, encoding="utf-8")

    registry = load_registry(tmp_path)

    assert set(registry) == {f.stem for f in PARTNER_FILES} | {"gemeente_rijswijk"}
    p = registry["gemeente_rijswijk"]
    assert isinstance(p.connector, FileConnector)
    assert (p.connector.delimiter, p.connector.encoding, p.connector.decimal) == ("\t", "latin-1", ",")
    assert p.delivery_folder() == "gemeente_rijswijk"
    assert p.dag_id == "partner_gemeente_rijswijk"
    m = p.datasets["werkzoekenden"]
    assert m.date_format == "%d.%m.%y" and m.list_separator == "/"
    assert m.values["regeling"]["P"] == "participatiewet"
    assert m.values["status"]["1"] == "actief"
