"""Errors that name what went wrong and where: partner, dataset, source (file or endpoint), row and field."""

from __future__ import annotations

from regiowerk import masking


class RegiowerkError(Exception):
    """Base class of every error the platform raises on purpose."""


class DeliveryError(RegiowerkError):
    """A whole delivery is rejected: nothing of it is loaded and the last good data stays.

    Raised for delivery-level faults (missing file, unreadable encoding, empty or truncated file, missing
    required column, malformed API page, an exhausted retry budget). The message says who and where; any
    BSN-like number or full postcode in it is masked (:func:`regiowerk.masking.mask_text`), so it may go to a
    log, ``audit.deliveries.message`` or an alert.
    """

    def __init__(self, partner_id: str, dataset: str, source: str, message: str, *, column: str | None = None):
        self.partner_id = partner_id
        self.dataset = dataset
        self.source = source
        self.column = column
        message = masking.mask_text(message)  # a value quoted in a message may be someone's BSN or postcode
        self.reason = message
        where = f"partner {partner_id}, dataset {dataset}, source {source}"
        if column:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


def unexpected_failure(partner_id: str, dataset: str, source: str, stage: str, error: BaseException) -> DeliveryError:
    """A DeliveryError for any other exception raised while reading or pseudonymising a delivery (a parser that
    crashed, a nesting too deep): one line, naming the stage and the kind of error; the exception's own text is
    cut to its first line and masked like every DeliveryError message."""
    first = (str(error).strip().splitlines() or [""])[0][:200]
    detail = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return DeliveryError(partner_id, dataset, source,
                         f"the delivery could not be processed in {stage} ({detail}); it is rejected as malformed "
                         f"and nothing was loaded")


class ConfigurationError(RegiowerkError):
    """A setting or secret is missing or wrong (never echoes the secret itself)."""
