"""The partner registry: one YAML file per partner in ``partners/``, loaded through a pydantic schema.

A wrong file fails fast with :class:`RegistryError`, naming the file, the field and the reason. Onboarding a
partner whose export differs in column names, code lists, encoding, delimiter or date format is one new YAML
file: everything that differs between partners is a field here, never a branch in Python.

Secrets are never part of a partner file: connectors name an Airflow connection id (``conn_id``), resolved
at run time from Airflow or from the environment (see :mod:`regiowerk.secret_store`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from regiowerk import canonical, reference

# A partner id becomes the PostgreSQL role regiowerk_partner_<id>, and a role name holds at most 63 bytes.
PARTNER_ROLE_PREFIX = "regiowerk_partner_"
MAX_PARTNER_ID = 63 - len(PARTNER_ROLE_PREFIX)
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
# Delimiters a partner export sensibly uses; a line break, quote or letter would make every row unreadable.
DELIMITERS = (",", ";", "\t", "|", ":")
QUOTECHARS = ('"', "'")
_PATH_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
CRON_FIELD = re.compile(r"^[0-9*/,\-A-Za-z?]+$")

DEFAULT_TRUE = ("j", "ja", "y", "yes", "true", "1", "waar")
DEFAULT_FALSE = ("n", "nee", "no", "false", "0", "onwaar")


class RegistryError(ValueError):
    """A partner file is wrong. The message names the file, the field and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileConnector(_Strict):
    """Files dropped by the partner (portal) in ``<drop>/<directory>``, or read from its SFTP server
    (``transport: sftp``). The field-export options (header_row, footers, newest, ...) are read by
    :mod:`regiowerk.connectors.file`."""

    type: Literal["file"]
    directory: str | None = Field(None, description="Folder below the drop zone; defaults to the partner id.")
    format: Literal["csv", "xlsx"] = "csv"
    delimiter: str = Field(",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    decimal: Literal[".", ","] = "."
    quotechar: str = Field('"', min_length=1, max_length=1)
    sheet: str | None = Field(None, description="XLSX sheet name; the first sheet when absent.")
    header_row: int = Field(
        1, ge=1, le=1000, description="Spreadsheet row of the header; the rows above it (a title block) are skipped.")
    skip_footer: int = Field(0, ge=0, le=1000, description="Rows at the end of the file to drop (totals, notes).")
    footer_pattern: str | None = Field(
        None, description="Regular expression (case-insensitive): trailing rows whose first non-empty cell matches "
                          "it are dropped, e.g. '^(totaal|aantal)'.")
    newest: Literal["name", "modified", "date_in_name"] = Field(
        "name", description="Which matching file is the delivery: last by file name (default), last modified, or "
                            "the latest date in the file name (name_date_format).")
    name_date_format: str | None = Field(
        None, description="newest: date_in_name: the date in the file name, e.g. '%d%m%Y' (only %Y %m %d).")
    max_uncompressed_mb: int = Field(
        200, ge=1, le=4096, description="XLSX: reject a workbook whose unpacked size exceeds this (before parsing).")
    transport: Literal["local", "sftp"] = Field(
        "local", description="Where the drop folder is: the local drop zone, or an SFTP server (conn_id).")
    conn_id: str | None = Field(
        None, description="transport: sftp: Airflow connection (host, port, login, password or extra.key_file; "
                          "the path is the base folder on the server).")

    @field_validator("footer_pattern")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"not a valid regular expression: {e}") from None
        return v

    @field_validator("name_date_format")
    @classmethod
    def _name_date(cls, v: str | None) -> str | None:
        if v is not None and set(re.findall(r"%.", v)) != {"%Y", "%m", "%d"}:
            raise ValueError(f"{v!r} must hold %Y, %m and %d (and no other % directive)")
        return v

    @model_validator(mode="after")
    def _options(self) -> FileConnector:
        if (self.newest == "date_in_name") != (self.name_date_format is not None):
            raise ValueError("newest: date_in_name and name_date_format go together (set both or neither)")
        if (self.transport == "sftp") != (self.conn_id is not None):
            raise ValueError("transport: sftp needs conn_id (the Airflow connection of the SFTP server), and "
                             "conn_id is only used with transport: sftp")
        if self.footer_pattern is not None and self.skip_footer:
            raise ValueError("skip_footer and footer_pattern: choose one way to drop the footer rows")
        return self

    @field_validator("directory")
    @classmethod
    def _inside_drop(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = v.split("/")
        if v.startswith(("/", "~")) or "\\" in v or ":" in v:
            raise ValueError(f"{v!r} must be a folder below the drop zone: an absolute path is not allowed")
        if any(p in ("", ".", "..") for p in parts) or not all(_PATH_PART.match(p) for p in parts):
            raise ValueError(f"{v!r} must be a folder below the drop zone: plain folder names (letters, digits, "
                             f"'_', '-', '.') separated by '/', no '..', '.' or empty parts")
        return v

    @field_validator("delimiter")
    @classmethod
    def _sensible_delimiter(cls, v: str) -> str:
        if v not in DELIMITERS:
            raise ValueError(f"{v!r} is not a supported delimiter; use one of {', '.join(map(repr, DELIMITERS))}")
        return v

    @field_validator("quotechar")
    @classmethod
    def _sensible_quotechar(cls, v: str) -> str:
        if v not in QUOTECHARS:
            raise ValueError(f"{v!r} is not a supported quote character; use {' or '.join(map(repr, QUOTECHARS))}")
        return v

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str) -> str:
        import codecs

        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown encoding {v!r}") from None
        return v


class Pagination(_Strict):
    style: Literal["page", "offset", "next_link"] = "page"
    page_param: str = "page"
    size_param: str = "page_size"
    offset_param: str = "offset"
    limit_param: str = "limit"
    page_size: int = Field(100, ge=1, le=10_000)
    first_page: int = 0
    results_key: str = "results"
    next_key: str = "next"


class RestConnector(_Strict):
    """A JSON REST API with an OAuth2 client-credentials token endpoint."""

    type: Literal["rest"]
    conn_id: str = Field(description="Airflow connection: host = base URL, login/password = client id/secret.")
    token_path: str = "/oauth/token"
    pagination: Pagination = Pagination()
    timeout_seconds: float = Field(30, gt=0)
    max_retries: int = Field(5, ge=0, le=20)
    backoff_seconds: float = Field(1.0, ge=0)
    updated_since_param: str | None = "updated_since"


class SqlConnector(_Strict):
    """A query against the partner's database (SQLAlchemy URL from the connection)."""

    type: Literal["sql"]
    conn_id: str = Field(description="Airflow connection whose URI is a SQLAlchemy URL.")


Connector = Annotated[FileConnector | RestConnector | SqlConnector, Field(discriminator="type")]


class Freshness(_Strict):
    """How old the last load of a partner dataset may be before ``dbt source freshness`` warns or errors.

    When absent, :func:`regiowerk.freshness.policy` derives it from the partner's schedule."""

    warn_after_hours: int = Field(gt=0)
    error_after_hours: int = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Freshness:
        if self.error_after_hours < self.warn_after_hours:
            raise ValueError("error_after_hours must be at least warn_after_hours")
        return self


class DatasetMapping(_Strict):
    """How one of the partner's sources maps onto a canonical dataset."""

    source: str = Field(description="file: a glob in the partner's folder; rest: an endpoint path; sql: a table.")
    columns: dict[str, str] = Field(description="canonical column -> partner column")
    values: dict[str, dict[str, str | None]] = Field(
        default_factory=dict, description="canonical column -> {partner code: canonical code}")
    constants: dict[str, str] = Field(default_factory=dict, description="canonical column -> fixed value")
    date_format: str | tuple[str, ...] = Field(
        "%Y-%m-%d", description="strptime format of the dates, or a list of formats tried in order (a column "
                                "holding dates in more than one format).")
    accept_canonical_codes: bool = Field(
        False, description="values: also accept the canonical code itself (e.g. 'participatiewet' next to the "
                           "partner's 'PW'). Codes and words always match regardless of case and spacing.")
    true_values: tuple[str, ...] = DEFAULT_TRUE
    false_values: tuple[str, ...] = DEFAULT_FALSE
    list_separator: str = ","
    watermark_column: str | None = Field(
        None, description="Incremental extraction: the partner column (sql) holding the last change time.")
    incremental: bool = Field(False, description="rest: ask only for rows changed since the last watermark.")
    strict_columns: bool = Field(
        True, description="Reject a delivery with a column that is neither mapped (columns), the "
                          "watermark_column nor listed in ignore_columns (default). false: unknown columns are "
                          "dropped silently (not recommended: a renamed or new column goes unnoticed).")
    ignore_columns: tuple[str, ...] = Field(
        (), description="Partner columns delivered knowingly that regiowerk does not take (names, addresses, "
                        "internal numbers). They are dropped right after extract and never stored.")
    max_row_drop: float | None = Field(
        0.5, ge=0, le=1,
        description="Reject a full delivery whose row count is lower than the previous loaded full delivery of "
                    "this dataset by more than this share (0.5: fewer than half the rows). null switches the "
                    "check off.")
    row_drop_check: Literal["full", "all"] = Field(
        "full", description="Which deliveries max_row_drop applies to: 'full' (default: not the delta of an "
                            "incremental dataset, whose size varies by nature) or 'all'.")
    freshness: Freshness | None = Field(
        None, description="Freshness expectation of this dataset; default: the partner's, else from the schedule.")

    @property
    def date_formats(self) -> tuple[str, ...]:
        return (self.date_format,) if isinstance(self.date_format, str) else tuple(self.date_format)

    @field_validator("date_format")
    @classmethod
    def _date_formats(cls, v: str | tuple[str, ...]) -> str | tuple[str, ...]:
        import datetime as dt

        formats = (v,) if isinstance(v, str) else v
        if not formats:
            raise ValueError("list at least one date format")
        sample = dt.date(2026, 1, 31)
        for fmt in formats:
            try:
                ok = dt.datetime.strptime(sample.strftime(fmt), fmt).date() == sample
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"{fmt!r} is not a date format that gives back day, month and year "
                                 f"(use strptime codes such as %d-%m-%Y)")
        return v

    @field_validator("source")
    @classmethod
    def _source_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v


class Partner(_Strict):
    partner_id: str
    naam: str
    kind: Literal["gemeente", "uwv", "mbo"]
    regio_code: str
    gemeente_code: str | None = None
    contact: str = Field(description="Who to call about this partner's deliveries (team or mailbox).")
    owner: str = "regiowerk-data"
    schedule: str = Field(description="Cron expression for the partner DAG.")
    freshness: Freshness | None = Field(
        None, description="Freshness expectation of every dataset; default: derived from the schedule.")
    connector: Connector
    datasets: dict[str, DatasetMapping]

    @field_validator("partner_id")
    @classmethod
    def _identifier(cls, v: str) -> str:
        if not IDENTIFIER.match(v):
            raise ValueError("must be lower case letters, digits and underscores, starting with a letter "
                             "(it becomes a DAG id, a table value and a database role name)")
        if len(v) > MAX_PARTNER_ID:
            raise ValueError(f"is {len(v)} characters long, at most {MAX_PARTNER_ID} are allowed (the database "
                             f"role {PARTNER_ROLE_PREFIX}<partner_id> holds at most 63)")
        return v

    @field_validator("regio_code")
    @classmethod
    def _known_regio(cls, v: str) -> str:
        if v not in reference.regios():
            raise ValueError(f"{v!r} is not a CBS arbeidsmarktregio code (AMxx) of the 2026 indeling")
        return v

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        fields = v.split()
        if v.startswith("@"):
            if v not in ("@hourly", "@daily", "@weekly", "@monthly"):
                raise ValueError(f"unknown preset {v!r}")
        elif len(fields) != 5 or not all(CRON_FIELD.match(f) for f in fields):
            raise ValueError(f"{v!r} is not a five-field cron expression")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Partner:
        if self.kind == "gemeente" and not self.gemeente_code:
            raise ValueError("gemeente_code is required for a partner of kind gemeente")
        if self.gemeente_code:
            g = reference.gemeenten().get(self.gemeente_code)
            if g is None:
                raise ValueError(f"gemeente_code {self.gemeente_code!r} is not a CBS gemeente code of 2026")
            if g.regio_code != self.regio_code:
                raise ValueError(f"gemeente_code {self.gemeente_code} ({g.naam}) lies in {g.regio_code}, "
                                 f"not in regio_code {self.regio_code}")
        if not self.datasets:
            raise ValueError("datasets: at least one dataset is required")
        for name, mapping in self.datasets.items():
            _check_mapping(self, name, mapping)
        return self

    @property
    def dag_id(self) -> str:
        return f"partner_{self.partner_id}"

    def delivery_folder(self) -> str:
        if isinstance(self.connector, FileConnector) and self.connector.directory:
            return self.connector.directory
        return self.partner_id


def _check_mapping(partner: Partner, name: str, m: DatasetMapping) -> None:
    where = f"datasets.{name}"
    if name not in canonical.DATASETS:
        raise ValueError(f"{where}: unknown canonical dataset; known: {', '.join(sorted(canonical.DATASETS))}")
    ds = canonical.DATASETS[name]
    if partner.kind not in ds.partner_kinds:
        raise ValueError(f"{where}: a partner of kind {partner.kind} cannot deliver {name}")
    input_names = {c.name for c in ds.columns if c.name != "persoon_id"}
    derived = {"persoon_id", "postcode4", "geboortejaar"}
    for section, keys in (("columns", m.columns), ("values", m.values), ("constants", m.constants)):
        for col in keys:
            if col not in input_names:
                hint = " (it is derived from bsn/postcode/geboortedatum at the door)" if col in derived else ""
                raise ValueError(f"{where}.{section}.{col}: not an input column of canonical dataset {name}{hint}")
    for col in sorted(set(m.columns.values()) & set(m.ignore_columns)):
        raise ValueError(f"{where}.ignore_columns.{col}: also mapped in columns; choose one")
    for col in set(m.columns) & set(m.constants):
        raise ValueError(f"{where}.constants.{col}: also mapped in columns; choose one")
    for col in ds.columns:
        if col.required and col.name != "persoon_id" and col.name not in m.columns and col.name not in m.constants:
            raise ValueError(f"{where}.columns: required canonical column {col.name!r} is not mapped")
    for col, table in m.values.items():
        c = ds.column(col)
        seen: dict[str, tuple[str, str | None]] = {}
        for local, target in table.items():
            word = value_key(local)
            if word in seen and seen[word][1] != target:
                raise ValueError(f"{where}.values.{col}.{local}: the same code as {seen[word][0]!r} (case and "
                                 f"spacing do not count) but mapped to {target!r} instead of {seen[word][1]!r}")
            seen[word] = (str(local), target)
        allowed = canonical.CODE_LISTS.get(c.code_list or "")
        if allowed is None:
            continue
        for local, target in table.items():
            if target is not None and target not in allowed:
                raise ValueError(f"{where}.values.{col}.{local}: {target!r} is not in code list {c.code_list} "
                                 f"({', '.join(allowed)})")
    for col, value in m.constants.items():
        c = ds.column(col)
        allowed = canonical.CODE_LISTS.get(c.code_list or "")
        if allowed is not None and value not in allowed:
            raise ValueError(f"{where}.constants.{col}: {value!r} is not in code list {c.code_list}")
    if isinstance(partner.connector, FileConnector):
        parts = m.source.replace("\\", "/").split("/")
        if m.source.startswith(("/", "~")) or ":" in m.source or ".." in parts or "\\" in m.source:
            raise ValueError(f"{where}.source: {m.source!r} must be a file name pattern inside the partner's "
                             f"drop folder (no absolute path, no '..', no backslash)")
    if m.watermark_column and not isinstance(partner.connector, SqlConnector):
        raise ValueError(f"{where}.watermark_column: only the sql connector uses a watermark column")
    if m.incremental and not isinstance(partner.connector, RestConnector):
        raise ValueError(f"{where}.incremental: only the rest connector loads incrementally by updated-since")


def value_key(value: object) -> str:
    """How a local code or word is matched against ``values``: case and spacing do not count."""
    return " ".join(str(value).split()).casefold()


def _format_error(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: invalid partner file"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith(("function-after", "tagged-union")))
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"  {loc or '(file)'}: {msg}")
    return "\n".join(lines)


# libyaml's loader when PyYAML was built with it (same safe subset, ~10x faster); the pure-Python one otherwise
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_partner(path: Path) -> Partner:
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as e:
        raise RegistryError(f"{path}: not valid YAML: {e}") from None
    except OSError as e:
        raise RegistryError(f"{path}: cannot read: {e.strerror}") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{path}: a partner file must be a mapping of fields, got {type(data).__name__}")
    try:
        partner = Partner.model_validate(data)
    except ValidationError as e:
        raise RegistryError(_format_error(path, e)) from None
    if partner.partner_id != path.stem:
        raise RegistryError(f"{path}: partner_id: {partner.partner_id!r} must equal the file name {path.stem!r}")
    return partner


def load_registry(directory: Path | None = None) -> dict[str, Partner]:
    """All partners, keyed by partner id, in file-name order. Raises on the first wrong file.

    Parsed partners are remembered per file (path, size, modification time): the load stage asks for the
    registry on every delivery, and re-parsing hundreds of partner files each time made a national run
    quadratic. An edited, added or removed file is read again on the next call."""
    from regiowerk.settings import paths

    directory = Path(directory) if directory else paths().partners
    if not directory.is_dir():
        return {}
    with os.scandir(directory) as it:
        entries = {e.name: e for e in it if e.name.endswith(".yml") or e.name.endswith(".yaml")}
    names = sorted(n for n in entries if n.endswith(".yml")) + sorted(n for n in entries if n.endswith(".yaml"))
    stems: dict[str, str] = {}
    for name in names:
        stem = name.rsplit(".", 1)[0]
        if stem in stems:
            raise RegistryError(f"{directory / name}: partner_id: {stem!r} is also defined in "
                                f"{directory / stems[stem]}; keep one file per partner (remove one of them)")
        stems[stem] = name
    partners: dict[str, Partner] = {}
    for name in names:
        try:
            st = entries[name].stat()
        except OSError:  # removed while listing: load_partner names the file
            st = None
        key = (entries[name].path, st.st_size, st.st_mtime_ns) if st else None
        p = _PARSED.get(key) if key else None
        if p is None:
            p = load_partner(Path(entries[name].path))
            if key:
                _PARSED[key] = p
        partners[p.partner_id] = p
    _check_folders(directory, partners, stems)
    return partners


def _check_folders(directory: Path, partners: dict[str, Partner], files: dict[str, str]) -> None:
    """One drop folder per partner: a file partner's folder is not another partner's folder, nor inside it, nor
    around it (a partner could otherwise read another partner's deliveries)."""
    folders = {pid: p.delivery_folder() for pid, p in partners.items()}
    for pid, p in partners.items():
        if not isinstance(p.connector, FileConnector):
            continue
        mine = folders[pid]
        for other, theirs in folders.items():
            if other == pid:
                continue
            for f in {theirs, other}:
                if mine == f or mine.startswith(f + "/") or f.startswith(mine + "/"):
                    raise RegistryError(f"{directory / files[pid]}: connector.directory: {mine!r} overlaps the "
                                        f"drop folder {f!r} of partner {other} ({directory / files[other]}); "
                                        f"every partner has a folder of its own")


# (path, size, mtime_ns) -> parsed partner. Shared between calls: the models are frozen.
_PARSED: dict[tuple[str, int, int], Partner] = {}
