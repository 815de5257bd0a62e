"""The uploader CI runs (triage_upload.py): files and folders, parts and variants, retries,
signing."""

import gzip
import json
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runs.models import Run, ScenarioResult
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


class Recorder:
    """A Triage stand-in that stores nothing: it records what the uploader sends (XML too,
    which tests.ci_standins.Receiver cannot read) and answers 201."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, list[str]], bytes]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                query = urllib.parse.urlsplit(self.path).query
                recorder.deliveries.append((urllib.parse.parse_qs(query), gzip.decompress(raw)))
                answer = b'{"url": "https://triage.test/p/dispatch/runs/1/"}'
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in():
    recorder = Recorder()
    yield recorder
    recorder.close()


def junit(*cases: tuple[str, str]) -> bytes:
    """A JUnit file of one suite; each case is (test name, passed | failed | skipped)."""
    outcome = {
        "passed": "",
        "failed": '<failure message="TENANT-004: a driver of org-b was notified"/>',
        "skipped": "<skipped/>",
    }
    tests = "".join(
        f'<testcase classname="e2e" name="{name}" time="0.2">{outcome[status]}</testcase>'
        for name, status in cases
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="e2e" '
        f'tests="{len(cases)}" timestamp="2026-11-20T02:00:00Z">{tests}</testsuite></testsuites>'
    ).encode()


def three_shards(folder: Path) -> Path:
    """A folder as three shards leave it, one of them in a subfolder: 3 passed, 1 failed,
    1 skipped in all."""
    (folder / "nested").mkdir(parents=True)
    (folder / "shard-1.xml").write_bytes(
        junit(("test_BID_001_resolve", "passed"), ("test_BID_002_fanout", "failed"))
    )
    (folder / "shard-2.xml").write_bytes(
        junit(("test_SCH_001_week", "passed"), ("test_SCH_002_dst", "skipped"))
    )
    (folder / "nested" / "shard-3.xml").write_bytes(junit(("test_NOS_001_cutoff", "passed")))
    return folder


def counts(run: Run) -> tuple[int, int, int]:
    return run.passed_count, run.failed_count, run.skipped_count


def parts_of(live_server, token: str, run_id: str) -> dict:
    """The run's parts as CI reads them back (GET /api/v1/projects/<slug>/runs/<runId>)."""
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/projects/dispatch/runs/{run_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["parts"]


@pytest.mark.django_db(transaction=True)
def test_the_uploader_posts_a_json_report_and_prints_the_runs_address(upload, tmp_path):
    _, token = a_project("dispatch", "Dispatch")
    report = tmp_path / "report.json"
    report.write_bytes(report_bytes(a_report("up-1")))

    result = upload(str(report), token=token)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(
        f"/p/dispatch/runs/{Run.objects.get(external_id='up-1').pk}/"
    )


@pytest.mark.django_db(transaction=True)
def test_a_folder_of_junit_files_is_one_run_with_a_part_per_file_and_the_counts_summed(
    upload, tmp_path, live_server
):
    _, token = a_project("dispatch", "Dispatch")
    folder = three_shards(tmp_path / "reports")

    result = upload(str(folder), "--run-id", "gh-9-1", "--suite", "full", token=token)

    assert result.returncode == 0, result.stderr
    run = Run.objects.get()
    assert run.external_id == "gh-9-1"
    assert result.stdout.split() == [result.stdout.strip()]
    assert result.stdout.strip().endswith(f"/p/dispatch/runs/{run.pk}/")
    assert counts(run) == (3, 1, 1)
    for name in ("shard-1.xml", "shard-2.xml", "nested/shard-3.xml"):
        assert f"stored as part {name!r}" in result.stderr
    parts = parts_of(live_server, token, "gh-9-1")
    assert (parts["received"], parts["expected"]) == (3, 3)


@pytest.mark.django_db(transaction=True)
def test_sending_the_same_folder_again_changes_nothing(upload, tmp_path, live_server):
    _, token = a_project("dispatch", "Dispatch")
    folder = three_shards(tmp_path / "reports")
    first = upload(str(folder), "--run-id", "gh-9-1", "--suite", "full", token=token)

    again = upload(str(folder), "--run-id", "gh-9-1", "--suite", "full", token=token)

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("already stored as part") == 3
    assert again.stdout == first.stdout
    assert counts(Run.objects.get()) == (3, 1, 1)
    parts = parts_of(live_server, token, "gh-9-1")
    assert (parts["received"], parts["expected"]) == (3, 3)


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
    (folder / "a-shard.xml").write_bytes(junit(("test_BID_001_resolve", "passed")))
    (folder / "b-refused.json").write_text(json.dumps({"run": {"id": "x"}, "scenarios": []}))
    (folder / "c-shard.xml").write_bytes(junit(("test_SCH_001_week", "failed")))
    (folder / "d-notes.json").write_text(json.dumps({"note": "not a report"}))
    # A runner that crashed before writing its file: not skipped, refused.
    (folder / "e-crashed.xml").write_bytes(b"")
    # One that names an encoding Python does not know: refused, not a crash of the uploader.
    (folder / "f-bogus.xml").write_bytes(b'<?xml version="1.0" encoding="bogus"?><testsuites/>')

    result = upload(str(folder), "--run-id", "gh-10-1", "--suite", "full", token=token)

    assert result.returncode == 1, result.stderr
    assert "skipped" in result.stderr and "failsafe-summary.xml" in result.stderr
    assert "<failsafe-summary> is not a test report" in result.stderr
    assert 'd-notes.json: a JSON file with neither "run" nor "scenarios"' in result.stderr
    assert "b-refused.json" in result.stderr and "with 400:" in result.stderr
    assert "e-crashed.xml: not well-formed XML" in result.stderr
    assert "f-bogus.xml: not well-formed XML" in result.stderr
    assert "3 of 5 reports refused" in result.stderr
    assert len(result.stdout.split()) == 1
    assert counts(Run.objects.get(external_id="gh-10-1")) == (1, 1, 0)


@pytest.mark.django_db(transaction=True)
def test_a_changed_file_sent_again_is_refused_and_the_others_still_go(upload, tmp_path):
    _, token = a_project("dispatch", "Dispatch")
    folder = three_shards(tmp_path / "reports")
    first = upload(str(folder), "--run-id", "gh-11-1", "--suite", "full", token=token)
    assert first.returncode == 0, first.stderr
    (folder / "shard-1.xml").write_bytes(junit(("test_BID_001_resolve", "failed")))

    again = upload(str(folder), "--run-id", "gh-11-1", "--suite", "full", token=token)

    assert again.returncode == 1
    assert "shard-1.xml" in again.stderr and "409" in again.stderr
    assert again.stderr.count("already stored as part") == 2
    assert "1 of 3 reports refused" in again.stderr
    assert counts(Run.objects.get()) == (3, 1, 1)


@pytest.mark.django_db(transaction=True)
def test_shard_jobs_with_a_part_each_post_their_folders_to_one_run(upload, tmp_path, live_server):
    _, token = a_project("dispatch", "Dispatch")
    for shard, name in ((1, "test_BID_001_resolve"), (2, "test_BID_002_fanout")):
        folder = tmp_path / f"job-{shard}" / "reports"
        folder.mkdir(parents=True)
        # The same file name in each job: the part keeps them apart.
        (folder / "junit.xml").write_bytes(junit((name, "passed")))

        result = upload(str(folder), "--run-id", "gh-12-1", "--suite", "full",
                        "--part", f"shard-{shard}", "--total-parts", "2", token=token)  # fmt: skip

        assert result.returncode == 0, result.stderr
        assert f"stored as part 'shard-{shard}/junit.xml'" in result.stderr

    assert counts(Run.objects.get()) == (2, 0, 0)
    parts = parts_of(live_server, token, "gh-12-1")
    assert (parts["received"], parts["expected"]) == (2, 2)


@pytest.mark.django_db(transaction=True)
def test_a_variant_reaches_the_stored_results_over_the_reports_own(upload, tmp_path):
    _, token = a_project("dispatch", "Dispatch")
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "junit.xml").write_bytes(junit(("test_BID_001_resolve", "passed")))
    own = a_report("gh-13-1", variant={"os": "macos", "arch": "arm64"}, suite="full")
    (folder / "suite.json").write_bytes(report_bytes(own))

    result = upload(str(folder), "--run-id", "gh-13-1", "--suite", "full", "--branch", "main",
                    "--commit", "9f1c2e7", "--variant", "browser=webkit", "--variant", "os=linux",
                    token=token)  # fmt: skip

    assert result.returncode == 0, result.stderr
    variants = {
        key: set(ScenarioResult.objects.filter(scenario__key=key).values_list("variant", flat=True))
        for key in ("BID-001", "SCH-001")
    }
    # Written out in key order by Triage; the uploader's os wins over the file's.
    assert variants["BID-001"] == {
        "arch=arm64, browser=webkit, os=linux",
        "browser=webkit, os=linux",
    }
    assert variants["SCH-001"] == {"arch=arm64, browser=webkit, os=linux"}


def test_xml_parts_and_variants_go_as_query_parameters_and_json_ones_into_the_run(
    upload, tmp_path, stand_in
):
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.xml").write_bytes(junit(("test_BID_001_resolve", "passed")))
    own = a_report("gh-14-1", part="the file's own", variant={"os": "macos", "arch": "arm64"})
    (folder / "b.json").write_bytes(report_bytes(own))

    result = upload(str(folder), "--run-id", "gh-14-1", "--suite", "full", "--variant", "os=linux",
                    "--variant", "browser=web kit", token="t", url=stand_in.url)  # fmt: skip

    assert result.returncode == 0, result.stderr
    (xml_query, _), (json_query, json_body) = stand_in.deliveries
    assert xml_query["part"] == ["a.xml"] and xml_query["totalParts"] == ["2"]
    assert xml_query["variant"] == ["os=linux", "browser=web kit"]
    assert json_query == {}
    run = json.loads(json_body)["run"]
    # The file's own part stays; a path-named part is only for files that name none.
    assert (run["part"], run["totalParts"]) == ("the file's own", 2)
    assert run["variant"] == {"os": "linux", "arch": "arm64", "browser": "web kit"}


def test_a_single_file_is_the_part_given_and_keeps_its_own_when_none_is(upload, tmp_path, stand_in):
    xml = tmp_path / "junit.xml"
    xml.write_bytes(junit(("test_BID_001_resolve", "passed")))
    report = tmp_path / "report.json"
    report.write_bytes(report_bytes(a_report("gh-15-1", part="chromium")))

    upload(str(xml), "--run-id", "gh-15-1", "--suite", "full", "--part", "webkit",
           token="t", url=stand_in.url)  # fmt: skip
    upload(str(report), "--variant", "os=linux", token="t", url=stand_in.url)
    upload(str(report), token="t", url=stand_in.url)

    (xml_query, _), (_, labelled), (_, as_is) = stand_in.deliveries
    assert xml_query["part"] == ["webkit"] and "totalParts" not in xml_query
    run = json.loads(labelled)["run"]
    assert (run["part"], run["variant"]) == ("chromium", {"os": "linux"})
    assert "totalParts" not in run
    # Nothing to add: the file goes byte for byte, as it did before there were parts.
    assert as_is == report.read_bytes()


@pytest.mark.parametrize(
    "flags",
    [("--variant", "browser"), ("--variant", "=webkit"), ("--total-parts", "0"),
     ("--total-parts", "two")],
)  # fmt: skip
def test_a_malformed_variant_or_count_is_a_usage_error(upload, tmp_path, stand_in, flags):
    report = tmp_path / "report.json"
    report.write_bytes(report_bytes(a_report()))
    result = upload(str(report), *flags, token="t", url=stand_in.url)
    assert result.returncode == 2
    assert flags[0] in result.stderr
    assert stand_in.deliveries == []


def test_xml_without_a_run_id_is_a_usage_error_before_anything_is_sent(upload, tmp_path, stand_in):
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.json").write_bytes(report_bytes(a_report()))
    (folder / "b.xml").write_bytes(junit(("test_BID_001_resolve", "passed")))
    result = upload(str(folder), token="t", url=stand_in.url)
    assert result.returncode == 2
    assert "XML reports need --run-id and --suite" in result.stderr
    assert stand_in.deliveries == []


@pytest.mark.django_db(transaction=True)
def test_the_uploader_exits_non_zero_with_the_servers_error(upload, tmp_path):
    a_project("dispatch", "Dispatch")
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"run": {"id": "x"}}))
    result = upload(str(report), token="trg_wrong")
    assert result.returncode == 1
    assert "with 401:" in result.stderr and "token" in result.stderr


def a_report_sent_to(receiver: Receiver, upload, tmp_path):
    """The uploader's run sending one report to `receiver`, which is closed after."""
    report = tmp_path / "report.json"
    report.write_bytes(report_bytes(a_report()))
    try:
        return upload(str(report), token="t", url=receiver.url)
    finally:
        receiver.close()


def test_the_uploader_retries_server_errors_then_succeeds(upload, tmp_path):
    stand_in = Receiver(statuses=(503, 502, 201), answer={"url": "https://triage.test/p/x/runs/1/"})
    result = a_report_sent_to(stand_in, upload, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://triage.test/p/x/runs/1/"
    assert len(stand_in.deliveries) == 3
    assert stand_in.deliveries[0]["headers"]["Content-Encoding"] == "gzip"


def test_the_uploader_waits_as_long_as_a_busy_server_asks(upload, tmp_path):
    stand_in = Receiver(statuses=(503, 201), answer={"url": "https://triage.test/r/2/"},
                        retry_after="2")  # fmt: skip
    result = a_report_sent_to(stand_in, upload, tmp_path)
    assert result.returncode == 0, result.stderr
    first, second = stand_in.deliveries
    # Its own pause would have been 0.05 s.
    assert second["at"] - first["at"] >= 2.0
    assert "again in 2s" in result.stderr


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
    folder = three_shards(tmp_path / "reports")
    result = subprocess.run(
        [sys.executable, str(ROOT / "triage_upload.py"), "--url", live_server.url,
         "--project", "dispatch", "--run-id", "signed-up", "--suite", "full",
         "--variant", "browser=web kit", str(folder)],
        capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "TRIAGE_TOKEN": token, "TRIAGE_SIGNING_SECRET": secret},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert Run.objects.filter(external_id="signed-up").exists()


@pytest.mark.django_db(transaction=True)
def test_a_folder_of_trx_files_is_sent_and_a_wrong_token_stops_at_the_first_file(upload, tmp_path):
    _, token = a_project("dispatch", "Dispatch")
    folder = tmp_path / "TestResults"
    folder.mkdir()
    trx = (FIXTURES.parent / "dotnet" / "xunit-adapter.trx").read_bytes()
    (folder / "a.trx").write_bytes(trx)
    # A second test project: the same runner, other tests.
    (folder / "b.trx").write_bytes(trx.replace(b"CalculatorTests", b"ConverterTests"))

    wrong = upload(str(folder), "--run-id", "dotnet-1", "--suite", "full", token="trg_wrong")
    stored = upload(str(folder), "--run-id", "dotnet-1", "--suite", "full", token=token)

    assert wrong.returncode == 1
    # Counted by the refusal, not by "401": the live server's port may contain those digits.
    assert wrong.stderr.count("with 401:") == 1
    assert stored.returncode == 0, stored.stderr
    assert len(stored.stdout.split()) == 1
    assert stored.stderr.count("stored as part") == 2


def test_a_json_report_of_another_run_in_a_folder_is_sent_as_its_own_whole_run(
    upload, tmp_path, stand_in
):
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.xml").write_bytes(junit(("test_BID_001_resolve", "passed")))
    (folder / "other.json").write_bytes(report_bytes(a_report("nightly-7")))
    (folder / "shard.json").write_bytes(
        report_bytes(a_report("gh-16-1", part="shard-2", totalParts=4))
    )

    result = upload(str(folder), "--run-id", "gh-16-1", "--suite", "full",
                    token="t", url=stand_in.url)  # fmt: skip

    assert result.returncode == 0, result.stderr
    xml_query = stand_in.deliveries[0][0]
    other, shard = (json.loads(body)["run"] for _, body in stand_in.deliveries[1:])
    # Two files of gh-16-1 (the XML and the shard JSON); nightly-7 is a run of its own.
    assert xml_query["part"] == ["a.xml"] and xml_query["totalParts"] == ["2"]
    assert "part" not in other and "totalParts" not in other
    assert (shard["part"], shard["totalParts"]) == ("shard-2", 4)
