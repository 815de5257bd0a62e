"""No token, rerun token or secret in any log line: the whole suite's lines are read back at
the end of the run (the last test), access logs and workers' logs included."""

import pytest

from tests.log_audit import leaks, log_file

pytestmark = pytest.mark.log_audit


def test_each_kind_of_credential_is_found_and_redacted_ones_are_not():
    leaking = [
        "POST /api/v1/projects/dispatch/runs Authorization: Bearer trg_a8Fk2mQz9LwP0xYtR4vB",
        '"GET /api/v1/reruns/Xq3vT9aLmP2sR7wK/status HTTP/1.1" 200',
        "GET /api/v1/projects/p/runs?runId=r1&rerunToken=Xq3vT9aLmP2sR7wK",
        "dispatch headers {'Authorization': 'Bearer ghp_0123456789abcdef'}",
        "X-Triage-Signature: sha256=" + "ab" * 32,
    ]
    clean = [
        '"GET /api/v1/reruns/[redacted]/status HTTP/1.1" 405',
        "GET /api/v1/projects/p/runs?runId=r1&rerunToken=[redacted]",
        "POST /api/v1/projects/dispatch/runs 201",
    ]

    assert [kind for kind, _ in leaks(leaking)] == [
        "CI token", "bearer credential", "rerun token in a path", "token in a query",
        "bearer credential", "webhook signature",
    ]  # fmt: skip
    assert leaks(clean) == []


def test_no_line_the_suite_logged_holds_a_credential():
    path = log_file()
    if path is None:
        pytest.skip("LOG_FILE is not set: `make test` sets it and runs this test last")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()

    assert lines, f"{path} is empty: the suite's processes wrote no log line to it"
    found = leaks(lines)
    assert not found, f"{len(found)} log lines hold credentials, e.g. {found[:5]}"
