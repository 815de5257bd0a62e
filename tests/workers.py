"""Real Celery worker processes for tests, on the test database and the tests' own queue."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from tests.log_audit import keep

ROOT = Path(__file__).resolve().parent.parent


def wait_for(condition: Callable[[], bool], seconds: float = 40) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def worker_database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Worker:
    """`celery worker` in its own process group; `kill()` is a SIGKILL by PID. One process
    (`--pool=solo`) unless `processes` asks for a prefork pool of that many."""

    def __init__(
        self, *, beat_schedule: Path | None = None, processes: int = 0, **env: str
    ) -> None:
        self.env = {**os.environ, "DATABASE_URL": worker_database_url(), **env}
        self.celery = str(Path(sys.executable).parent / "celery")
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        pool = ["--pool=prefork", f"--concurrency={processes}"] if processes else ["--pool=solo"]
        command = [self.celery, "-A", "triage", "worker", "-Q", queue, *pool,
                   "--without-gossip", "--without-mingle", "--loglevel=INFO"]  # fmt: skip
        if beat_schedule is not None:
            command += ["--beat", "--schedule", str(beat_schedule)]
        self.output: list[str] = []
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        threading.Thread(
            target=lambda: self.output.extend(self.process.stdout), daemon=True
        ).start()
        if not wait_for(lambda: any("ready." in line for line in self.output), 60):
            self.stop()
            raise AssertionError("the worker did not start:\n" + "".join(self.output))

    def log(self) -> str:
        return "".join(self.output)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        keep(self.log())


def purge_queue(**env: str) -> None:
    celery = str(Path(sys.executable).parent / "celery")
    subprocess.run(
        [celery, "-A", "triage", "purge", "-f", "-Q", settings.CELERY_TASK_DEFAULT_QUEUE],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, check=False, timeout=60,
    )  # fmt: skip
