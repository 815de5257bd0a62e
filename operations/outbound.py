"""HTTP requests Triage makes to addresses a project admin typed in (webhooks, CI, GitHub).

They never follow redirects, and unless the operator allows it they never reach loopback,
private or link-local addresses: an admin field must not become a way into the server's
own network (SSRF). A host is resolved once, to make a connection, which goes to an address
that was checked, so a name that resolves differently a moment later (DNS rebinding) changes
nothing. A connection kept from an earlier call (`operations.kept_connections`) is used
without resolving the name again: it goes where a check let it go. Calls go direct, never
through a proxy, which would resolve the name again itself, out of the check's reach."""

import contextlib
import functools
import http.client
import io
import ipaddress
import socket
import ssl
import time
import urllib.error
import urllib.parse
from dataclasses import dataclass

from django import forms
from django.conf import settings

from operations.kept_connections import (
    connection_give_back,
    connection_peer,
    connection_take,
)


class OutboundRefused(Exception):
    pass


@dataclass(frozen=True)
class Pin:
    """A destination as checked: the host the URL names, and the addresses it resolved to."""

    host: str
    port: int
    addresses: tuple[str, ...]


def host_allowed(host: str) -> bool:
    host = host.lower().rstrip(".")
    for allowed in settings.OUTBOUND_ALLOWED_HOSTS:
        allowed = allowed.lower()
        if allowed == "*" or host == allowed:
            return True
        if allowed.startswith("*.") and host.endswith(allowed[1:]):
            return True
    return False


def _allowed_parts(url: str) -> tuple[str, str, int]:
    """The URL's scheme, host and port, once all three are acceptable."""
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
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise OutboundRefused(f"cannot resolve {host}: {exc}") from None
    # In the resolver's order, each once: connecting tries them the way urllib would.
    return tuple(dict.fromkeys(str(info[4][0]) for info in found))


def _address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address as the resolver or a socket gives it, its IPv6 zone left out."""
    return ipaddress.ip_address(address.split("%")[0])


def _refuse_non_public(host: str, addresses: tuple[str, ...]) -> None:
    for address in addresses:
        ip = _address(address)
        if not is_public(ip):
            raise OutboundRefused(f"{host} resolves to a non-public address ({ip})")


def destination_pin(url: str) -> Pin:
    """Resolve the URL's host once and check every address it has; the request is then made
    to these addresses only. Raises OutboundRefused."""
    _, host, port = _allowed_parts(url)
    return _pin(host, port)


def _pin(host: str, port: int) -> Pin:
    addresses = _resolve(host, port)
    if not settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS:
        _refuse_non_public(host, addresses)
    return Pin(host=host, port=port, addresses=addresses)


def check_destination(url: str) -> None:
    """Raise OutboundRefused unless `url` is http(s) to an allowed, (by default) public host."""
    _, host, port = _allowed_parts(url)
    if not settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS:
        _refuse_non_public(host, _resolve(host, port))


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


def pinned_socket(pin: Pin, timeout: float | object) -> socket.socket:
    """A TCP connection to the first of the pin's addresses that answers; never a lookup."""
    error: OSError | None = None
    for address in pin.addresses:
        try:
            sock = socket.create_connection((address, pin.port), timeout)
        except OSError as exc:
            error = exc
            continue
        # As http.client's own connect does: a request's body is sent apart from its header,
        # and on a kept connection would otherwise wait for the header's acknowledgement,
        # which the other side delays by up to 40 ms.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise error or OSError(f"no address to connect to for {pin.host}")


class PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, *, pin: Pin, **kwargs: object) -> None:
        super().__init__(host, **kwargs)
        self.pin = pin

    def connect(self) -> None:
        self.sock = pinned_socket(self.pin, self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the pinned address, verified against the host name (which is also the SNI)."""

    def __init__(self, host: str, *, pin: Pin, context: ssl.SSLContext, **kwargs: object) -> None:
        super().__init__(host, context=context, **kwargs)
        self.pin = pin
        self.tls = context

    def connect(self) -> None:
        sock = pinned_socket(self.pin, self.timeout)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.pin.host)
        except BaseException:
            sock.close()
            raise


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Made once: loading the system's CA certificates takes tens of milliseconds, on every
    # dispatch and notification if made per request.
    return ssl.create_default_context()


# What a refusal's body is read up to: enough for any error message, not for a flood.
MAX_REFUSAL_READ = 64 * 1024


def _new_connection(scheme: str, pin: Pin, timeout: float) -> http.client.HTTPConnection:
    if scheme == "https":
        return PinnedHTTPSConnection(
            pin.host, port=pin.port, pin=pin, context=_tls_context(), timeout=timeout
        )
    return PinnedHTTPConnection(pin.host, port=pin.port, pin=pin, timeout=timeout)


def pinned_post(
    pin: Pin, url: str, body: bytes, headers: dict[str, str], *, timeout: float
) -> tuple[int, bytes]:
    """POST `url` over a connection to the pin's addresses (one kept from an earlier call when
    there is one); the URL's host goes in the Host header and, for https, is what the
    certificate must name. Redirects are not followed: any answer but 2xx raises urllib's
    HTTPError, which holds the start of the answer's body."""
    destination = _allowed_parts(url)
    if destination[1:] != (pin.host, pin.port):
        raise OutboundRefused(f"{url[:100]} is not a URL of {pin.host}:{pin.port}")
    kept = connection_take(destination, pin.addresses)
    return _post(url, body, headers, timeout, destination, kept=kept, pin=pin)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> tuple[int, bytes]:
    """POST and return (status, body), as `pinned_post` does. The host is looked up and
    checked only to make a new connection: one kept from an earlier call goes to an address
    that was checked when it was made."""
    destination = _allowed_parts(url)
    kept = connection_take(destination)
    if kept is not None and not _may_reach(connection_peer(kept)):
        # Kept from before private networks were refused (a setting changed in tests).
        kept.close()
        kept = None
    return _post(url, body, headers, timeout, destination, kept=kept, pin=None)


def _may_reach(address: str | None) -> bool:
    if address is None:
        return False
    return settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS or is_public(_address(address))


def _post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    destination: tuple[str, str, int],
    *,
    kept: http.client.HTTPConnection | None,
    pin: Pin | None,
) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not any(name.lower() == "user-agent" for name in headers):
        headers = {"User-Agent": "triage", **headers}
    if kept is not None:
        try:
            return _post_over(kept, destination, url, target, body, headers, timeout)
        except _ClosedBeforeAnswering:
            # The other side closed the kept connection as the request left (its idle
            # timeout), answering nothing at once: sent again once, on a connection of its
            # own. A close that comes later may follow work done, and is not retried here.
            pass
    # The URL was checked as `destination`: only its host is left to look up.
    scheme, host, port = destination
    connection = _new_connection(scheme, pin or _pin(host, port), timeout)
    return _post_over(connection, destination, url, target, body, headers, timeout)


class _ClosedBeforeAnswering(Exception):
    pass


# How a connection the other side closed fails a request written on it, over TCP and TLS.
_CLOSED = (
    ConnectionResetError,  # http.client's RemoteDisconnected too
    BrokenPipeError,
    ConnectionAbortedError,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)
# A kept connection closed by its idle timeout fails the request within a round trip.
RESEND_WITHIN_SECONDS = 1.0


def _post_over(
    connection: http.client.HTTPConnection,
    destination: tuple[str, str, int],
    url: str,
    target: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
) -> tuple[int, bytes]:
    reused = connection.sock is not None
    connection.timeout = timeout
    if reused:
        connection.sock.settimeout(timeout)
    response = None
    sent_at = time.monotonic()
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        accepted = 200 <= response.status < 300
        answer = response.read() if accepted else response.read(MAX_REFUSAL_READ)
    except BaseException as exc:
        if response is not None:
            response.close()
        connection.close()
        at_once = time.monotonic() - sent_at < RESEND_WITHIN_SECONDS
        if reused and response is None and at_once and isinstance(exc, _CLOSED):
            raise _ClosedBeforeAnswering from exc
        raise
    if not accepted:
        response.close()
        connection.close()
        raise urllib.error.HTTPError(
            url, response.status, response.reason, response.msg, io.BytesIO(answer)
        )
    connection_give_back(destination, connection, response)
    return response.status, answer
