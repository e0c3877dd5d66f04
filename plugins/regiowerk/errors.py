"""Errors that name what went wrong and where: partner, dataset, source (file or endpoint), row and field."""

from __future__ import annotations


class RegiowerkError(Exception):
    """Base class of every error the platform raises on purpose."""


class DeliveryError(RegiowerkError):
    """A whole delivery is rejected: nothing of it is loaded and the last good data stays.

    Raised for delivery-level faults (missing file, unreadable encoding, empty or truncated file, missing
    required column, malformed API page, an exhausted retry budget). The message says who and where.
    """

    def __init__(self, partner_id: str, dataset: str, source: str, message: str, *, column: str | None = None):
        self.partner_id = partner_id
        self.dataset = dataset
        self.source = source
        self.column = column
        self.reason = message
        where = f"partner {partner_id}, dataset {dataset}, source {source}"
        if column:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


class ConfigurationError(RegiowerkError):
    """A setting or secret is missing or wrong (never echoes the secret itself)."""
