"""The runbook: sectioned, rendered without letting HTML through, linked from defects."""

import pytest

from defects.models import RunbookLink
from defects.runbook import runbook_publish
from runs.models import Membership
from tests.builders import a_user

pytestmark = pytest.mark.django_db


def test_the_runbook_is_sectioned_rendered_safely_and_linked_from_defects(triager, project, leak):
    author = a_user("root", member_of=project, role=Membership.Role.ADMIN)
    runbook_publish(project=project, author=author, markdown=(
        "# Runbook\n\n<script>alert(1)</script>\n\n## Tenant isolation failures\n\n"
        "Check the [org filter](javascript:alert(2)) of every query.\n\n## Other\n\nText.\n"
    ))  # fmt: skip
    RunbookLink.objects.create(project=project, kind="invariant", match="TENANT",
                               anchor="tenant-isolation-failures")  # fmt: skip

    page = triager.get(f"/p/dispatch/defects/{leak.pk}/").content.decode()
    full = triager.get("/p/dispatch/runbook/").content.decode()

    assert "Check the" in page and "Text." not in page
    assert 'href="/p/dispatch/runbook/#tenant-isolation-failures"' in page
    assert 'id="tenant-isolation-failures"' in full
    assert "<script>alert(1)" not in full and "&lt;script&gt;" in full
    assert 'href="javascript:' not in full
