"""Every log line the test suite's processes wrote, and a finder of credentials in them.

`scripts/test.sh` sets LOG_FILE: the test process, the gunicorn servers and Celery workers it
starts all append their lines to that one file (gunicorn's access log too, through
GUNICORN_CMD_ARGS); output a test reads from a process's stdout is appended by `keep`."""

import os
import re
from pathlib import Path

# What a credential looks like where it could leak: a CI token (always `trg_`), a rerun token
# in its callback path or a query string, a bearer header, a webhook signature.
LEAKS = {
    "CI token": re.compile(r"trg_[A-Za-z0-9_-]{16,}"),
    "rerun token in a path": re.compile(r"/api/v1/reruns/(?!\[redacted\])[A-Za-z0-9_-]{8,}"),
    "token in a query": re.compile(
        r"[?&](?:rerunToken|token|signature|secret)=(?!\[redacted\])[^&\s\"']{4,}", re.I
    ),
    "bearer credential": re.compile(r"Bearer\s+(?!\[redacted\])[A-Za-z0-9_.~+/=-]{8,}"),
    "webhook signature": re.compile(r"sha256=[0-9a-f]{32,}"),
}


def log_file() -> Path | None:
    path = os.environ.get("LOG_FILE")
    return Path(path) if path else None


def keep(output: str) -> None:
    """Add what a process printed (read by a test from its stdout) to the suite's log."""
    path = log_file()
    if path and output:
        with path.open("a", encoding="utf-8") as file:
            file.write(output if output.endswith("\n") else output + "\n")


def leaks(lines: list[str]) -> list[tuple[str, str]]:
    """(kind, line) for every line that holds something that looks like a credential."""
    found = []
    for line in lines:
        for kind, pattern in LEAKS.items():
            if pattern.search(line):
                found.append((kind, line[:300]))
    return found
