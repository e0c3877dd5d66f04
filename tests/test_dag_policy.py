"""DAG policy per partner file: each file under partners/ builds its DAG, and that DAG carries the owner from
the file, tags, retries, the failure alert and documentation (the way the best Airflow monorepos test it)."""

from pathlib import Path

import pytest
import yaml
from regiowerk.alerts import notify_failure
from regiowerk.dag_factory import build_partner_dag
from regiowerk.registry import load_partner
from regiowerk.settings import paths

pytestmark = pytest.mark.unit

PARTNER_FILES = sorted(paths().partners.glob("*.yml"))


def test_there_are_partner_files():
    assert len(PARTNER_FILES) >= 5


@pytest.fixture(params=PARTNER_FILES, ids=[f.stem for f in PARTNER_FILES])
def partner_dag(request):
    path: Path = request.param
    partner = load_partner(path)
    return yaml.safe_load(path.read_text(encoding="utf-8")), partner, build_partner_dag(partner)


def test_dag_builds_with_the_id_and_schedule_of_its_file(partner_dag):
    data, partner, dag = partner_dag
    assert dag.dag_id == f"partner_{data['partner_id']}" == partner.dag_id
    assert dag.schedule == dag.timetable.expression == data["schedule"]  # the cron expression of the file
    assert dag.catchup is False and dag.max_active_runs == 1
    # one extract -> pseudonymise -> validate -> load chain per dataset of the file
    assert {t.task_id for t in dag.tasks} == {f"{ds}.{s}" for ds in data["datasets"]
                                              for s in ("extract", "pseudonymise", "validate", "load")}


def test_every_task_has_the_owner_from_the_partner_file(partner_dag):
    data, partner, dag = partner_dag
    owner = data.get("owner", partner.owner)  # the registry's default when the file names none
    assert owner and owner != "airflow"
    assert {t.owner for t in dag.tasks} == {owner}


def test_tags_name_the_platform_the_kind_and_the_region(partner_dag):
    data, _, dag = partner_dag
    assert {"regiowerk", "partner", data["kind"], data["regio_code"]} <= set(dag.tags)


def test_every_task_retries_and_alerts_on_failure(partner_dag):
    _, _, dag = partner_dag
    for t in dag.tasks:
        assert t.retries >= 1, t.task_id
        callbacks = t.on_failure_callback
        callbacks = callbacks if isinstance(callbacks, list | tuple) else [callbacks]
        assert notify_failure in callbacks, t.task_id


def test_documentation_names_the_partner_its_contact_and_what_to_do(partner_dag):
    data, _, dag = partner_dag
    assert data["naam"] in dag.doc_md and data["contact"] in dag.doc_md
    assert f"partners/{data['partner_id']}.yml" in dag.doc_md
    assert "On failure" in dag.doc_md
    for dataset in data["datasets"]:
        assert dataset in dag.doc_md
    assert dag.description
