"""Fixtures of the defects tests: a project, its tenant-leak defect, a triager logged in, and
a real Celery worker."""

import pytest

from defects.models import Defect
from tests.builders import a_project, a_report, a_scenario, a_triaged_run, a_user
from tests.workers import Worker, purge_queue


@pytest.fixture
def project():
    return a_project()[0]


@pytest.fixture
def leak(project):
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    return Defect.objects.get(fingerprint="BID-001|TENANT-004")


@pytest.fixture
def triager(client, project):
    user = a_user("tara", member_of=project)
    client.force_login(user)
    return client


@pytest.fixture
def worker(transactional_db, tmp_path):
    """A Celery worker process whose mail goes to files the test can read."""
    purge_queue()
    process = Worker(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
    )
    yield tmp_path / "mail"
    process.stop()
