"""The dashboards as code: ``deploy/superset/dashboards/`` holds Superset's own export format (YAML: databases/,
datasets/, charts/, dashboards/), committed; :func:`build_bundle` zips it into an import bundle for one BI source.

A dataset whose ``bi`` view does not exist in the source (a mart not built yet) is left out, and with it every
chart on it and every dashboard showing such a chart: so a dashboard over a mart that a warehouse does not build
yet is imported as soon as its views exist, without a change here.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from regiowerk.bi import source
from regiowerk.settings import paths

ROOT = "regiowerk_dashboards"


def definitions_dir() -> Path:
    return paths().root / "deploy" / "superset" / "dashboards"


@dataclass
class Definitions:
    database: dict
    datasets: dict[str, dict] = field(default_factory=dict)  # relative path -> yaml
    charts: dict[str, dict] = field(default_factory=dict)
    dashboards: dict[str, dict] = field(default_factory=dict)

    def chart_uuids(self, dashboard: dict) -> list[str]:
        return [v["meta"]["uuid"] for v in dashboard["position"].values()
                if isinstance(v, dict) and v.get("type") == "CHART"]

    def dataset_of(self, chart: dict) -> dict:
        return next(d for d in self.datasets.values() if d["uuid"] == chart["dataset_uuid"])

    def for_tables(self, tables: set[str] | frozenset[str]) -> Definitions:
        """Only what can be shown with the ``bi`` relations ``tables``."""
        datasets = {k: v for k, v in self.datasets.items() if v["table_name"] in tables}
        kept = {v["uuid"] for v in datasets.values()}
        charts = {k: v for k, v in self.charts.items() if v["dataset_uuid"] in kept}
        chart_ids = {v["uuid"] for v in charts.values()}
        dashboards = {k: v for k, v in self.dashboards.items() if set(self.chart_uuids(v)) <= chart_ids}
        return Definitions(self.database, datasets, charts, dashboards)


def load_definitions(folder: Path | None = None) -> Definitions:
    folder = folder or definitions_dir()

    def read(sub: str) -> dict[str, dict]:
        return {str(f.relative_to(folder)): yaml.safe_load(f.read_text(encoding="utf-8"))
                for f in sorted((folder / sub).rglob("*.yaml"))}

    (database,) = read("databases").values()
    return Definitions(database, read("datasets"), read("charts"), read("dashboards"))


def build_bundle(out: Path, sqlalchemy_uri: str, tables: set[str] | frozenset[str], *, engine: str,
                 folder: Path | None = None) -> Definitions:
    """Write the import ZIP for a source with ``tables`` in schema bi; returns what it holds."""
    defs = load_definitions(folder).for_tables(tables)
    database = dict(defs.database, sqlalchemy_uri=sqlalchemy_uri)
    connect_args = {"duckdb": {"read_only": True},  # the extract, opened read-only for every query
                    "postgres": {"options": source.PG_READ_ONLY_OPTIONS}}[engine]  # read-only sessions
    database["extra"] = {**(database.get("extra") or {}), "engine_params": {"connect_args": connect_args}}
    meta = {"version": "1.0.0", "type": "Dashboard", "timestamp": datetime.now(UTC).isoformat()}
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(f"{ROOT}/metadata.yaml", yaml.safe_dump(meta))
        z.writestr(f"{ROOT}/databases/regiowerk.yaml", yaml.safe_dump(database, allow_unicode=True))
        for group in (defs.datasets, defs.charts, defs.dashboards):
            for rel, doc in group.items():
                z.writestr(f"{ROOT}/{rel}", yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    return defs
