"""The demo project's suite, small enough to ship: `make run` sets it up as the demo's rerun
command, so Rerun on the demo really runs something and reports back.

    python run_demo_suite.py "BID-001|ADV-007"

Every demo scenario passes, deterministically, except ADV-007, which is flaky on purpose: it
passes, then fails, then passes... (counted in a file beside the report), so a rerun of its
nightly failure shows a flake verdict. Writes report.json in the working folder; standard
library only."""

import json
import re
import sys
import time
from datetime import UTC, datetime
from os import environ
from pathlib import Path

FLAKY = "ADV-007"
SCENARIO_ID = re.compile(r"^[A-Z][A-Z0-9]*-\d{3,}$")


def flaky_passes(counter: Path) -> bool:
    # Passes the first time (a rerun of its nightly failure turns green: a flake), then fails,
    # then passes, ...
    runs = int(counter.read_text() or 0) if counter.exists() else 0
    counter.write_text(str(runs + 1))
    return runs % 2 == 0


def outcome(scenario_id: str) -> dict:
    started = time.perf_counter()
    failures = []
    if not SCENARIO_ID.match(scenario_id):
        status = "error"
        failures = [{"message": f"no scenario {scenario_id}"}]
    elif scenario_id == FLAKY and not flaky_passes(Path(".demo-flaky-runs")):
        status = "failed"
        failures = [
            {
                "invariantId": "IDEMP-002",
                "organizationUnderTest": "org-a",
                "keyEntityIds": {"orgId": "org-a", "assignmentId": "asg-311"},
                "message": "replayed webhook produced a second transition",
                "expected": '{"transitions": 1}',
                "observed": '{"transitions": 2}',
            }
        ]
    else:
        status = "passed"
    time.sleep(0.05)  # a scenario takes a moment, even here
    return {
        "scenarioId": scenario_id,
        "status": status,
        "durationMs": int((time.perf_counter() - started) * 1000),
        "failures": failures,
    }


def main() -> int:
    wanted = [key for key in (sys.argv[1] if len(sys.argv) > 1 else "").split("|") if key]
    started = datetime.now(UTC)
    results = [outcome(key) for key in wanted]
    token = environ.get("TRIAGE_RERUN_TOKEN", "")
    report = {
        "run": {
            "id": f"demo-rerun-{token or started.strftime('%Y%m%d%H%M%S')}",
            "suite": "smoke",
            "branch": "main",
            "commit": environ.get("TRIAGE_COMMIT", ""),
            "trigger": "rerun",
            "startedAt": started.isoformat(),
            "finishedAt": datetime.now(UTC).isoformat(),
            "rerunOf": environ.get("TRIAGE_RERUN_OF") or None,
            "rerunToken": token or None,
        },
        "scenarios": results,
    }
    Path("report.json").write_text(json.dumps(report))
    failed = sum(result["status"] != "passed" for result in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
