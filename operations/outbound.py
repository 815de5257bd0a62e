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
        if not is_public(ip):
            raise OutboundRefused(f"{parts.hostname} resolves to a non-public address ({ip})")


# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, local-use NAT64).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for: mapped, compatible, 6to4, Teredo, NAT64."""
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    last32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _IPV4_COMPATIBLE or any(ip in net for net in _NAT64):
        found.append(last32)
    return [each for each in found if each is not None]


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global, and so is every IPv4 address it carries (::ffff:127.0.0.1, 64:ff9b::a9fe:a9fe,
    2002:7f00:1::, Teredo ... reach the address inside, whatever the IPv6 one says)."""
    if not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        return all(inner.is_global for inner in embedded_ipv4(ip))
    return True


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
