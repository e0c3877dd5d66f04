"""Connectors: read one dataset of one partner into an :class:`Extraction` of text values.

``extract`` dispatches on ``partner.connector.type`` (file, rest, sql). Delivery-level faults raise
:class:`regiowerk.errors.DeliveryError`; a missing connection or unknown dataset raises
:class:`regiowerk.errors.ConfigurationError`. Connectors never commit a watermark: the caller stores
``Extraction.watermark`` with :meth:`WatermarkStore.set` after the delivery has been loaded.
"""

from __future__ import annotations

from pathlib import Path

from regiowerk.connectors.base import ROW_NUMBER_COLUMN, DeliveryContext, Extraction, to_text
from regiowerk.errors import ConfigurationError
from regiowerk.registry import Partner
from regiowerk.watermarks import WatermarkStore

__all__ = ["ROW_NUMBER_COLUMN", "DeliveryContext", "Extraction", "extract", "to_text"]


def extract(partner: Partner, dataset: str, *, drop_dir: Path | None = None,
            watermarks: WatermarkStore | None = None) -> Extraction:
    """Read ``dataset`` of ``partner``.

    ``drop_dir`` overrides the drop zone of file partners (default ``settings.paths().drop``); ``watermarks``
    is the store incremental rest/sql datasets read their last watermark from (default: the store in
    ``settings.paths().state``).
    """
    if dataset not in partner.datasets:
        known = ", ".join(sorted(partner.datasets))
        raise ConfigurationError(f"partner {partner.partner_id} has no dataset {dataset!r}; it delivers: {known}")
    kind = partner.connector.type
    if kind == "file":
        from regiowerk.connectors.file import extract_file

        return extract_file(partner, dataset, drop_dir)
    if kind == "rest":
        from regiowerk.connectors.rest import extract_rest

        return extract_rest(partner, dataset, watermarks)
    if kind == "sql":
        from regiowerk.connectors.sql import extract_sql

        return extract_sql(partner, dataset, watermarks)
    raise ConfigurationError(f"partner {partner.partner_id}: unknown connector type {kind!r}")
