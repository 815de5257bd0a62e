"""Triage against its nearest peer on one JUnit file: Allure Report 3.

Generates a 10,000-test JUnit XML file (5% failing, 2% skipped, some printed output), then,
round by round in alternating order, times
- Allure: `allure generate` on a results folder holding the file, the whole command, until
  its static report folder is written;
- Triage: a production-configured gunicorn (DEBUG off, `-c python:triage.gunicorn_conf`, its
  own database) on 127.0.0.1, from the start of the POST of the file to the webhook until the
  run page the answer links to has been received whole by a signed-in member.
Each side gets one warm-up first (a server that is up, a CLI that has been read from disk
once). Allure is installed from the npm registry into a scratch folder (PEERS_DIR, default a
folder in the system's temporary directory) when missing. Prints a row per round, the
medians and, last, `ratio <Allure / Triage>`.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_bench_peers python bench/peers.py
"""

import argparse
import contextlib
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from benchenv import ROOT, configure, junit_report, open_bench_database

configure("triage_bench_peers")

TESTS = 10_000
ROUNDS = 5
ALLURE_PACKAGE = "allure@3"
SLUG = "peers"
USERNAME, PASSWORD = "peers", "bench-password-1"
# Production settings, but plain HTTP on loopback; no Redis, so the report's follow-up work
# (grouping into defects) runs in the web process after the answer, as in the embedded mode.
SERVER_ENV = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_COOKIES": "false",
    "STATIC_FROM_SOURCE": "true",
    "LOG_LEVEL": "WARNING",
}
WORKERS = 2  # the Procfile's default


def scratch_dir() -> Path:
    folder = Path(os.environ.get("PEERS_DIR") or Path(tempfile.gettempdir()) / "triage-peers")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def allure_install(scratch: Path) -> tuple[Path, str]:
    """The Allure 3 command in `scratch`, installed there first when missing; and its version."""
    command = scratch / "node_modules" / ".bin" / "allure"
    if not command.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is needed to install Allure 3 (Debian's package: npm)")
        print(f"installing {ALLURE_PACKAGE} with npm (once)...", flush=True)
        subprocess.run(
            [npm, "install", "--prefix", str(scratch), "--no-audit", "--no-fund",
             "--loglevel=error", ALLURE_PACKAGE],
            check=True, timeout=900,
        )  # fmt: skip
    package = json.loads((scratch / "node_modules" / "allure" / "package.json").read_text())
    return command, package["version"]


def time_allure(command: Path, results: Path, output: Path) -> float:
    """`allure generate` from start to exit: it reads every *.xml in the folder as JUnit."""
    shutil.rmtree(output, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(
        [str(command), "generate", str(results), "--output", str(output)],
        cwd=results.parent, check=True, stdout=subprocess.DEVNULL, timeout=600,
    )  # fmt: skip
    return time.perf_counter() - started


def allure_counts(output: Path) -> dict[str, int]:
    return json.loads((output / "summary.json").read_text())["stats"]


def triage_prepare() -> str:
    """An empty bench database holding one project and a member; the project's CI token."""
    open_bench_database(empty=True)
    from django.contrib.auth.models import User
    from django.db import connection

    from runs.projects import membership_grant, project_create

    project, token = project_create(slug=SLUG, name="Peers")
    membership_grant(project=project, user=User.objects.create_user(USERNAME, password=PASSWORD))
    connection.close()
    return token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(log: Path) -> Iterator[tuple[str, int]]:
    """Triage served as in production on a free port: (base URL, gunicorn's pid)."""
    port = free_port()
    env = {**os.environ, **SERVER_ENV}
    for name in ("REDIS_URL", "CACHE_URL"):
        env.pop(name, None)
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "triage.wsgi", "-c",
             "python:triage.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
             "--workers", str(WORKERS)],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(base, server)
        yield base, server.pid
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _wait_until_answering(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            urllib.request.urlopen(f"{base}/accounts/login/", timeout=5).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn never answered; see its log in the scratch folder")


def signed_in(base: str) -> urllib.request.OpenerDirector:
    """A browser's session: the login form's CSRF token, then its POST."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    form = opener.open(f"{base}/accounts/login/", timeout=30).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert csrf, "no CSRF token in the login form"
    fields = {"csrfmiddlewaretoken": csrf.group(1), "username": USERNAME, "password": PASSWORD}
    page = opener.open(
        f"{base}/accounts/login/", urllib.parse.urlencode(fields).encode(), timeout=30
    )
    page.read()
    assert "/accounts/login/" not in page.geturl(), "the bench user could not sign in"
    return opener


def time_triage(
    base: str, token: str, browser: urllib.request.OpenerDirector, body: bytes, run_id: str
) -> tuple[float, float, dict[str, int]]:
    """(seconds to the webhook's answer, seconds to the run page received whole, counts)."""
    query = urllib.parse.urlencode({"runId": run_id, "suite": "integration", "branch": "main"})
    request = urllib.request.Request(
        f"{base}/api/v1/projects/{SLUG}/runs?{query}",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as response:
        answer = json.loads(response.read())
    answered = time.perf_counter()
    with browser.open(answer["url"], timeout=300) as page:
        html = page.read()
    finished = time.perf_counter()
    assert b"</html>" in html, "the run page did not arrive whole"
    return answered - started, finished - started, answer["counts"]


def cpu_ticks(pid: int) -> int:
    """CPU time used so far by a process and its children (Linux' /proc)."""
    pids = [pid, *map(int, _read(f"/proc/{pid}/task/{pid}/children").split())]
    total = 0
    for each in pids:
        fields = _read(f"/proc/{each}/stat").rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def settle(pid: int) -> None:
    """Wait for the server's work after the answer (grouping the run's failures) to end, so
    that it does not slow the next measurement of either side."""
    deadline = time.monotonic() + 120
    before = cpu_ticks(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_ticks(pid)
        if now - before <= 2:
            return
        before = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()

    scratch = scratch_dir()
    allure, version = allure_install(scratch)
    results, report_dir = scratch / "allure-results", scratch / "allure-report"
    results.mkdir(exist_ok=True)
    body = junit_report(TESTS)
    (results / "junit.xml").write_bytes(body)
    token = triage_prepare()
    print(f"JUnit file: {TESTS} tests, {len(body) / 1e6:.1f} MB; Allure {version}; "
          f"Triage on gunicorn, {WORKERS} workers, PostgreSQL")  # fmt: skip

    with gunicorn(scratch / "gunicorn.log") as (base, pid):
        browser = signed_in(base)
        time_allure(allure, results, report_dir)
        _, _, counts = time_triage(base, token, browser, body, "warm-up")
        settle(pid)
        print(f"Allure read {allure_counts(report_dir)}; Triage stored {counts}")
        rows = []
        for number in range(args.rounds):
            # Alternate the order so that neither side always runs on a warmer cache.
            sides = ("allure", "triage") if number % 2 == 0 else ("triage", "allure")
            row = {"order": " then ".join(sides)}
            for side in sides:
                if side == "allure":
                    row["allure"] = time_allure(allure, results, report_dir)
                else:
                    row["post"], row["triage"], _ = time_triage(
                        base, token, browser, body, f"round-{number + 1}"
                    )
                    settle(pid)
            rows.append(row)
    print_table(rows)


def print_table(rows: list[dict]) -> None:
    print(f"{'round':>5}  {'order':<18}{'Allure generate':>16}{'Triage POST':>13}"
          f"{'POST + page':>13}")  # fmt: skip
    for number, row in enumerate(rows, 1):
        print(f"{number:>5}  {row['order']:<18}{row['allure'] * 1000:>13.0f} ms"
              f"{row['post'] * 1000:>10.0f} ms{row['triage'] * 1000:>10.0f} ms")  # fmt: skip
    allure = statistics.median(row["allure"] for row in rows)
    post = statistics.median(row["post"] for row in rows)
    triage = statistics.median(row["triage"] for row in rows)
    print(f"{'median':>5}  {'':<18}{allure * 1000:>13.0f} ms{post * 1000:>10.0f} ms"
          f"{triage * 1000:>10.0f} ms")  # fmt: skip
    print(f"ratio {allure / triage:.2f}")


if __name__ == "__main__":
    main()
