"""Failure alerts: one message that says which partner, which delivery, which task, what went wrong, and what to do.

:func:`notify_failure` is the ``on_failure_callback`` of every regiowerk task. It logs the message at ERROR and,
when a webhook is configured, posts it as JSON (``{"text": ..., "partner_id": ..., ...}``, the shape Slack,
Mattermost and Teams incoming webhooks accept) with ``requests``. The webhook URL is the Airflow Variable
``regiowerk_alert_webhook_url`` (or ``AIRFLOW_VAR_REGIOWERK_ALERT_WEBHOOK_URL``); it is a secret and never logged.
A failing webhook is logged and never raises: an alert must not hide the failure it reports.

The message holds identifiers and counts only: partner id, name and contact (from the registry), dataset, delivery
id and source (from the XCom of the dataset's ``extract`` task, or from the :class:`~regiowerk.errors.DeliveryError`
itself when extraction failed), the DAG, task, run and try, the error (cut to 500 characters; regiowerk's own
errors never carry a personal value), and a hint.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from regiowerk import masking

log = logging.getLogger(__name__)

WEBHOOK_VARIABLE = "regiowerk_alert_webhook_url"
WEBHOOK_TIMEOUT_SECONDS = 10
PARTNER_DAG_PREFIX = "partner_"
MAX_ERROR_CHARS = 500


@dataclass
class FailureAlert:
    dag_id: str
    task_id: str
    run_id: str | None
    try_number: int | None
    error: str
    hint: str
    partner_id: str | None = None
    partner_naam: str | None = None
    contact: str | None = None
    dataset: str | None = None
    delivery_id: str | None = None
    source: str | None = None

    def text(self) -> str:
        who = (f"partner {self.partner_id} ({self.partner_naam}, contact {self.contact})" if self.partner_naam
               else f"partner {self.partner_id}" if self.partner_id else "the regional warehouse")
        parts = [f"regiowerk: task {self.task_id} of {self.dag_id} failed for {who}"]
        if self.dataset:
            parts.append(f"dataset {self.dataset}")
        if self.delivery_id or self.source:
            parts.append(f"delivery {self.delivery_id or 'not yet assigned'} from {self.source or 'unknown source'}")
        parts.append(f"run {self.run_id}, try {self.try_number}")
        return "; ".join(parts) + f".\nError: {self.error}\nWhat to do: {self.hint}"


def _hint(partner_id: str | None, dataset: str | None, stage: str | None) -> str:
    if not partner_id:
        return ("open the task log: it names the failing dbt model or test. The marts keep their last good state. "
                "`regiowerk summary` shows what arrived and what is late.")
    check = f"regiowerk check FILE --partner {partner_id}" + (f" --dataset {dataset}" if dataset else "")
    if stage in ("extract", "pseudonymise"):
        what = ("the delivery was rejected (nothing loaded, the last good data stays); it is in "
                "`regiowerk deliveries`. Ask the partner to fix the export; they can test it first with")
    else:
        what = "the delivery did not load; rows with problems are listed by " \
               f"`regiowerk quarantine list --partner {partner_id}`; a corrected file can be tested with"
    return f"{what} `{check}`."


def _xcom_delivery(ti, dataset: str) -> dict:
    try:
        value = ti.xcom_pull(task_ids=f"{dataset}.extract")
    except Exception as e:  # noqa: BLE001 - no XCom backend or no value: the alert goes out without it
        log.debug("no extract XCom for %s: %s", dataset, e)
        return {}
    return value if isinstance(value, dict) else {}


def build_alert(context) -> FailureAlert:
    """The alert for a failed task, from an Airflow callback context (``ti``/``task_instance``, ``exception``)."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = str(getattr(ti, "dag_id", None) or context.get("dag_id") or "?")
    task_id = str(getattr(ti, "task_id", None) or "?")
    error = context.get("exception")
    error_text = (f"{type(error).__name__}: {error}" if error is not None else "unknown error")[:MAX_ERROR_CHARS]
    error_text = masking.mask_text(error_text)  # any task's error, not only regiowerk's own, may quote a value
    partner_id = getattr(error, "partner_id", None)
    if partner_id is None and dag_id.startswith(PARTNER_DAG_PREFIX):
        partner_id = dag_id.removeprefix(PARTNER_DAG_PREFIX)
    dataset, stage = None, task_id
    if partner_id and "." in task_id:  # partner DAG tasks are <dataset>.<stage> (one TaskGroup per dataset)
        dataset, _, stage = task_id.rpartition(".")
    dataset = getattr(error, "dataset", None) or dataset
    alert = FailureAlert(dag_id=dag_id, task_id=task_id, run_id=getattr(ti, "run_id", None) or context.get("run_id"),
                         try_number=getattr(ti, "try_number", None), error=error_text,
                         hint=_hint(partner_id, dataset, stage), partner_id=partner_id, dataset=dataset)
    if partner_id:
        try:
            from regiowerk.registry import load_registry

            partner = load_registry().get(partner_id)
        except Exception as e:  # noqa: BLE001 - a broken registry must not stop the alert
            log.warning("alert: registry not readable: %s", e)
            partner = None
        if partner is not None:
            alert.partner_naam, alert.contact = partner.naam, partner.contact
    if dataset and ti is not None and partner_id:
        delivery = _xcom_delivery(ti, dataset)
        alert.delivery_id = delivery.get("delivery_id")
        alert.source = delivery.get("source")
    alert.source = alert.source or getattr(error, "source", None)
    return alert


def webhook_url() -> str | None:
    from regiowerk.secret_store import get_variable

    url = (get_variable(WEBHOOK_VARIABLE) or "").strip()
    return url or None


def post_webhook(url: str, alert: FailureAlert) -> bool:
    """POST the alert; True when the webhook answered 2xx. Never raises and never logs the URL."""
    import requests

    try:
        response = requests.post(url, json={"text": alert.text(), **asdict(alert)}, timeout=WEBHOOK_TIMEOUT_SECONDS)
    except requests.RequestException as e:
        log.error("regiowerk: alert webhook not reachable (%s)", type(e).__name__)
        return False
    if not response.ok:
        log.error("regiowerk: alert webhook answered HTTP %s", response.status_code)
    return response.ok


def notify_failure(context) -> FailureAlert:
    """``on_failure_callback``: log the alert and post it to the webhook if one is configured."""
    alert = build_alert(context)
    log.error("%s", alert.text())
    url = webhook_url()
    if url:
        post_webhook(url, alert)
    return alert
