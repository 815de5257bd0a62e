"""gunicorn serving Triage as production does (its shared settings), on the test database, in
a process group of its own: for tests of what only the real server shows."""

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tests.http import free_port
from tests.log_audit import keep
from tests.workers import ROOT, wait_for, worker_database_url


class Gunicorn:
    def __init__(self, *, workers: int = 1, args: tuple[str, ...] = (), without=(), **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = {**os.environ, "DATABASE_URL": worker_database_url(),
                   "ALLOWED_HOSTS": "127.0.0.1", **env}  # fmt: skip
        for name in without:
            environ.pop(name, None)
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "triage.wsgi", "-c",
             "python:triage.gunicorn_conf", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers), *args],
            cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        if not wait_for(self._answers, 60):
            raise AssertionError("gunicorn never answered:\n" + self.stop())

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(f"{self.url}/healthz", timeout=5)
        except urllib.error.HTTPError:
            return True  # answering, if not healthy: that is for the test to judge
        except OSError:
            return False
        return True

    def stop(self) -> str:
        """Stop the server; what it printed."""
        os.killpg(self.process.pid, 15)
        output, _ = self.process.communicate(timeout=30)
        keep(output or "")
        return output or ""
