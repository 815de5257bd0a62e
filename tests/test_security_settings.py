"""Security settings a person never sees until they matter."""

import pytest
from django.test import Client, override_settings

from defects.models import TriageSettings
from operations.outbound import OutboundRefused, check_destination
from reruns.models import Dispatcher
from runs.models import Membership
from tests.builders import a_project, a_user

pytestmark = pytest.mark.django_db


def test_pages_carry_a_content_security_policy_and_refuse_framing(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY"


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_logins_are_throttled_after_repeated_failures(client):
    a_user("dana")
    for _ in range(3):
        assert (
            client.post("/accounts/login/", {"username": "dana", "password": "no"}).status_code
            == 200
        )
    blocked = client.post("/accounts/login/", {"username": "dana", "password": "pw-for-tests"})
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.content.decode()
    assert blocked["Retry-After"]


def test_forms_need_a_csrf_token():
    project, _ = a_project()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(a_user("tara", member_of=project))
    assert strict.post("/p/dispatch/defects/bulk/", {"action": "acknowledge"}).status_code == 403


@override_settings(OUTBOUND_ALLOWED_HOSTS=["hooks.slack.com", "*.ci.example.com"],
                   OUTBOUND_ALLOW_PRIVATE_NETWORKS=False)  # fmt: skip
def test_an_admin_cannot_point_webhooks_outside_the_allowlist(client):
    project, _ = a_project()
    client.force_login(a_user("root", member_of=project, role=Membership.Role.ADMIN))
    for url in ("http://169.254.169.254/latest/meta-data/", "https://evil.example.net/hook",
                "http://127.0.0.1:6379/"):  # fmt: skip
        client.post("/p/dispatch/settings/notifications/",
                    {"webhook_url": url, "escalate_after_minutes": 20})  # fmt: skip
        client.post("/p/dispatch/settings/dispatcher/", {"kind": "webhook", "webhook_url": url,
                                                         "max_concurrent": 3,
                                                         "timeout_minutes": 60})  # fmt: skip
    assert not TriageSettings.objects.exclude(webhook_url="").exists()
    assert not Dispatcher.objects.exists()
    with pytest.raises(OutboundRefused, match="not in the server's allowed outbound hosts"):
        check_destination("https://evil.example.net/hook")
    with pytest.raises(OutboundRefused):
        check_destination("http://169.254.169.254/")
