"""A defect exported: as Markdown after the runbook's template, and as a GitHub issue."""

import pytest
from django.test import override_settings

from defects.models import TriageSettings
from runs.secrets import secret_encrypt
from tests.ci_standins import Receiver

pytestmark = pytest.mark.django_db


def test_copy_as_defect_follows_the_runbook_template(triager, project, leak):
    project.repro_command = 'pnpm exec vitest --run -t "{scenarioId}"'
    project.repro_env = "TZ=UTC"
    project.save()
    markdown = triager.get(f"/p/dispatch/defects/{leak.pk}/defect.md").content.decode()

    assert markdown.startswith(
        "# Integration failure: BID-001 / TENANT-004 (BID-001: bid-open notification"
    )
    for part in ("`BID-001`", "`TENANT-004`", "https://ci.example.test/runs/8812345",
                 "logs/nightly/2026-11-20/ci-artifacts/report.json", "only drivers of org-a",
                 "drv-b-1 of org-b was notified", 'TZ=UTC pnpm exec vitest --run -t "BID-001"',
                 "bidWindowId: `bw-17`"):  # fmt: skip
        assert part in markdown, part


def test_create_github_issue_posts_the_report_with_the_project_token(triager, project, leak):
    github = Receiver(statuses=(201,), answer={"html_url": "https://github.test/acme/app/issues/7"})
    TriageSettings.objects.create(project=project, github_repository="acme/app",
                                  github_token_encrypted=secret_encrypt("ghp-secret"))  # fmt: skip
    try:
        with override_settings(GITHUB_API_URL=github.url):
            response = triager.post(f"/p/dispatch/defects/{leak.pk}/github/", follow=True)
    finally:
        github.close()

    [delivery] = github.deliveries
    assert delivery["path"] == "/repos/acme/app/issues"
    assert delivery["headers"]["Authorization"] == "Bearer ghp-secret"
    assert delivery["body"]["title"].startswith("Integration failure: BID-001 / TENANT-004")
    assert "https://github.test/acme/app/issues/7" in response.content.decode()
    assert leak.events.filter(text__contains="issues/7").exists()
