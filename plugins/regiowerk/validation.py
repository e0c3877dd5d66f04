"""Validate a pseudonymised, mapped delivery against its canonical dataset.

Every failing row gets *all* its reasons; nothing is dropped silently (duplicate keys quarantine every row
that shares the key). Where each rule lives -- one place per rule:

1. ``expectations/<dataset>.critical.json`` -- generated from :mod:`regiowerk.canonical` by
   :mod:`regiowerk.expectations_gen` (required, code lists, patterns, list columns, ranges, key uniqueness).
   Never edited by hand; a test keeps it equal to the generator.
2. ``expectations/<dataset>.business.json`` -- hand-written GX suite JSON with business rules GX can express.
   It may use run-time parameters (``{"$PARAMETER": "huidig_jaar"}``); see :func:`_suite_parameters` for the
   parameters this module supplies.
3. Run time, in :func:`validate`: ``gemeente_code`` in the gemeenten of the partner's region
   (``allowed_gemeenten``; the value set is passed as the ``toegestane_gemeenten`` parameter).
4. :data:`ROW_RULES` below -- cross-column and date rules GX cannot express cleanly (end before start,
   dates too far ahead, a peildatum in the future), each with its reason text.

Reasons are plain text ``"<column>: <rule>"``. Values of personal columns (``Column.personal``) never appear;
other values appear quoted, cut to 50 characters and with a leading ``= + - @`` neutralised by a ``'``, so
the text stays inert when a quarantine export is opened in a spreadsheet.

Great Expectations runs in an *ephemeral* context created once per process (no files, no analytics, no
progress bars); the suites are built once per process and reused. GX is imported lazily so importing this
module (e.g. while Airflow parses DAGs) stays cheap. GX's cost is mostly per delivery (it builds a metric graph
for every expectation on every run, ~0.5 s of CPU), not per row: nullable number columns are handed to it as
float64 (:func:`_gx_frame`) so its checks stay vectorised, and failing rows' reasons are built only for the
failing positions, once per distinct value.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import html
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from regiowerk import canonical, masking
from regiowerk.expectations_gen import business_path, critical_path

log = logging.getLogger(__name__)

MAX_VALUE_CHARS = 50
FORMULA_PREFIXES = ("=", "+", "-", "@")
MASK = "value"  # what a masked (personal) value reads as in a reason

# Validation in chunks of rows (bounded memory): rows per GX run; REGIOWERK_VALIDATION_CHUNK_ROWS overrides it.
DEFAULT_CHUNK_ROWS = 250_000
# Expectations over several rows of the whole delivery (key uniqueness): run once, on their columns only.
WHOLE_DELIVERY_TYPES = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"})

# Parameters the business suites may use as {"$PARAMETER": name}.
PARAM_CURRENT_YEAR = "huidig_jaar"
PARAM_ALLOWED_GEMEENTEN = "toegestane_gemeenten"


# --------------------------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------------------------


@dataclass
class ValidationResult:
    dataset: str
    n_rows: int
    n_failed_rows: int
    reasons: dict[int, list[str]]
    """Positional index (0..n-1) of each failing row -> its readable reasons."""
    expectation_results: list[dict[str, Any]]
    """One entry per rule run: source, expectation_type, column, rule, success, unexpected_count."""
    seconds: float
    reasons_by_bron_rij: dict[int, list[str]] = field(default_factory=dict)
    """The same reasons keyed by the source row number (``bron_rij``) when the frame has that column."""

    @property
    def passed(self) -> bool:
        return self.n_failed_rows == 0

    @property
    def failed_positions(self) -> list[int]:
        return sorted(self.reasons)


# --------------------------------------------------------------------------------------------------------------
# Value rendering
# --------------------------------------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_value(value: Any) -> str:
    """Quote a (non-personal) value for a reason: max 50 chars, spreadsheet formulas neutralised."""
    if _is_missing(value):
        return "(missing)"
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(TypeError, ValueError):
            value = value.item()  # numpy scalar -> python
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        text = value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    text = masking.mask_text("".join(ch if ch.isprintable() else " " for ch in text))
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    if text.startswith(FORMULA_PREFIXES):
        text = "'" + text
    return f"'{text}'"


def _is_personal(ds: canonical.Dataset, column: str) -> bool:
    try:
        return ds.column(column).personal
    except KeyError:
        return True  # unknown column (a hand-written rule on something unexpected): mask to be safe


# --------------------------------------------------------------------------------------------------------------
# Python row rules (cross-column / date rules)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowRule:
    """A rule GX cannot express cleanly. ``failing`` returns a boolean mask (True = row fails); ``reason`` is a
    template whose ``{column}`` placeholders are filled with the quoted value (or ``value`` if personal)."""

    dataset: str  # "*" = every dataset that has the columns
    name: str
    columns: tuple[str, ...]
    reason: str
    failing: Callable[[pd.DataFrame, dt.date], pd.Series]


def _dates(series: pd.Series) -> pd.Series:
    """datetime64 or object-of-date (with None/NaT) -> naive datetime64; unparseable -> NaT."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        s = series
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        return s
    return pd.to_datetime(series, errors="coerce")


def _before(a: str, b: str) -> Callable[[pd.DataFrame, dt.date], pd.Series]:
    def check(df: pd.DataFrame, today: dt.date) -> pd.Series:
        return (_dates(df[a]) < _dates(df[b])).fillna(False)
    return check


def _after(a: str, b: str) -> Callable[[pd.DataFrame, dt.date], pd.Series]:
    def check(df: pd.DataFrame, today: dt.date) -> pd.Series:
        return (_dates(df[a]) > _dates(df[b])).fillna(False)
    return check


MAX_YEARS_AHEAD = 2


def _too_far_ahead(a: str, ref: str, years: int) -> Callable[[pd.DataFrame, dt.date], pd.Series]:
    def check(df: pd.DataFrame, today: dt.date) -> pd.Series:
        return (_dates(df[a]) > _dates(df[ref]) + pd.DateOffset(years=years)).fillna(False)
    return check


def _in_future(a: str) -> Callable[[pd.DataFrame, dt.date], pd.Series]:
    def check(df: pd.DataFrame, today: dt.date) -> pd.Series:
        return (_dates(df[a]) > pd.Timestamp(today)).fillna(False)
    return check


ROW_RULES: tuple[RowRule, ...] = (
    RowRule("werkzoekenden", "regeling_einde_voor_start", ("regeling_einde", "regeling_start"),
            "regeling_einde: {regeling_einde} is before regeling_start {regeling_start}",
            _before("regeling_einde", "regeling_start")),
    RowRule("werkzoekenden", "uitstroom_voor_regeling_start", ("uitstroom_datum", "regeling_start"),
            "uitstroom_datum: {uitstroom_datum} is before regeling_start {regeling_start}",
            _before("uitstroom_datum", "regeling_start")),
    RowRule("werkzoekenden", "beschikbaar_vanaf_te_ver", ("beschikbaar_vanaf", "peildatum"),
            f"beschikbaar_vanaf: {{beschikbaar_vanaf}} is more than {MAX_YEARS_AHEAD} years after "
            "peildatum {peildatum}",
            _too_far_ahead("beschikbaar_vanaf", "peildatum", MAX_YEARS_AHEAD)),
    RowRule("vacatures", "sluitingsdatum_voor_open_sinds", ("sluitingsdatum", "open_sinds"),
            "sluitingsdatum: {sluitingsdatum} is before open_sinds {open_sinds}",
            _before("sluitingsdatum", "open_sinds")),
    RowRule("plaatsingen", "einddatum_voor_startdatum", ("einddatum", "startdatum"),
            "einddatum: {einddatum} is before startdatum {startdatum}",
            _before("einddatum", "startdatum")),
    RowRule("mbo_inschrijvingen", "einddatum_voor_start", ("verwachte_einddatum", "startdatum"),
            "verwachte_einddatum: {verwachte_einddatum} is before startdatum {startdatum}",
            _before("verwachte_einddatum", "startdatum")),
    RowRule("mbo_diplomas", "diploma_na_peildatum", ("diplomadatum", "peildatum"),
            "diplomadatum: {diplomadatum} is after peildatum {peildatum}",
            _after("diplomadatum", "peildatum")),
    RowRule("*", "peildatum_in_toekomst", ("peildatum",),
            "peildatum: {peildatum} is in the future",
            _in_future("peildatum")),
)


def rules_for(dataset_name: str) -> list[RowRule]:
    return [r for r in ROW_RULES if r.dataset in (dataset_name, "*")]


def _today() -> dt.date:
    try:
        from zoneinfo import ZoneInfo

        return dt.datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    except Exception:  # noqa: BLE001 - no tz database: local date is good enough
        return dt.date.today()


# --------------------------------------------------------------------------------------------------------------
# Great Expectations plumbing (lazy, once per process)
# --------------------------------------------------------------------------------------------------------------

_GX_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Rule:
    """Our own record of one expectation in a run-time suite (GX reorders results; we map back by index)."""

    index: int
    source: str  # critical | business | runtime
    type: str
    columns: tuple[str, ...]
    reason: str


@dataclass
class _GX:
    context: Any
    batch_definition: Any
    suite_cls: Any


@lru_cache(maxsize=1)
def _gx() -> _GX:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.core import ExpectationSuite
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX pins this module logger to INFO at import ("Created temporary directory ... ephemeral docs site").
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    _speed_up_gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("regiowerk_validation")
    asset = source.add_dataframe_asset("delivery")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole_delivery")
    return _GX(context, batch_definition, ExpectationSuite)


def _speed_up_gx() -> None:
    """Three memos for GX 1.x's per-delivery overhead (its cost is building a metric graph for every expectation
    on every run, not the per-row checks):

    * ``camel_to_snake``: every configuration rebuild turns the class name into the expectation type with two
      regular expressions. A pure function of the class name: memoised for good.
    * ``Expectation.configuration``: a property that rebuilds an ``ExpectationConfiguration`` from the model
      (``self.dict()``) on every access, about 65 times per expectation per run -- a third of GX's time. GX
      only reads it, and the expectation objects of a run are not changed during the run, so while
      :func:`_configuration_memo` is active (one ``batch.validate`` call, under :data:`_GX_LOCK`) each
      object's configuration is built once. Outside that scope the property behaves as GX wrote it.
    * ``IDDict.to_id``: the id of every metric configuration is an MD5 of its kwargs turned into JSON by GX's
      recursive converter, about 2,500 times per run for a few hundred distinct kwargs. While the memo is
      active, ids are remembered per ``repr`` of the kwargs (``repr`` tells ``1`` from ``'1'`` and lists from
      tuples, and is C code); two equal reprs describe the same kwargs, so the same id comes back. A repr
      with ``...`` (numpy and pandas shorten long values) is never used as a key.

    ``test_configuration_memo_gives_the_same_results_as_plain_gx`` checks that results are identical with and
    without the memos.
    """
    import great_expectations.expectations.expectation as gx_expectation

    if not hasattr(gx_expectation.camel_to_snake, "cache_info"):
        gx_expectation.camel_to_snake = lru_cache(maxsize=None)(gx_expectation.camel_to_snake)
    cls = gx_expectation.Expectation
    if getattr(cls.configuration, "fget", None) is not None and not hasattr(cls.configuration.fget,
                                                                            "regiowerk_memo"):
        build = cls.configuration.fget

        def configuration(self):
            memo = _CONFIG_MEMO.memo
            if memo is None:
                return build(self)
            hit = memo.get(id(self))
            if hit is None or hit[0] is not self:  # the object is kept in the memo, so its id is not reused
                hit = memo[id(self)] = (self, build(self))
            return hit[1]

        configuration.regiowerk_memo = True
        cls.configuration = property(configuration, doc=cls.configuration.__doc__)

    try:
        from great_expectations.core.id_dict import IDDict
    except ImportError:  # a GX release without it: validate without this memo
        return
    if callable(getattr(IDDict, "to_id", None)) and not hasattr(IDDict.to_id, "regiowerk_memo"):
        plain_to_id = IDDict.to_id

        def to_id(self, id_keys=None, id_ignore_keys=None):
            memo = _CONFIG_MEMO.ids
            if memo is None:
                return plain_to_id(self, id_keys, id_ignore_keys)
            text = repr(self)
            if "..." in text:  # numpy and pandas shorten long values in repr: not a safe key, no memo
                return plain_to_id(self, id_keys, id_ignore_keys)
            key = (type(self), text, repr(id_keys), repr(id_ignore_keys))
            found = memo.get(key)
            if found is None:
                found = memo[key] = plain_to_id(self, id_keys, id_ignore_keys)
            return found

        to_id.regiowerk_memo = True
        IDDict.to_id = to_id


class _ConfigMemo(threading.local):
    memo: dict[int, tuple[Any, Any]] | None = None
    ids: dict[tuple[Any, ...], Any] | None = None


_CONFIG_MEMO = _ConfigMemo()


class _configuration_memo:
    """Scope of the ``Expectation.configuration`` and ``IDDict.to_id`` memos: one GX validation run (see
    :func:`_speed_up_gx`)."""

    def __enter__(self) -> None:
        _CONFIG_MEMO.memo, _CONFIG_MEMO.ids = {}, {}

    def __exit__(self, *exc: object) -> None:
        _CONFIG_MEMO.memo = _CONFIG_MEMO.ids = None


def _gx_frame(df: pd.DataFrame, text_as_objects: bool = True) -> pd.DataFrame:
    """The frame GX validates, with the same values and positions in numpy-backed columns:

    * nullable integer/float columns as plain float64 (NaN for missing), so GX's pandas engine compares them
      vectorised instead of calling a Python function per value (a whole number prints the same as an int in
      a reason, see format_value);
    * Arrow-backed text columns (as read from Parquet) as Python objects: GX takes row subsets of the whole
      frame for every expectation, and a numpy take is much cheaper than an Arrow one per column. Not with
      ``text_as_objects=False`` (the whole-delivery key run: a few columns, a few expectations, and a Python
      string per row of a 2M-row delivery would cost hundreds of MB).
    """
    numeric = [c for c in df.columns
               if isinstance(df[c].dtype, (pd.Int64Dtype, pd.Float64Dtype)) and c != "bron_rij"]
    arrow_text = [c for c in df.columns
                  if text_as_objects and isinstance(df[c].dtype, (pd.ArrowDtype, pd.StringDtype))]
    if not numeric and not arrow_text:
        return df
    out = df.copy(deep=False)
    for c in numeric:
        out[c] = df[c].to_numpy(dtype="float64", na_value=float("nan"))
    for c in arrow_text:  # an explicit object Series: pandas 3 would infer its str dtype again
        out[c] = pd.Series(df[c].to_numpy(dtype=object, na_value=None), index=df.index, dtype=object)
    return out


def _expectations_dir() -> Path:
    from regiowerk.settings import paths

    return paths().expectations


def load_suite_dicts(dataset_name: str, directory: Path | None = None) -> list[tuple[str, dict]]:
    """[(source, suite dict)] for a dataset: the committed critical suite and, if present, the business suite."""
    directory = Path(directory) if directory is not None else _expectations_dir()
    path = critical_path(directory, dataset_name)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run `regiowerk expectations` to generate the suites")
    suites = [("critical", json.loads(path.read_text(encoding="utf-8")))]
    bpath = business_path(directory, dataset_name)
    if bpath.exists():
        suites.append(("business", json.loads(bpath.read_text(encoding="utf-8"))))
    return suites


def _columns_of(kwargs: Mapping[str, Any]) -> tuple[str, ...]:
    if "column" in kwargs:
        return (kwargs["column"],)
    if "column_list" in kwargs:
        return tuple(kwargs["column_list"])
    return tuple(kwargs[k] for k in ("column_A", "column_B") if k in kwargs)


@lru_cache(maxsize=32)
def _suite(dataset_name: str, with_gemeenten: bool, directory: str) -> tuple[Any, tuple[_Rule, ...], tuple[dict, ...]]:
    configs: list[dict] = []
    rules: list[_Rule] = []

    def add(source: str, exp: Mapping[str, Any]) -> None:
        kwargs = dict(exp.get("kwargs", {}))
        meta = dict(exp.get("meta") or {})
        columns = _columns_of(kwargs)
        reason = meta.get("reason") or f"{', '.join(columns)}: fails {exp['type']}"
        index = len(rules)
        meta["regiowerk_rule"] = index
        configs.append({"type": exp["type"], "kwargs": kwargs, "meta": meta})
        rules.append(_Rule(index, source, exp["type"], columns, reason))

    for source, suite in load_suite_dicts(dataset_name, Path(directory)):
        for exp in suite.get("expectations", []):
            add(source, exp)
    if with_gemeenten:
        add("runtime", {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "gemeente_code", "value_set": {"$PARAMETER": PARAM_ALLOWED_GEMEENTEN}},
            "meta": {"reason": "gemeente_code: value is not a gemeente of this region"},
        })
    return _gx_suite(f"{dataset_name}.runtime", configs), tuple(rules), tuple(configs)


def _gx_suite(name: str, configs: list[dict]) -> Any:
    suite = _gx().suite_cls(name=name, expectations=configs)
    if len(suite.expectations) != len(configs):
        # GX logs and *skips* invalid expectation configurations; refuse to validate with a partial suite.
        raise ValueError(f"{name}: {len(configs) - len(suite.expectations)} expectation(s) are not "
                         "valid GX configurations (see the GX error logged above)")
    return suite


def _chunkable(exp: Any, config: Mapping[str, Any]) -> bool:
    """A row-wise expectation without ``mostly``: its failing rows in a chunk are its failing rows of the whole
    delivery there (a column map expectation such as not-null, in-set, regex, between)."""
    from great_expectations.expectations.expectation import ColumnMapExpectation

    return (isinstance(exp, ColumnMapExpectation) and config["type"] not in WHOLE_DELIVERY_TYPES
            and "mostly" not in config["kwargs"])


@lru_cache(maxsize=32)
def _split_suite(dataset_name: str, with_gemeenten: bool, directory: str) -> tuple[Any, Any | None, tuple[str, ...]]:
    """The run-time suite in two parts for chunked validation: (row-wise suite, run per chunk; whole-delivery
    suite, run once on the columns it reads, or None; those columns). Key uniqueness is a whole-delivery rule;
    so is every expectation that is not row-wise (an aggregate, or one with ``mostly``): for those the
    whole-delivery part reads all stored columns."""
    suite, _, configs = _suite(dataset_name, with_gemeenten, directory)
    rows, whole, columns = [], [], []
    for exp, config in zip(suite.expectations, configs, strict=True):
        if _chunkable(exp, config):
            rows.append(config)
            continue
        whole.append(config)
        needed = (_columns_of(config["kwargs"]) if config["type"] in WHOLE_DELIVERY_TYPES
                  else canonical.dataset(dataset_name).stored_names)
        columns += [c for c in needed if c not in columns]
    return (_gx_suite(f"{dataset_name}.rows", rows),
            _gx_suite(f"{dataset_name}.whole", whole) if whole else None, tuple(columns))


def clear_cache() -> None:
    """Forget the cached suites (after editing a business suite in a long-running process)."""
    _suite.cache_clear()
    _split_suite.cache_clear()


def _suite_parameters(today: dt.date, allowed_gemeenten: set[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {PARAM_CURRENT_YEAR: today.year}
    if allowed_gemeenten is not None:
        params[PARAM_ALLOWED_GEMEENTEN] = sorted(allowed_gemeenten)
    return params


# --------------------------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------------------------


def _reasons_for(ds: canonical.Dataset, rule: _Rule, df: pd.DataFrame, positions: list[int],
                 override: str | None) -> list[str]:
    """The reason text for each failing position (vectorised column access, one format per distinct value)."""
    reason = override or rule.reason
    if positions and len(rule.columns) == 1:
        column = rule.columns[0]
        prefix = f"{column}: {MASK} "
        if reason.startswith(prefix) and not _is_personal(ds, column):
            rest = reason[len(prefix):]
            values = df[column].iloc[positions].to_numpy(dtype=object)
            memo: dict[Any, str] = {}
            out = []
            for value in values:
                if _is_missing(value):
                    out.append(reason)
                    continue
                try:
                    text = memo.get(value)
                except TypeError:  # unhashable
                    text = None
                if text is None:
                    text = f"{column}: {format_value(value)} {rest}"
                    with contextlib.suppress(TypeError):
                        memo[value] = text
                out.append(text)
            return out
    return [reason] * len(positions)


def _row_rule_reasons(ds: canonical.Dataset, rule: RowRule, df: pd.DataFrame, positions: list[int]) -> list[str]:
    if not positions:
        return []
    shown = {}
    for c in rule.columns:
        if _is_personal(ds, c):
            shown[c] = [MASK] * len(positions)
        else:
            values = df[c].iloc[positions].to_numpy(dtype=object)
            memo: dict[Any, str] = {}
            col_out = []
            for v in values:
                key = (type(v), v) if not _is_missing(v) else None
                if key not in memo:
                    memo[key] = format_value(v)
                col_out.append(memo[key])
            shown[c] = col_out
    return [rule.reason.format(**{c: shown[c][i] for c in rule.columns}) for i in range(len(positions))]


def chunk_rows() -> int:
    """Rows per Great Expectations run: ``REGIOWERK_VALIDATION_CHUNK_ROWS`` or :data:`DEFAULT_CHUNK_ROWS`."""
    value = os.environ.get("REGIOWERK_VALIDATION_CHUNK_ROWS", "").strip()
    return int(value) if value else DEFAULT_CHUNK_ROWS


def _run_gx(suite: Any, df: pd.DataFrame, params: dict[str, Any], text_as_objects: bool = True) -> dict[int, Any]:
    """One GX run of ``suite`` over ``df``: the result of each expectation by its rule index."""
    gx_ = _gx()
    with _GX_LOCK, _configuration_memo():
        batch = gx_.batch_definition.get_batch(batch_parameters={"dataframe": _gx_frame(df, text_as_objects)})
        run = batch.validate(
            suite,
            result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False},
            expectation_parameters=params,
        )
    return {int(r.expectation_config.meta["regiowerk_rule"]): r for r in run.results}


def validate(
    frame: pd.DataFrame,
    dataset: str,
    *,
    allowed_gemeenten: set[str] | None = None,
    regio_code: str | None = None,
    today: dt.date | None = None,
    chunk_size: int | None = None,
) -> ValidationResult:
    """Validate ``frame`` (stored columns of ``dataset`` + ``bron_rij``, typed) and return every failing row
    with all its reasons, keyed by position 0..n-1.

    ``allowed_gemeenten`` adds a check that ``gemeente_code`` is one of them; ``regio_code`` only names the
    region in that reason. ``today`` is for tests (default: today in Europe/Amsterdam).

    Bounded memory: a frame of more than ``chunk_size`` rows (default :func:`chunk_rows`) is validated in chunks
    of that many rows (the row-wise expectations and :data:`ROW_RULES`, one GX run per chunk), and the
    whole-delivery expectations (key uniqueness) run once over the whole frame on their columns only (see
    :func:`_split_suite`). The result is the same as in one run: the same rows, the same reasons in the same
    order, the same counts per rule.
    """
    started = time.perf_counter()
    ds = canonical.dataset(dataset)
    missing = [c for c in ds.stored_names if c not in frame.columns]
    if missing:
        raise ValueError(f"{dataset}: frame lacks stored column(s) {', '.join(missing)}")
    today = today or _today()
    df = frame.reset_index(drop=True)
    n = len(df)
    size = max(1, chunk_size if chunk_size is not None else chunk_rows())
    with_gemeenten = allowed_gemeenten is not None and "gemeente_code" in df.columns
    gemeente_reason = (f"gemeente_code: {MASK} is not a gemeente of region {regio_code}" if regio_code
                       else f"gemeente_code: {MASK} is not a gemeente of this region")
    collected: dict[int, list[str]] = {}
    results: list[dict[str, Any]] = []

    if n:
        directory = str(_expectations_dir())
        suite, rules, _ = _suite(dataset, with_gemeenten, directory)
        params = _suite_parameters(today, allowed_gemeenten if with_gemeenten else None)
        row_rules = [r for r in rules_for(dataset) if all(c in df.columns for c in r.columns)]
        hits: dict[int, list[tuple[int, str]]] = {rule.index: [] for rule in rules}
        ok: dict[int, bool] = {}
        row_hits: list[list[tuple[int, str]]] = [[] for _ in row_rules]

        def take(by_index: dict[int, Any], part: pd.DataFrame, offset: int) -> None:
            for rule in rules:
                r = by_index.get(rule.index)
                if r is None:
                    continue
                info = r.exception_info or {}
                if info.get("raised_exception"):
                    raise RuntimeError(f"{dataset}: expectation {rule.type} on {', '.join(rule.columns)} raised: "
                                       f"{info.get('exception_message')}")
                positions = [int(i) for i in (r.result.get("unexpected_index_list") or [])]
                override = gemeente_reason if rule.source == "runtime" else None
                texts = _reasons_for(ds, rule, part, positions, override)
                hits[rule.index].extend((offset + pos, text) for pos, text in zip(positions, texts, strict=False))
                ok[rule.index] = ok.get(rule.index, True) and bool(r.success)

        if n <= size:
            chunk_suite = suite
        else:
            chunk_suite, whole_suite, whole_columns = _split_suite(dataset, with_gemeenten, directory)
            if whole_suite is not None:
                take(_run_gx(whole_suite, df[list(whole_columns)], params, text_as_objects=False), df, 0)
        for start in range(0, n, size):
            part = df if n <= size else df.iloc[start:start + size].reset_index(drop=True)
            if chunk_suite.expectations:
                take(_run_gx(chunk_suite, part, params), part, start)
            for row_rule, found in zip(row_rules, row_hits, strict=True):
                mask = row_rule.failing(part, today).to_numpy(dtype=bool)
                positions = mask.nonzero()[0].tolist()
                texts = _row_rule_reasons(ds, row_rule, part, positions)
                found.extend((start + pos, text) for pos, text in zip(positions, texts, strict=False))
            del part
            if n > size:
                gc.collect()  # GX leaves reference cycles behind; free each chunk's before the next

        for rule in rules:
            if rule.index not in ok:
                raise RuntimeError(f"{dataset}: expectation {rule.type} on {', '.join(rule.columns)} was not run")
            for pos, text in hits[rule.index]:
                collected.setdefault(pos, []).append(text)
            results.append({
                "source": rule.source,
                "expectation_type": rule.type,
                "column": ", ".join(rule.columns),
                "rule": (gemeente_reason if rule.source == "runtime" else None) or rule.reason,
                "success": ok[rule.index],
                "unexpected_count": len(hits[rule.index]),
            })
        for row_rule, found in zip(row_rules, row_hits, strict=True):
            for pos, text in found:
                collected.setdefault(pos, []).append(text)
            results.append({
                "source": "python",
                "expectation_type": f"python:{row_rule.name}",
                "column": ", ".join(row_rule.columns),
                "rule": row_rule.reason.format(**{c: MASK for c in row_rule.columns}),
                "success": not found,
                "unexpected_count": len(found),
            })

    reasons = {pos: collected[pos] for pos in sorted(collected)}
    by_bron: dict[int, list[str]] = {}
    if "bron_rij" in df.columns:
        bron = df["bron_rij"]
        for pos, texts in reasons.items():
            b = bron.iat[pos]
            by_bron[int(b) if not _is_missing(b) else -1 - pos] = texts
    return ValidationResult(
        dataset=dataset,
        n_rows=n,
        n_failed_rows=len(reasons),
        reasons=reasons,
        expectation_results=results,
        seconds=round(time.perf_counter() - started, 3),
        reasons_by_bron_rij=by_bron,
    )


# --------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------


def build_data_docs(
    run_dir: Path,
    results: ValidationResult | Iterable[ValidationResult] | Mapping[str, ValidationResult],
    *,
    top_reasons: int = 20,
    title: str = "Validation report",
    facts: Mapping[str, object] | None = None,
    max_rows: int = 500,
) -> Path:
    """Write ``run_dir/validation.html``: a compact self-made HTML report (not GX Data Docs: those need a file
    context and cost seconds per delivery; this costs milliseconds). Contains ``facts`` (e.g. partner, source,
    counts), counts per rule, the most frequent reasons and, per failing row, its source row number and reasons
    (at most ``max_rows`` rows). Reasons are already masked (personal values never appear) and made inert
    (a leading ``= + - @`` is quoted); everything is HTML-escaped. ``run_dir`` must be outside git (data/runs)."""
    if isinstance(results, ValidationResult):
        items = [(results.dataset, results)]
    elif isinstance(results, Mapping):
        items = list(results.items())
    else:
        items = [(r.dataset, r) for r in results]
    e = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>regiowerk: {e(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}.fail{color:#b00}.ok{color:#070}</style>",
        f"</head><body><h1>{e(title)}</h1>",
    ]
    if facts:
        parts.append("<table>" + "".join(f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>"
                                         for k, v in facts.items()) + "</table>")
    for label, res in items:
        parts.append(f"<h2>{e(str(label))}</h2><p>{res.n_rows} rows, "
                     f"<span class='{'fail' if res.n_failed_rows else 'ok'}'>{res.n_failed_rows} failing</span>, "
                     f"{res.seconds:.3f} s</p>")
        parts.append("<table><tr><th>source</th><th>check</th><th>column</th><th>rule</th><th>result</th>"
                     "<th>failing rows</th></tr>")
        for r in res.expectation_results:
            cls = "ok" if r["success"] else "fail"
            parts.append(
                f"<tr><td>{e(r['source'])}</td><td>{e(r['expectation_type'])}</td><td>{e(r['column'])}</td>"
                f"<td>{e(r['rule'])}</td><td class='{cls}'>{'pass' if r['success'] else 'FAIL'}</td>"
                f"<td>{r['unexpected_count']}</td></tr>")
        parts.append("</table>")
        counts = Counter(t for texts in res.reasons.values() for t in texts)
        if counts:
            parts.append("<table><tr><th>reason</th><th>rows</th></tr>")
            for text, count in counts.most_common(top_reasons):
                parts.append(f"<tr><td>{e(text)}</td><td>{count}</td></tr>")
            parts.append("</table>")
        by_row = res.reasons_by_bron_rij or res.reasons
        if by_row:
            parts.append(f"<h3>Failing rows{f' (first {max_rows})' if len(by_row) > max_rows else ''}</h3>"
                         "<table><tr><th>row</th><th>reasons</th></tr>")
            for bron_rij in sorted(by_row)[:max_rows]:
                parts.append(f"<tr><td>{bron_rij}</td><td>{e('; '.join(by_row[bron_rij]))}</td></tr>")
            parts.append("</table>")
    parts.append("</body></html>")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    out = run_dir / "validation.html"
    out.write_text("\n".join(parts), encoding="utf-8")
    return out
