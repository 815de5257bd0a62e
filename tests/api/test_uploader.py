"""The uploader CI runs (triage_upload.py): JSON or a folder of JUnit files, retries, signing."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runs.models import Run
from tests.builders import a_project, a_report, report_bytes
from tests.ci_standins import Receiver

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent.parent / "fixtures" / "junit"


@pytest.fixture
def upload(live_server, tmp_path):
    def run(*args: str, token: str | None = None, url: str | None = None):
        env = {"PATH": "/usr/bin:/bin", "TRIAGE_TOKEN": token or ""}
        return subprocess.run(
            [sys.executable, str(ROOT / "triage_upload.py"), "--url", url or live_server.url,
             "--project", "dispatch", "--retry-pause", "0.05", *args],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip

    return run


@pytest.mark.django_db(transaction=True)
def test_the_uploader_posts_json_and_a_folder_of_junit_files(upload, tmp_path):
    _, token = a_project("dispatch", "Dispatch")
    report = tmp_path / "report.json"
    report.write_bytes(report_bytes(a_report("up-1")))
    folder = tmp_path / "junit"
    folder.mkdir()
    for runner in ("pytest", "vitest"):
        (folder / f"{runner}.xml").write_bytes((FIXTURES / f"{runner}.xml").read_bytes())

    single = upload(str(report), token=token)
    many = upload(str(folder), "--run-id", "gh-9-1", "--suite", "smoke", token=token)

    assert single.returncode == 0, single.stderr
    assert single.stdout.strip().endswith(
        f"/p/dispatch/runs/{Run.objects.get(external_id='up-1').pk}/"
    )
    assert many.returncode == 0, many.stderr
    assert len(many.stdout.split()) == 2
    assert set(Run.objects.values_list("external_id", flat=True)) == {
        "up-1", "gh-9-1-1-pytest", "gh-9-1-2-vitest",
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_the_uploader_exits_non_zero_with_the_servers_error(upload, tmp_path):
    a_project("dispatch", "Dispatch")
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"run": {"id": "x"}}))
    result = upload(str(report), token="trg_wrong")
    assert result.returncode == 1
    assert "401" in result.stderr and "token" in result.stderr


def test_the_uploader_retries_server_errors_then_succeeds(upload, tmp_path):
    stand_in = Receiver(statuses=(503, 502, 201), answer={"url": "https://triage.test/p/x/runs/1/"})
    report = tmp_path / "report.json"
    report.write_bytes(report_bytes(a_report()))
    try:
        result = upload(str(report), token="t", url=stand_in.url)
    finally:
        stand_in.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://triage.test/p/x/runs/1/"
    assert len(stand_in.deliveries) == 3
    assert stand_in.deliveries[0]["headers"]["Content-Encoding"] == "gzip"


def test_the_uploader_gives_up_on_an_unreachable_server(upload, tmp_path):
    report = tmp_path / "report.json"
    report.write_bytes(report_bytes(a_report()))
    result = upload(str(report), token="t", url="http://127.0.0.1:9")
    assert result.returncode == 3
    assert "gave up after 5 tries" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_the_uploader_signs_reports_when_given_the_secret(live_server, tmp_path):
    from runs.tokens import signing_secret_set

    project, token = a_project("dispatch", "Dispatch")
    secret = signing_secret_set(project=project)
    report = tmp_path / "report.json"
    report.write_bytes(report_bytes(a_report("signed-up")))
    result = subprocess.run(
        [sys.executable, str(ROOT / "triage_upload.py"), "--url", live_server.url,
         "--project", "dispatch", str(report)],
        capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "TRIAGE_TOKEN": token, "TRIAGE_SIGNING_SECRET": secret},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert Run.objects.filter(external_id="signed-up").exists()


@pytest.mark.django_db(transaction=True)
def test_a_folder_skips_what_is_not_a_report_and_sends_the_rest_past_a_refused_file(
    upload, tmp_path
):
    _, token = a_project("dispatch", "Dispatch")
    folder = tmp_path / "failsafe-reports"
    folder.mkdir()
    # As Failsafe leaves it: reports beside failsafe-summary.xml, which is not a report.
    (folder / "failsafe-summary.xml").write_bytes(
        (FIXTURES / "failsafe" / "failsafe-summary.xml").read_bytes()
    )
    (folder / "a-pytest.xml").write_bytes((FIXTURES / "pytest.xml").read_bytes())
    (folder / "b-refused.json").write_text(json.dumps({"run": {"id": "x"}, "scenarios": []}))
    (folder / "c-vitest.xml").write_bytes((FIXTURES / "vitest.xml").read_bytes())
    (folder / "d-notes.json").write_text(json.dumps({"note": "not a report"}))
    # A runner that crashed before writing its file: not skipped, refused.
    (folder / "e-crashed.xml").write_bytes(b"")

    result = upload(str(folder), "--run-id", "gh-10-1", "--suite", "full", token=token)

    assert result.returncode == 1, result.stderr
    assert "skipped" in result.stderr and "failsafe-summary.xml" in result.stderr
    assert "<failsafe-summary> is not a test report" in result.stderr
    assert 'd-notes.json: a JSON file with neither "run" nor "scenarios"' in result.stderr
    assert "b-refused.json" in result.stderr and "400" in result.stderr
    assert "e-crashed.xml: not well-formed XML" in result.stderr
    assert "2 of 4 reports refused" in result.stderr
    assert len(result.stdout.split()) == 2
    assert Run.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_folder_of_trx_files_is_sent_and_a_wrong_token_stops_at_the_first_file(upload, tmp_path):
    _, token = a_project("dispatch", "Dispatch")
    folder = tmp_path / "TestResults"
    folder.mkdir()
    trx = (FIXTURES.parent / "dotnet" / "xunit-adapter.trx").read_bytes()
    (folder / "a.trx").write_bytes(trx)
    (folder / "b.trx").write_bytes(trx)

    wrong = upload(str(folder), "--run-id", "dotnet-1", "--suite", "full", token="trg_wrong")
    sent = upload(str(folder), "--run-id", "dotnet-1", "--suite", "full", token=token)

    assert wrong.returncode == 1
    assert wrong.stderr.count("401") == 1
    assert sent.returncode == 0, sent.stderr
    assert len(sent.stdout.split()) == 2
