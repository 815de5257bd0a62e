"""POST /api/v1/projects/<slug>/runs through a real HTTP server and PostgreSQL."""

import gzip
import json

import pytest
from django.test import override_settings
from django.utils import timezone

from runs.models import Invariant, InvariantFailure, Run, Scenario, ScenarioResult
from tests.builders import a_failure, a_project, a_report, a_scenario, report_bytes
from tests.http import post

pytestmark = pytest.mark.django_db(transaction=True)


def stored_rows() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Run, ScenarioResult, InvariantFailure, Scenario, Invariant)
    }


def test_a_new_report_is_stored_with_its_failures_and_evidence(project_and_token, runs_url):
    _, token = project_and_token
    answer = post(runs_url("dispatch"), report_bytes(a_report()), token=token)

    assert answer.status == 201
    run = Run.objects.get(pk=answer.body["id"])
    assert answer.body["url"].endswith(f"/p/dispatch/runs/{run.pk}/")
    assert answer.body["created"] is True
    assert (run.external_id, run.suite.name, run.branch, run.commit) == (
        "gh-8812345-1",
        "smoke",
        "main",
        "9f1c2e7",
    )
    assert run.duration_ms == 511_000
    assert (run.passed_count, run.failed_count, run.skipped_count, run.error_count) == (1, 1, 1, 0)
    assert run.status == "failed"
    assert run.suite.budget_minutes == 10
    failure = InvariantFailure.objects.get(run=run)
    assert failure.invariant.key == "TENANT-004"
    assert failure.invariant.kind == "TENANT"
    assert failure.result.scenario.key == "BID-001"
    assert failure.result.scenario.area == "BID"
    assert failure.organization_under_test == "org-a"
    assert failure.key_entity_ids["bidWindowId"] == "bw-17"
    assert failure.evidence[0]["rows"][1] == {"id": "n-2", "org_id": "org-b", "user_id": "drv-b-1"}
    assert failure.artifacts == ["logs/nightly/2026-11-20/ci-artifacts/report.json"]
    assert list(run.results.order_by("position").values_list("scenario__key", "status")) == [
        ("BID-001", "failed"),
        ("BID-002", "passed"),
        ("SCH-001", "skipped"),
    ]


def test_reposting_the_same_report_returns_the_same_run_and_adds_nothing(
    project_and_token, runs_url
):
    _, token = project_and_token
    first = post(runs_url("dispatch"), report_bytes(a_report()), token=token)
    before = stored_rows()
    # Same content with other whitespace and key order is still the same report.
    again = json.dumps(a_report(), indent=2, sort_keys=True).encode()
    second = post(runs_url("dispatch"), again, token=token)

    assert second.status == 200
    assert second.body["id"] == first.body["id"]
    assert second.body["created"] is False
    assert stored_rows() == before


def test_the_same_run_id_with_other_content_is_a_conflict_and_changes_nothing(
    project_and_token, runs_url
):
    _, token = project_and_token
    post(runs_url("dispatch"), report_bytes(a_report()), token=token)
    before = stored_rows()
    changed = a_report(scenarios=[a_scenario("BID-001", "passed")])
    answer = post(runs_url("dispatch"), report_bytes(changed), token=token)

    assert answer.status == 409
    assert "gh-8812345-1" in answer.body["error"]
    assert "different content" in answer.body["error"]
    assert stored_rows() == before
    assert Run.objects.get().failed_count == 1


def test_a_failure_without_invariant_id_is_stored_as_a_diagnostics_gap(project_and_token, runs_url):
    _, token = project_and_token
    report = a_report(
        scenarios=[
            a_scenario("UI-009", "error", failures=[{"message": "Timeout 30000ms exceeded"}]),
            a_scenario("API-001", "failed", failures=[]),
            a_scenario("BID-001", "failed"),
        ]
    )
    answer = post(runs_url("dispatch"), report_bytes(report), token=token)

    assert answer.status == 201
    assert answer.body["counts"]["diagnosticsGaps"] == 2
    gaps = ScenarioResult.objects.filter(diagnostics_gap=True).values_list(
        "scenario__key", flat=True
    )
    assert sorted(gaps) == ["API-001", "UI-009"]
    assert InvariantFailure.objects.get(result__scenario__key="UI-009").invariant is None


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r["run"].pop("id"), "run.id"),
        (lambda r: r["run"].pop("suite"), "run.suite"),
        (lambda r: r["run"].pop("startedAt"), "run.startedAt"),
        (lambda r: r["run"].__setitem__("finishedAt", "yesterday"), "run.finishedAt"),
        (lambda r: r["run"].__setitem__("finishedAt", "2026-11-20T01:00:00Z"), "run.finishedAt"),
        (lambda r: r["run"].__setitem__("startedAt", "2026-11-20T02:00:00"), "run.startedAt"),
        (lambda r: r["run"].__setitem__("url", "javascript:alert(1)"), "run.url"),
        (lambda r: r["scenarios"][2].__setitem__("status", "exploded"), "scenarios[2].status"),
        (lambda r: r["scenarios"][1].pop("scenarioId"), "scenarios[1].scenarioId"),
        (lambda r: r["scenarios"][0].__setitem__("durationMs", -5), "scenarios[0].durationMs"),
        (
            lambda r: r["scenarios"][0]["failures"][0].__setitem__("message", "nul \x00 byte"),
            "scenarios[0].failures[0].message",
        ),
        (
            lambda r: r["scenarios"][0]["failures"][0]["evidence"][0]["rows"][0].__setitem__(
                "org_id", "a\x00b"
            ),
            "scenarios[0].failures[0].evidence[0].rows",
        ),
        (
            lambda r: r["scenarios"][0]["failures"][0]["evidence"][0]["rows"][0].__setitem__(
                "count", float("nan")
            ),
            "scenarios[0].failures[0].evidence[0].rows",
        ),
        (
            lambda r: r["scenarios"][0]["failures"][0]["keyEntityIds"].__setitem__("a\x00", "b"),
            "scenarios[0].failures[0].keyEntityIds",
        ),
        (lambda r: r["run"].__setitem__("suite", "   "), "run.suite"),
        (lambda r: r["run"].__setitem__("startedAt", "0001-01-01T00:00:00+01:00"), "run.startedAt"),
        (
            lambda r: r["run"].__setitem__("finishedAt", "9999-12-31T23:00:00-02:00"),
            "run.finishedAt",
        ),
        (lambda r: r["run"].__setitem__("id", None), "run.id"),
        (lambda r: r["scenarios"].append(a_scenario("BID-002")), "scenarios[3].scenarioId"),
        (lambda r: r.__setitem__("schemaVersion", 7), "schemaVersion"),
        (lambda r: r.__setitem__("scenarios", {"BID-001": "passed"}), "scenarios"),
    ],
)
def test_a_report_that_breaks_the_schema_is_refused_naming_the_field(
    project_and_token, runs_url, mutate, field
):
    _, token = project_and_token
    report = a_report()
    mutate(report)
    answer = post(runs_url("dispatch"), report_bytes(report), token=token)

    assert answer.status == 400
    named = [problem["field"] for problem in answer.body["problems"]]
    assert any(name == field or name.startswith((f"{field}.", f"{field}[")) for name in named), (
        named
    )
    assert all(problem["problem"] for problem in answer.body["problems"])
    assert Run.objects.count() == 0


def test_text_that_only_looks_like_an_escape_is_stored_as_is(project_and_token, runs_url):
    _, token = project_and_token
    report = a_report()
    report["scenarios"][0]["failures"][0]["evidence"][0]["rows"][0]["note"] = "\\u0000 literally"
    answer = post(runs_url("dispatch"), report_bytes(report), token=token)
    assert answer.status == 201, answer.body
    assert InvariantFailure.objects.get().evidence[0]["rows"][0]["note"] == "\\u0000 literally"


def test_malformed_json_is_refused(project_and_token, runs_url):
    _, token = project_and_token
    answer = post(runs_url("dispatch"), b'{"run": {"id": "x",', token=token)
    assert answer.status == 400
    assert answer.body["error"] == "malformed JSON"
    assert Run.objects.count() == 0


def test_a_non_json_content_type_is_refused(project_and_token, runs_url):
    _, token = project_and_token
    answer = post(
        runs_url("dispatch"), report_bytes(a_report()), token=token, content_type="text/plain"
    )
    assert answer.status == 415
    assert "application/json" in answer.body["error"]
    assert Run.objects.count() == 0


def test_a_report_over_the_size_limit_is_refused(project_and_token, runs_url):
    _, token = project_and_token
    report = a_report()
    report["scenarios"][0]["failures"][0]["message"] = "x" * 150_000
    with override_settings(REPORT_MAX_BYTES=100_000, DATA_UPLOAD_MAX_MEMORY_SIZE=100_000):
        answer = post(runs_url("dispatch"), report_bytes(report), token=token)
    assert answer.status == 413
    assert "100000 bytes" in answer.body["error"]
    assert Run.objects.count() == 0


def test_a_gzip_body_is_accepted(live_server, token):
    body = gzip.compress(report_bytes(a_report()))
    answer = post(f"{live_server.url}/api/v1/projects/dispatch/runs", body, token=token,
                  headers={"Content-Encoding": "gzip"})  # fmt: skip
    assert answer.status == 201


def test_a_zip_bomb_is_refused_with_413_before_it_fills_memory(live_server, token, settings):
    bomb = gzip.compress(b'{"run": {"id": "' + b"x" * (200 * 1024 * 1024) + b'"}}', 9)
    assert len(bomb) < 1024 * 1024
    answer = post(f"{live_server.url}/api/v1/projects/dispatch/runs", bomb, token=token,
                  headers={"Content-Encoding": "gzip"})  # fmt: skip
    assert answer.status == 413
    assert "uncompressed" in answer.body["error"]


def test_a_broken_gzip_body_is_a_clear_400(live_server, token):
    answer = post(f"{live_server.url}/api/v1/projects/dispatch/runs", b"\x1f\x8bnot gzip",
                  token=token, headers={"Content-Encoding": "gzip"})  # fmt: skip
    assert answer.status == 400
    assert "gzip" in answer.body["error"]


def test_a_missing_or_wrong_token_is_refused(project_and_token, runs_url):
    answer = post(runs_url("dispatch"), report_bytes(a_report()))
    assert answer.status == 401
    assert "token" in answer.body["error"]
    answer = post(runs_url("dispatch"), report_bytes(a_report()), token="trg_not-a-real-token")
    assert answer.status == 401
    assert Run.objects.count() == 0


def test_a_token_of_another_project_gets_404_like_a_missing_project(project_and_token, runs_url):
    _, token = project_and_token
    other, other_token = a_project("billing", "Billing")

    answer = post(runs_url("billing"), report_bytes(a_report()), token=token)
    assert answer.status == 404
    missing = post(runs_url("no-such-project"), report_bytes(a_report()), token=token)
    assert missing.status == 404
    assert answer.body["error"].replace("billing", "X") == missing.body["error"].replace(
        "no-such-project", "X"
    )
    assert Run.objects.count() == 0
    assert post(runs_url("billing"), report_bytes(a_report()), token=other_token).status == 201
    assert Run.objects.get().project == other


def test_a_revoked_token_is_refused(project_and_token, runs_url):
    project, token = project_and_token
    project.tokens.update(revoked_at=timezone.now())
    answer = post(runs_url("dispatch"), report_bytes(a_report()), token=token)
    assert answer.status == 401
    assert Run.objects.count() == 0


def test_a_get_is_told_to_post(project_and_token, live_server):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{live_server.url}/api/v1/projects/dispatch/runs", timeout=10)
    assert caught.value.code == 405


def test_null_means_absent_for_optional_fields(project_and_token, runs_url):
    _, token = project_and_token
    report = a_report(branch=None, commit=None, trigger=None, url=None, rerunOf=None)
    report["scenarios"][0].update(title=None, file=None, attempt=None, durationMs=None)
    report["scenarios"][0]["failures"][0].update(message=None, evidence=None, artifacts=None)
    report["scenarios"][1]["failures"] = None

    answer = post(runs_url("dispatch"), report_bytes(report), token=token)

    assert answer.status == 201, answer.body
    run = Run.objects.get()
    assert (run.branch, run.commit) == ("", "")
    failure = InvariantFailure.objects.get()
    assert (failure.message, failure.evidence, failure.artifacts) == ("", [], [])


def test_a_null_member_is_the_same_content_as_a_member_left_out(project_and_token, runs_url):
    _, token = project_and_token
    with_nulls = a_report(commit=None)
    with_nulls["scenarios"][0].update(title=None, file=None)
    left_out = a_report()
    del left_out["run"]["commit"]
    for member in ("title", "file"):
        del left_out["scenarios"][0][member]

    first = post(runs_url("dispatch"), report_bytes(with_nulls), token=token)
    again = post(runs_url("dispatch"), report_bytes(left_out), token=token)

    assert (first.status, again.status) == (201, 200), again.body
    assert again.body["id"] == first.body["id"]


def test_nulls_within_evidence_rows_and_entity_ids_are_kept(project_and_token, runs_url):
    _, token = project_and_token
    failure = a_failure(
        keyEntityIds={"orgId": "org-a", "driverId": None},
        evidence=[{"label": None, "rows": [{"id": "n-1", "read_at": None}]}],
    )
    report = a_report(scenarios=[a_scenario("BID-001", "failed", title=None, failures=[failure])])

    answer = post(runs_url("dispatch"), report_bytes(report), token=token)

    assert answer.status == 201, answer.body
    stored = InvariantFailure.objects.get()
    assert stored.key_entity_ids == {"orgId": "org-a", "driverId": None}
    assert stored.evidence == [{"label": "", "rows": [{"id": "n-1", "read_at": None}]}]


def test_a_null_where_no_member_can_be_left_out_is_refused_naming_it(project_and_token, runs_url):
    _, token = project_and_token
    report = a_report(scenarios=[a_scenario("BID-001", title=None, variant={"browser": None})])

    answer = post(runs_url("dispatch"), report_bytes(report), token=token)

    assert answer.status == 400
    assert [problem["field"] for problem in answer.body["problems"]] == [
        "scenarios[0].variant.browser"
    ]
    assert stored_rows()["Run"] == 0


def test_a_blank_invariant_id_is_a_diagnostics_gap_not_an_error(project_and_token, runs_url):
    _, token = project_and_token
    report = a_report(
        scenarios=[a_scenario("BID-001", "failed", failures=[a_failure(invariantId="  ")])]
    )
    answer = post(runs_url("dispatch"), report_bytes(report), token=token)
    assert answer.status == 201, answer.body
    assert answer.body["counts"]["diagnosticsGaps"] == 1
    assert InvariantFailure.objects.get().invariant is None
    assert Invariant.objects.count() == 0


def test_the_same_instants_written_with_another_offset_are_the_same_report(
    project_and_token, runs_url
):
    _, token = project_and_token
    first = post(runs_url("dispatch"), report_bytes(a_report()), token=token)
    shifted = a_report(
        startedAt="2026-11-20T03:00:00+01:00", finishedAt="2026-11-20T03:08:31+01:00"
    )
    again = post(runs_url("dispatch"), report_bytes(shifted), token=token)
    assert (first.status, again.status) == (201, 200)


def test_an_overlong_id_prefix_is_stored_without_an_area(project_and_token, runs_url):
    _, token = project_and_token
    long_prefix = "A" * 40 + "-001"
    report = a_report(
        scenarios=[
            a_scenario(long_prefix, "failed", failures=[a_failure(invariantId="T" * 40 + "-1")])
        ]
    )
    answer = post(runs_url("dispatch"), report_bytes(report), token=token)
    assert answer.status == 201, answer.body
    assert Scenario.objects.get().area == ""
    assert Invariant.objects.get().kind == ""


def test_a_run_dated_more_than_a_day_ahead_is_refused_naming_the_field(client, token):
    from datetime import UTC, datetime, timedelta

    ahead = datetime.now(UTC) + timedelta(days=2)
    report = a_report("gh-future", startedAt=ahead.isoformat(),
                      finishedAt=(ahead + timedelta(minutes=5)).isoformat())  # fmt: skip

    answer = client.post(
        "/api/v1/projects/dispatch/runs", report_bytes(report),
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip

    assert answer.status_code == 400
    assert answer.json()["problems"] == [
        {"field": "run.startedAt", "problem": "must not be more than a day in the future"}
    ]
