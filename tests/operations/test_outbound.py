"""Outbound HTTP to addresses an admin typed in: only allowed hosts, never the server's own
network."""

import ipaddress
import json
import ssl
import urllib.error
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.test import override_settings

from defects.models import TriageSettings
from operations.outbound import (
    OutboundRefused,
    Pin,
    PinnedHTTPSConnection,
    check_destination,
    destination_pin,
    pinned_post,
    post,
)
from reruns.models import Dispatcher
from runs.models import Membership
from tests.builders import a_project, a_user
from tests.ci_standins import Receiver

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


@override_settings(OUTBOUND_ALLOWED_HOSTS=["localhost"], OUTBOUND_ALLOW_PRIVATE_NETWORKS=True)
def test_a_post_goes_to_the_address_that_was_checked_under_the_hosts_name():
    ci = Receiver()
    url = f"http://localhost:{ci.server.server_port}/hook"
    try:
        pin = destination_pin(url)
        status, _ = post(url, b"{}", {"Content-Type": "application/json"}, timeout=5)
    finally:
        ci.close()
    assert pin.host == "localhost" and "127.0.0.1" in pin.addresses
    assert all(ipaddress.ip_address(address).is_loopback for address in pin.addresses)
    assert status == 202
    [delivery] = ci.deliveries
    assert delivery["headers"]["Host"] == f"localhost:{ci.server.server_port}"
    with override_settings(OUTBOUND_ALLOW_PRIVATE_NETWORKS=False), pytest.raises(OutboundRefused):
        post(url, b"{}", {}, timeout=5)


@override_settings(OUTBOUND_ALLOWED_HOSTS=["rebound.invalid"])
def test_the_connection_never_looks_the_name_up_again():
    # A .invalid name never resolves (RFC 6761): a second lookup at connect time, which a
    # rebinding DNS would answer differently, would fail here. The pin holds what was checked.
    with pytest.raises(OutboundRefused, match="cannot resolve"):
        destination_pin("http://rebound.invalid/")
    ci = Receiver()
    port = ci.server.server_port
    checked, url = Pin("rebound.invalid", port, ("127.0.0.1",)), f"http://rebound.invalid:{port}/"
    try:
        status, _ = pinned_post(checked, url, b"{}", {}, timeout=5)
    finally:
        ci.close()
    assert status == 202
    assert ci.deliveries[0]["headers"]["Host"] == f"rebound.invalid:{port}"


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


def test_https_to_a_pinned_address_verifies_the_certificate_of_the_host_name(tmp_path):
    cert, key = _self_signed(tmp_path, "rebound.invalid")
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    names_asked = []
    server_side.sni_callback = lambda sock, name, context: names_asked.append(name)
    ci = Receiver()
    ci.server.socket = server_side.wrap_socket(ci.server.socket, server_side=True)
    port = ci.server.server_port
    trusting = ssl.create_default_context(cafile=str(cert))

    def send(host: str) -> int:
        connection = PinnedHTTPSConnection(host, port=port, timeout=5, context=trusting,
                                           pin=Pin(host, port, ("127.0.0.1",)))  # fmt: skip
        try:
            connection.request("POST", "/hook", body=b"{}")
            return connection.getresponse().status
        finally:
            connection.close()

    try:
        assert send("rebound.invalid") == 202
        with pytest.raises(ssl.SSLCertVerificationError):
            send("elsewhere.invalid")
    finally:
        ci.close()
    assert names_asked[0] == "rebound.invalid"
    assert ci.deliveries[0]["headers"]["Host"] == f"rebound.invalid:{port}"


@override_settings(OUTBOUND_ALLOWED_HOSTS=["127.0.0.1"], OUTBOUND_ALLOW_PRIVATE_NETWORKS=True)
def test_calls_to_the_same_ci_go_over_one_kept_connection():
    ci = Receiver(keep_alive=True)
    try:
        for _ in range(3):
            status, answer = post(f"{ci.url}/hook", b"{}", {}, timeout=5)
            assert (status, answer) == (202, b"{}")
    finally:
        ci.close()
    assert len(ci.deliveries) == 3
    assert len({delivery["client"] for delivery in ci.deliveries}) == 1


@override_settings(OUTBOUND_ALLOWED_HOSTS=["127.0.0.1"], OUTBOUND_ALLOW_PRIVATE_NETWORKS=True)
def test_a_call_after_the_ci_closed_the_idle_connection_still_arrives():
    ci = Receiver(keep_alive=True, idle_close_after=0.1)
    try:
        first, _ = post(f"{ci.url}/hook", b"{}", {}, timeout=5)
        assert ci.connection_ended.wait(5)
        second, _ = post(f"{ci.url}/hook", b"{}", {}, timeout=5)
    finally:
        ci.close()
    assert (first, second) == (202, 202)
    assert len(ci.deliveries) == 2
    assert len({delivery["client"] for delivery in ci.deliveries}) == 2


@override_settings(OUTBOUND_ALLOWED_HOSTS=["127.0.0.1"], OUTBOUND_ALLOW_PRIVATE_NETWORKS=True)
def test_a_kept_connection_closed_as_the_call_leaves_is_sent_again_on_a_new_one():
    ci = Receiver(keep_alive=True, unanswered=(2,))
    try:
        first, _ = post(f"{ci.url}/hook", b'{"n": 1}', {}, timeout=5)
        second, _ = post(f"{ci.url}/hook", b'{"n": 2}', {}, timeout=5)
    finally:
        ci.close()
    assert (first, second) == (202, 202)
    assert [delivery["body"] for delivery in ci.deliveries] == [{"n": 1}, {"n": 2}, {"n": 2}]
    first_connection, dropped, again = (delivery["client"] for delivery in ci.deliveries)
    assert dropped == first_connection and again != first_connection


@override_settings(OUTBOUND_ALLOWED_HOSTS=["127.0.0.1"], OUTBOUND_ALLOW_PRIVATE_NETWORKS=True)
def test_a_new_connection_closed_without_an_answer_is_not_sent_again():
    ci = Receiver(keep_alive=True, unanswered=(1,))
    try:
        with pytest.raises(ConnectionResetError):
            post(f"{ci.url}/hook", b"{}", {}, timeout=5)
    finally:
        ci.close()
    assert len(ci.deliveries) == 1


@override_settings(OUTBOUND_ALLOWED_HOSTS=["127.0.0.1"], OUTBOUND_ALLOW_PRIVATE_NETWORKS=True)
def test_calls_say_who_is_calling_unless_the_caller_does():
    ci = Receiver()
    try:
        post(f"{ci.url}/hook", b"{}", {"Content-Type": "application/json"}, timeout=5)
        post(f"{ci.url}/hook", b"{}", {"User-Agent": "triage-export"}, timeout=5)
    finally:
        ci.close()
    assert [delivery["headers"]["User-Agent"] for delivery in ci.deliveries] == [
        "triage",
        "triage-export",
    ]


@override_settings(OUTBOUND_ALLOWED_HOSTS=["127.0.0.1"], OUTBOUND_ALLOW_PRIVATE_NETWORKS=True)
def test_a_ci_that_says_it_keeps_connections_a_second_at_most_gets_a_new_one_per_call():
    ci = Receiver(keep_alive=True, keep_alive_says="timeout=1, max=100")
    try:
        for _ in range(2):
            post(f"{ci.url}/hook", b"{}", {}, timeout=5)
    finally:
        ci.close()
    assert len({delivery["client"] for delivery in ci.deliveries}) == 2


@override_settings(OUTBOUND_ALLOWED_HOSTS=["127.0.0.1"], OUTBOUND_ALLOW_PRIVATE_NETWORKS=True)
def test_a_refusal_still_reads_as_one_and_its_connection_is_not_kept():
    ci = Receiver(statuses=(422, 202), keep_alive=True)
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(f"{ci.url}/hook", b"{}", {}, timeout=5)
        status, _ = post(f"{ci.url}/hook", b"{}", {}, timeout=5)
    finally:
        ci.close()
    assert refused.value.code == 422
    assert json.loads(refused.value.read()) == {"message": "refused with 422"}
    assert status == 202
    assert len({delivery["client"] for delivery in ci.deliveries}) == 2


def _first_call_pinned_to_loopback(ci: Receiver) -> tuple[str, int]:
    """A call to rebound.invalid at the stand-in's port, pinned to its loopback address: the
    connection it made is kept. Returns the URL and the answer's status."""
    port = ci.server.server_port
    url = f"http://rebound.invalid:{port}/hook"
    status, _ = pinned_post(Pin("rebound.invalid", port, ("127.0.0.1",)), url, b"{}", {},
                            timeout=5)  # fmt: skip
    return url, status


@override_settings(OUTBOUND_ALLOWED_HOSTS=["rebound.invalid"], OUTBOUND_ALLOW_PRIVATE_NETWORKS=True)
def test_a_call_over_a_kept_connection_does_not_look_the_name_up_again():
    ci = Receiver(keep_alive=True)
    try:
        url, first = _first_call_pinned_to_loopback(ci)
        # A .invalid name never resolves: looked up again, this call would be refused.
        second, _ = post(url, b"{}", {}, timeout=5)
        with override_settings(OUTBOUND_ALLOWED_HOSTS=[]), pytest.raises(OutboundRefused):
            post(url, b"{}", {}, timeout=5)
    finally:
        ci.close()
    assert (first, second) == (202, 202)
    assert len({delivery["client"] for delivery in ci.deliveries}) == 1


@override_settings(OUTBOUND_ALLOWED_HOSTS=["rebound.invalid"])
def test_a_kept_connection_serves_only_a_call_whose_check_approved_its_address():
    ci = Receiver(keep_alive=True)
    try:
        url, status = _first_call_pinned_to_loopback(ci)
        # The name now resolves elsewhere: the call connects there (nothing listens on
        # 127.0.0.2 here), not over the connection to the address checked before.
        with pytest.raises(ConnectionRefusedError):
            pinned_post(Pin("rebound.invalid", ci.server.server_port, ("127.0.0.2",)), url,
                        b"{}", {}, timeout=5)  # fmt: skip
    finally:
        ci.close()
    assert status == 202
    assert len(ci.deliveries) == 1


@override_settings(OUTBOUND_ALLOWED_HOSTS=["127.0.0.1"], OUTBOUND_ALLOW_PRIVATE_NETWORKS=True)
def test_a_kept_connection_to_a_private_address_is_not_used_once_those_are_refused():
    ci = Receiver(keep_alive=True)
    try:
        status, _ = post(f"{ci.url}/hook", b"{}", {}, timeout=5)
        refused = pytest.raises(OutboundRefused, match="non-public address")
        with override_settings(OUTBOUND_ALLOW_PRIVATE_NETWORKS=False), refused:
            post(f"{ci.url}/hook", b"{}", {}, timeout=5)
    finally:
        ci.close()
    assert status == 202
    assert len(ci.deliveries) == 1


@override_settings(OUTBOUND_ALLOWED_HOSTS=["rebound.invalid"], OUTBOUND_ALLOW_PRIVATE_NETWORKS=True)
def test_https_calls_share_a_kept_connection_and_resend_when_it_closes_unanswered(
    tmp_path, monkeypatch
):
    from operations.outbound import _tls_context

    cert, key = _self_signed(tmp_path, "rebound.invalid")
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    ci = Receiver(keep_alive=True, unanswered=(3,))
    ci.server.socket = server_side.wrap_socket(ci.server.socket, server_side=True)
    port = ci.server.server_port
    url = f"https://rebound.invalid:{port}/hook"
    # The operator's trust store, as OpenSSL reads it, holds the stand-in's certificate.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    _tls_context.cache_clear()
    try:
        pin = Pin("rebound.invalid", port, ("127.0.0.1",))
        statuses = [pinned_post(pin, url, b"{}", {}, timeout=5)[0] for _ in range(3)]
    finally:
        ci.close()
        _tls_context.cache_clear()
    assert statuses == [202, 202, 202]
    first, second, dropped, again = (delivery["client"] for delivery in ci.deliveries)
    assert first == second == dropped and again != first
