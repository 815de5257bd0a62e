"""Outbound HTTP to addresses an admin typed in: only allowed hosts, never the server's own
network."""

import pytest
from django.test import override_settings

from defects.models import TriageSettings
from operations.outbound import OutboundRefused, check_destination
from reruns.models import Dispatcher
from runs.models import Membership
from tests.builders import a_project, a_user

pytestmark = pytest.mark.django_db


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


@override_settings(OUTBOUND_ALLOW_PRIVATE_NETWORKS=False)
def test_webhooks_cannot_reach_the_servers_own_network():
    for url in ("http://127.0.0.1:6379/", "http://169.254.169.254/latest", "http://10.0.0.8/",
                "file:///etc/passwd"):  # fmt: skip
        with pytest.raises(OutboundRefused):
            check_destination(url)
