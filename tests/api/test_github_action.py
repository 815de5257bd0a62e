"""The GitHub Actions side: the composite action's upload step, run as a runner would run it,
and actionlint over the workflows (which also checks the inputs given to the local action)."""

import os
import re
import shutil
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

from runs.models import Run, ScenarioResult
from tests.api.test_uploader import junit
from tests.builders import a_project

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / ".github" / "actions" / "triage-upload"


def actionlint() -> str | None:
    """The actionlint binary of the test extras (installed beside this Python), or one on PATH."""
    beside = Path(sys.executable).parent / "actionlint"
    return str(beside) if beside.is_file() else shutil.which("actionlint")


def upload_step_env_names() -> set[str]:
    """The environment variables the action's upload step declares."""
    text = (ACTION / "action.yml").read_text()
    declared = text.split("\n      env:\n", 1)[1].split("\n      run: |", 1)[0]
    return set(re.findall(r"^\s+([A-Z_]+): ", declared, flags=re.MULTILINE))


def upload_step_script() -> str:
    """The Python the action's upload step runs: the `run: |` block of action.yml."""
    lines = (ACTION / "action.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"\s*run: \|", line))
    indent = len(lines[start]) - len(lines[start].lstrip())
    block = []
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line)
    return textwrap.dedent("\n".join(block))


@pytest.fixture
def run_action(tmp_path, live_server):
    """Runs the upload step as the runner does (`python3 {0}`), with the environment the step
    declares: the inputs as given, GitHub's context as in a workflow run."""
    script = tmp_path / "upload-step.py"
    script.write_text(upload_step_script())

    def run(token: str, run_id: str = "8812345-1", **inputs: str) -> subprocess.CompletedProcess:
        given = {"part": "", "matrix": "", "shard-keys": "shard", "variant": "",
                 "total-parts": "", "suite": "full", "commit": "9f1c2e7", **inputs}  # fmt: skip
        env = {
            "PATH": os.environ["PATH"], "TRIAGE_TOKEN": token, "TRIAGE_URL": live_server.url,
            "TRIAGE_PROJECT": "dispatch", "REPORT_PATH": given["path"], "SUITE": given["suite"],
            "RUN_ID": run_id, "BRANCH": "main", "COMMIT": given["commit"],
            "TRIAGE_RERUN_TOKEN": "", "CI_URL": "https://github.test/o/r/actions/runs/8812345",
            "JOB": "e2e", "PART": given["part"], "MATRIX": given["matrix"],
            "SHARD_KEYS": given["shard-keys"], "VARIANT": given["variant"],
            "TOTAL_PARTS": given["total-parts"],
            "UPLOADER": f"{ACTION}/../../../triage_upload.py",
        }  # fmt: skip
        # The test gives the step exactly what action.yml declares, no more, no less.
        assert set(env) - {"PATH"} == upload_step_env_names()
        return subprocess.run(
            [sys.executable, str(script)],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip

    return run


def test_actionlint_finds_nothing_in_the_workflows():
    binary = actionlint()
    if binary is None:
        pytest.skip("no actionlint binary: install the test extras (pip install -e '.[test]')")
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    result = subprocess.run(
        [binary, "-no-color", *workflows],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db(transaction=True)
def test_a_matrix_posts_one_run_with_a_part_per_job_and_the_matrix_as_variant(
    run_action, tmp_path, live_server
):
    _, token = a_project("dispatch", "Dispatch")
    cells = [("chromium", "1/2", "passed"), ("chromium", "2/2", "passed"),
             ("webkit", "1/2", "failed"), ("webkit", "2/2", "passed")]  # fmt: skip
    for browser, shard, status in cells:
        report = tmp_path / browser / shard.replace("/", "-") / "junit.xml"
        report.parent.mkdir(parents=True)
        test = "test_BID_001_resolve" if shard == "1/2" else "test_BID_002_fanout"
        report.write_bytes(junit((test, status)))
        # What toJSON(matrix) gives, an include's object among the values.
        matrix = f'{{"browser": "{browser}", "shard": "{shard}", "env": {{"CI": "1"}}}}'

        result = run_action(token, path=str(report), matrix=matrix, variant="os=linux",
                            **{"total-parts": "4"})  # fmt: skip

        assert result.returncode == 0, result.stderr
        assert f"stored as part 'e2e ({browser}, {shard})'" in result.stderr

    run = Run.objects.get()
    assert run.external_id == "8812345-1"
    assert (run.passed_count, run.failed_count) == (3, 1)
    # The shard names the part only: BID-001 ran in shard 1 on both browsers, one variant each.
    assert set(
        ScenarioResult.objects.filter(scenario__key="BID-001").values_list("variant", "status")
    ) == {("browser=chromium, os=linux", "passed"), ("browser=webkit, os=linux", "failed")}
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/projects/dispatch/runs/8812345-1",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        summary = response.read()
    assert b'"received": 4, "expected": 4' in summary


@pytest.mark.django_db(transaction=True)
def test_a_job_without_a_matrix_posts_the_whole_run_unless_given_a_part(run_action, tmp_path):
    _, token = a_project("dispatch", "Dispatch")
    report = tmp_path / "junit.xml"
    report.write_bytes(junit(("test_BID_001_resolve", "passed")))

    # Outside a matrix, toJSON(matrix) is null.
    whole = run_action(token, "101-1", path=str(report), matrix="null")
    # Two jobs of another workflow run, each posting its own part.
    api = run_action(token, "102-1", path=str(report), part="api tests", **{"total-parts": "2"})
    ui = run_action(token, "102-1", path=str(report), part="ui tests", **{"total-parts": "2"})

    assert whole.returncode == 0, whole.stderr
    assert "stored" in whole.stderr and "as part" not in whole.stderr
    assert Run.objects.get(external_id="101-1").parts_received == 0
    assert api.returncode == 0, api.stderr
    assert "stored as part 'api tests'" in api.stderr
    assert ui.returncode == 0, ui.stderr
    assert "stored as part 'ui tests'" in ui.stderr
    assert Run.objects.get(external_id="102-1").parts_received == 2


def test_a_matrix_input_that_is_not_a_json_object_stops_the_step(run_action, tmp_path):
    report = tmp_path / "junit.xml"
    report.write_bytes(junit(("test_BID_001_resolve", "passed")))
    result = run_action("t", path=str(report), matrix="browser: webkit")
    assert result.returncode == 1
    assert "the matrix input is not a JSON object" in result.stderr
