"""Local HTTP servers standing in for CI providers: they record what they receive."""

import contextlib
import gzip
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Answers each POST with the next status of `statuses` (the last one repeats), with
    `retry_after` as the Retry-After header of its 5xx answers when given.

    `hold_first` seconds delay the first answer, long enough to kill a worker mid-request.
    Deliveries are recorded with their arrival time; `distinct_keys` counts dispatches the
    way a receiver that honours Idempotency-Key would, and with the client's address and port,
    which tell its connections apart.

    With `keep_alive` it speaks HTTP/1.1 and keeps connections open as a CI's API does,
    closing one that stays idle `idle_close_after` seconds when given (`connection_ended` is
    set once it has), and closing without an answer the connection the deliveries numbered in
    `unanswered` (1 for the first) arrive on; `keep_alive_says` is sent as its answers'
    Keep-Alive header."""

    def __init__(self, statuses: tuple[int, ...] = (202,), hold_first: float = 0.0,
                 answer: dict | None = None, retry_after: str = "", keep_alive: bool = False,
                 idle_close_after: float | None = None,
                 unanswered: tuple[int, ...] = (), keep_alive_says: str = "") -> None:  # fmt: skip
        self.statuses = list(statuses)
        self.retry_after = retry_after  # sent with every 5xx answer when set
        self.hold_first = hold_first
        self.answer = answer or {}
        self.deliveries: list[dict] = []
        self.first_arrived = threading.Event()
        self.open_connections: list[socket.socket] = []
        self.connection_ended = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            if keep_alive:
                protocol_version = "HTTP/1.1"
                # As servers of persistent connections do: an answer's header and body leave
                # at once, not 40 ms apart behind the client's delayed acknowledgement.
                disable_nagle_algorithm = True
                timeout = idle_close_after

            def setup(self):
                super().setup()
                receiver.open_connections.append(self.connection)

            def finish(self):
                super().finish()
                receiver.connection_ended.set()

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                receiver.deliveries.append(
                    {"path": self.path, "headers": dict(self.headers), "raw": raw,
                     "body": json.loads(raw or b"null"), "at": time.perf_counter(),
                     "client": self.client_address}
                )  # fmt: skip
                if len(receiver.deliveries) in unanswered:
                    self.close_connection = True
                    return
                first = len(receiver.deliveries) == 1
                receiver.first_arrived.set()
                if first and receiver.hold_first:
                    time.sleep(receiver.hold_first)
                index = min(len(receiver.deliveries), len(receiver.statuses)) - 1
                status = receiver.statuses[index]
                payload = json.dumps(receiver.answer if status < 400 else
                                     {"message": f"refused with {status}"}).encode()  # fmt: skip
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    if keep_alive_says:
                        self.send_header("Keep-Alive", keep_alive_says)
                    if status >= 500 and receiver.retry_after:
                        self.send_header("Retry-After", receiver.retry_after)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client died while we held the answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def distinct_keys(self) -> set[str]:
        return {d["headers"].get("Idempotency-Key", "") for d in self.deliveries}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        # A kept connection outlives the server's loop: ended here, so that nothing sent later
        # to a new server on the same port reaches this one.
        for connection in self.open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
