"""Connections to the hosts Triage calls, kept open between calls: the next rerun sent to the
same CI pays no TCP connect and no TLS handshake (tens of milliseconds to a distant API).

Each process keeps its own. A connection goes to an address a destination check approved
when it was made; a caller may ask for one to the addresses its own check approved. One the
other side has closed or written to while it sat idle is never handed out again, and only a
connection whose answer was read to its end comes back."""

import http.client
import os
import re
import select
import threading
import time
from dataclasses import dataclass

# Well under the idle timeout of common load balancers and API front ends (60 s or more):
# a connection older than this is closed here before the other side would. A server that
# says it waits less (`Keep-Alive: timeout=5`) is believed, a second early.
IDLE_SECONDS = 30.0
MARGIN_SECONDS = 1.0
PER_DESTINATION = 4
# Each kept connection holds a file descriptor, also once the other side has closed it.
IN_ALL = 32
_KEEP_ALIVE_TIMEOUT = re.compile(r"(?:^|[,;\s])timeout\s*=\s*(\d+)", re.IGNORECASE)

Destination = tuple[str, str, int]  # scheme, host, port


@dataclass
class _Idle:
    connection: http.client.HTTPConnection
    until: float


_lock = threading.Lock()
_idle: dict[Destination, list[_Idle]] = {}


def _forget_after_fork() -> None:
    # A child must not write on its parent's sockets; dropping them closes nothing the parent
    # still uses.
    global _lock
    _lock = threading.Lock()
    _idle.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def _closed_by_peer(connection: http.client.HTTPConnection) -> bool:
    sock = connection.sock
    if sock is None:
        return True
    try:
        # Readable while idle means the other side closed it (or says something unasked):
        # either way a request written now could be lost. poll, not select: a busy process's
        # descriptors may be numbered past select's limit.
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def connection_peer(connection: http.client.HTTPConnection) -> str | None:
    """The address the connection goes to, as the resolver writes it."""
    try:
        return str(connection.sock.getpeername()[0])
    except (AttributeError, OSError):
        return None


def connection_take(
    destination: Destination, addresses: tuple[str, ...] | None = None
) -> http.client.HTTPConnection | None:
    """An idle connection to the destination, or None; with `addresses` (as a destination
    check just approved them), only one to one of those. One to another address stays kept:
    a name served from several addresses resolves to each in turn."""
    now = time.monotonic()
    found = None
    with _lock:
        closing = _expired_removed(now)
        idle = _idle.get(destination, [])
        for entry in reversed(list(idle)):
            if _closed_by_peer(entry.connection):
                closing.append(entry.connection)
                idle.remove(entry)
            elif addresses is None or connection_peer(entry.connection) in addresses:
                found = entry.connection
                idle.remove(entry)
                break
    for connection in closing:
        connection.close()
    return found


def _kept_for(response: http.client.HTTPResponse) -> float:
    seconds = IDLE_SECONDS
    said = _KEEP_ALIVE_TIMEOUT.search(response.getheader("Keep-Alive") or "")
    if said:
        seconds = min(seconds, int(said.group(1)) - MARGIN_SECONDS)
    return seconds


def connection_give_back(
    destination: Destination,
    connection: http.client.HTTPConnection,
    response: http.client.HTTPResponse,
) -> None:
    """Keep a connection whose last answer (`response`) was read whole, unless the other side
    said it closes it or will soon, or enough are kept already."""
    seconds = _kept_for(response)
    if connection.sock is None or seconds <= 0:
        connection.close()
        return
    now = time.monotonic()
    with _lock:
        closing = _expired_removed(now)
        idle = _idle.setdefault(destination, [])
        kept = sum(len(each) for each in _idle.values())
        if len(idle) < PER_DESTINATION and kept < IN_ALL:
            idle.append(_Idle(connection, now + seconds))
        else:
            closing.append(connection)
    for each in closing:
        each.close()


def _expired_removed(now: float) -> list[http.client.HTTPConnection]:
    """Take out the connections idle too long, of every destination (a webhook called once
    is not called again to clear its own)."""
    expired = []
    for destination, idle in list(_idle.items()):
        expired.extend(entry.connection for entry in idle if entry.until <= now)
        fresh = [entry for entry in idle if entry.until > now]
        if fresh:
            _idle[destination] = fresh
        else:
            del _idle[destination]
    return expired


def connections_close() -> None:
    """Close every kept connection (tests, and a process that is about to stop)."""
    with _lock:
        kept = [entry.connection for idle in _idle.values() for entry in idle]
        _idle.clear()
    for connection in kept:
        connection.close()
