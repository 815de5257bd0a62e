"""Outbound HTTP to addresses an admin typed in: only allowed hosts, never the server's own
network."""

import ipaddress
from pathlib import Path

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


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "http://[::127.0.0.1]/",  # IPv4-compatible loopback
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of the link-local metadata address
        "http://[64:ff9b:1::a00:8]/",  # local-use NAT64 of 10.0.0.8
        "http://[2002:7f00:1::]/",  # 6to4 of loopback
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 of link-local
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[::1]/",
    ],
)
@override_settings(OUTBOUND_ALLOWED_HOSTS=["*"], OUTBOUND_ALLOW_PRIVATE_NETWORKS=False)
def test_every_spelling_of_a_private_address_is_refused(url):
    with pytest.raises(OutboundRefused, match="non-public address"):
        check_destination(url)


@override_settings(OUTBOUND_ALLOWED_HOSTS=["*"], OUTBOUND_ALLOW_PRIVATE_NETWORKS=False)
def test_public_ipv6_addresses_stay_reachable():
    from operations.outbound import is_public

    for address in ("2606:4700:4700::1111", "2001:4860:4860::8888", "2002:808:808::1"):
        assert is_public(ipaddress.ip_address(address)), address


def test_private_networks_are_off_by_default_even_in_development():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTBOUND_")}
    env.update(DEBUG="true", DJANGO_SETTINGS_MODULE="triage.settings")
    shown = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
         "print(settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS)"],
        env=env, capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert shown.stdout.strip() == "False"
