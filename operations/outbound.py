"""HTTP requests Triage makes to addresses a project admin typed in (webhooks, CI, GitHub).

They never follow redirects, and unless the operator allows it they never reach loopback,
private or link-local addresses: an admin field must not become a way into the server's
own network (SSRF)."""

import ipaddress
import socket
import urllib.error
import urllib.parse
import urllib.request

from django import forms
from django.conf import settings


class OutboundRefused(Exception):
    pass


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def host_allowed(host: str) -> bool:
    host = host.lower().rstrip(".")
    for allowed in settings.OUTBOUND_ALLOWED_HOSTS:
        allowed = allowed.lower()
        if allowed == "*" or host == allowed:
            return True
        if allowed.startswith("*.") and host.endswith(allowed[1:]):
            return True
    return False


def check_destination(url: str) -> None:
    """Raise OutboundRefused unless `url` is http(s) to an allowed, (by default) public host."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise OutboundRefused(f"not a valid port in {url[:100]}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"not an http(s) URL: {url[:100]}")
    if not host_allowed(parts.hostname):
        raise OutboundRefused(
            f"{parts.hostname} is not in the server's allowed outbound hosts "
            "(OUTBOUND_ALLOWED_HOSTS)"
        )
    if settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port or 443)}
    except OSError as exc:
        raise OutboundRefused(f"cannot resolve {parts.hostname}: {exc}") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            raise OutboundRefused(f"{parts.hostname} resolves to a non-public address ({ip})")


def typed_destination(url: str) -> str:
    """A form field's check: refuse, when it is typed in, a URL the server would refuse to
    call later."""
    if url:
        try:
            check_destination(url)
        except OutboundRefused as exc:
            raise forms.ValidationError(str(exc)) from None
    return url


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> tuple[int, bytes]:
    """POST and return (status, body); raises urllib's HTTPError for 4xx/5xx, OSError else."""
    check_destination(url)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with _opener.open(request, timeout=timeout) as response:
        return response.status, response.read()
