"""run_ingest: a report is stored all or nothing, in as many queries for 3 scenarios as for 300."""

import pytest
from django.db import DatabaseError, connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext

from runs.ingest import report_digest, run_ingest
from runs.models import Invariant, InvariantFailure, Run, Scenario, ScenarioResult
from runs.schema import report_parse
from tests.builders import a_failure, a_report, a_scenario, report_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def stored_rows() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Run, ScenarioResult, InvariantFailure, Scenario, Invariant)
    }


def test_a_failing_insert_leaves_nothing_behind(project_and_token):
    """All or nothing: an error after the run row was written rolls the whole report back."""
    project, _ = project_and_token
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE runs_invariantfailure ADD CONSTRAINT test_refuse_one_org "
            "CHECK (organization_under_test <> 'org-refused')"
        )
    report = a_report(
        scenarios=[
            a_scenario("BID-001", "failed"),
            a_scenario(
                "BID-002", "failed", failures=[a_failure(organizationUnderTest="org-refused")]
            ),
        ]
    )
    try:
        with pytest.raises(DatabaseError, match="test_refuse_one_org"):
            run_ingest(project=project, report=report_parse(report_bytes(report)))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE runs_invariantfailure DROP CONSTRAINT IF EXISTS test_refuse_one_org"
            )
    assert stored_rows() == dict.fromkeys(
        ["Run", "ScenarioResult", "InvariantFailure", "Scenario", "Invariant"], 0
    )


def test_ingest_takes_the_same_number_of_queries_for_3_or_300_scenarios(project_and_token):
    project, _ = project_and_token

    def queries_for(run_id: str, count: int) -> int:
        # Scenarios new to the catalog each time, so that both add to it.
        area = run_id[:3].upper()
        scenarios = [
            a_scenario(f"{area}-{n:03d}", "failed" if n % 3 == 0 else "passed")
            for n in range(count)
        ]
        report = report_parse(report_bytes(a_report(run_id, scenarios=scenarios)))
        with CaptureQueriesContext(connection) as queries:
            run_ingest(project=project, report=report)
        return len(queries)

    queries_for("creates-the-suite", 1)
    assert queries_for("small", 3) == queries_for("large", 300)


def test_a_report_keeps_its_digest_across_upgrades_that_add_optional_fields():
    # The digest stored for this report before parts and variants existed: a CI retry of an
    # old post after an upgrade must still be "the same content", not a 409.
    report = report_parse(report_bytes(a_report(scenarios=[
        a_scenario("BID-001", "failed", failures=[a_failure()]),
        a_scenario("BID-002", "passed"),
        a_scenario("SCH-001", "skipped"),
    ])))  # fmt: skip

    assert report_digest(report) == (
        "86606c008eae18f8cb73f2216dc32693dad62e05f9bcc47b32a8196d7b8ad0ef"
    )


def test_evidence_gives_a_failure_at_most_a_hundred_searchable_values():
    from runs.ingest import MAX_EVIDENCE_VALUES, searchable_values
    from runs.schema import FailureReport

    rows = [{"id": f"n-{n}", "user_id": f"drv-{n}"} for n in range(1000)]
    failure = FailureReport.model_validate(
        {"keyEntityIds": {"orgId": "org-a"}, "evidence": [{"label": "t", "rows": rows}]}
    )

    values = searchable_values(failure)

    assert values[0] == ("orgId", "org-a")
    assert len(values) == 1 + MAX_EVIDENCE_VALUES


def test_a_scenario_with_stored_results_cannot_be_deleted(project_and_token):
    """PostgreSQL does not check a result's scenario (runs/models.py says why): that rests on
    a catalog entry with results never going away, which Django's PROTECT enforces."""
    project, _ = project_and_token
    run_ingest(project=project, report=report_parse(report_bytes(a_report("gh-1", [
        a_scenario("BID-001", "failed"), a_scenario("BID-002", "passed"),
    ]))))  # fmt: skip

    with pytest.raises(ProtectedError):
        Scenario.objects.filter(project=project, key="BID-001").delete()
    with pytest.raises(ProtectedError):
        project.delete()

    assert Scenario.objects.filter(project=project).count() == 2
    assert ScenarioResult.objects.filter(run__project=project).count() == 2
