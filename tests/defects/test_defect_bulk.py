"""Bulk actions on the defect list: every selected defect changes; no redirect leaves the site."""

import pytest

from defects.models import Defect
from tests.builders import a_report, a_scenario, a_triaged_run, a_user

pytestmark = pytest.mark.django_db


def test_bulk_actions_apply_to_every_selected_defect(triager, project):
    a_triaged_run(
        project, a_report("run-1", [a_scenario(f"BID-00{n}", "failed") for n in (1, 2, 3)])
    )
    defects = list(Defect.objects.order_by("fingerprint"))
    chosen = [f"{d.pk}:{d.version}" for d in defects[:2]]

    response = triager.post(
        "/p/dispatch/defects/bulk/", {"action": "acknowledge", "defect": chosen}, follow=True
    )

    states = dict(Defect.objects.values_list("fingerprint", "state"))
    assert states == {"BID-001|TENANT-004": "acknowledged", "BID-002|TENANT-004": "acknowledged",
                      "BID-003|TENANT-004": "new"}  # fmt: skip
    assert "2 defect(s) changed" in response.content.decode()


def test_bulk_actions_do_not_redirect_off_site(client, project):
    client.force_login(a_user("tara", member_of=project))
    response = client.post("/p/dispatch/defects/bulk/",
                           {"action": "acknowledge", "next": "//evil.example/x"})  # fmt: skip
    assert response["Location"] == "/p/dispatch/defects/"
