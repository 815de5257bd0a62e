"""A defect exported: as Markdown after the runbook's template, and as a GitHub issue."""

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings
from markdown_it import MarkdownIt

from defects.models import Defect, TriageSettings
from runs.secrets import secret_encrypt
from tests.builders import a_failure, a_report, a_scenario, a_triaged_run
from tests.ci_standins import Receiver

pytestmark = pytest.mark.django_db


def test_copy_as_defect_follows_the_runbook_template(triager, project, leak):
    project.repro_command = 'pnpm exec vitest --run -t "{scenarioId}"'
    project.repro_env = "TZ=UTC"
    project.save()
    markdown = triager.get(f"/p/dispatch/defects/{leak.pk}/defect.md").content.decode()

    assert markdown.startswith(
        "# Integration failure: `BID-001` / `TENANT-004` (`BID-001: bid-open notification"
    )
    for part in ("`BID-001`", "`TENANT-004`", "https://ci.example.test/runs/8812345",
                 "logs/nightly/2026-11-20/ci-artifacts/report.json", "only drivers of org-a",
                 "drv-b-1 of org-b was notified", 'TZ=UTC pnpm exec vitest --run -t "BID-001"',
                 "`bidWindowId`: `bw-17`"):  # fmt: skip
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


def test_a_github_token_no_key_can_read_is_reported_and_nothing_is_sent(
    triager, project, leak, settings
):
    github = Receiver(statuses=(201,), answer={"html_url": "https://github.test/acme/app/issues/7"})
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    TriageSettings.objects.create(project=project, github_repository="acme/app",
                                  github_token_encrypted=secret_encrypt("ghp-secret"))  # fmt: skip
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    try:
        with override_settings(GITHUB_API_URL=github.url):
            response = triager.post(f"/p/dispatch/defects/{leak.pk}/github/", follow=True)
    finally:
        github.close()

    assert github.deliveries == []
    assert (
        "No GitHub issue was created: the stored GitHub token cannot be read with the current "
        "encryption keys; enter it again in the project settings"
    ) in response.content.decode()


def test_hostile_ids_and_messages_cannot_inject_markdown_into_the_export(triager, project):
    hostile = a_failure(
        invariantId="TENANT-004`](https://evil.test/x) @admin",
        message="x\n# Owned\n![pixel](https://evil.test/p.gif) [click](https://evil.test/) @admin",
        expected="```\n# not a heading\n```",
        observed="````",
        organizationUnderTest="org-a`` [x](https://evil.test/)",
        keyEntityIds={"id`](https://evil.test/)": "`@admin`"},
        artifacts=["a`](https://evil.test/)"],
    )
    a_triaged_run(project, a_report("run-1", [
        a_scenario("BID-001", "failed", failures=[hostile]),
    ]))  # fmt: skip
    defect = Defect.objects.get()

    markdown = triager.get(f"/p/dispatch/defects/{defect.pk}/defect.md").content.decode()

    tokens = MarkdownIt("commonmark").parse(markdown)
    inline = [child for token in tokens if token.children for child in token.children]
    links = {child.attrs.get("href") for child in inline if child.type == "link_open"}
    assert not [t for t in inline if t.type == "image"]
    assert all(not str(href).startswith("https://evil.test") for href in links), links
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings[0].startswith("Integration failure:")
    assert headings[1:] == ["Artifacts", "Expected", "Observed", "Reproduce locally",
                            "Key entity ids"]  # fmt: skip
    text = [child.content for child in inline if child.type == "text"]
    assert not any("@admin" in piece for piece in text)
