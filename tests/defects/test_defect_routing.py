"""Routing: the first matching rule names the owning team; CODEOWNERS imports keep their
meaning."""

import pytest

from defects.models import Defect, DefectEvent, RoutingRule
from defects.routing import rules_import_codeowners
from tests.builders import a_failure, a_report, a_rule, a_scenario, a_team, a_triaged_run, defect_of

pytestmark = pytest.mark.django_db


def test_new_defects_are_routed_by_the_first_matching_rule(project):
    ci, harness, bidding = (a_team(project, name) for name in ("ci", "harness", "bidding"))
    a_rule(project, ci, defect_class="infra")
    a_rule(project, harness, file_glob="tests/integration/harness/**")
    a_rule(project, bidding, scenario_prefix="BID", invariant_prefix="TENANT")
    a_rule(project, harness, scenario_prefix="BID")
    a_triaged_run(project, a_report("run-1", [
        a_scenario("BID-001", "failed"),
        a_scenario("BID-002", "failed", failures=[a_failure(invariantId="ASSIGN-1")]),
        a_scenario("HAR-001", "failed", file="tests/integration/harness/reset.test.ts"),
    ]))  # fmt: skip

    routed = defect_of(project, "BID-001|TENANT-004")
    assert routed.owner_team == bidding
    assert routed.routed_by.position == 3
    assert defect_of(project, "BID-002|ASSIGN-1").owner_team == harness
    assert defect_of(project, "HAR-001|TENANT-004").owner_team == harness
    assert DefectEvent.objects.filter(defect=routed, kind="owner", to_value="bidding").exists()


def test_routing_uses_the_real_class_so_a_catch_all_unclassified_rule_matches(project):
    rota = a_team(project, "rota")
    a_rule(project, a_team(project, "ci"), defect_class="infra")
    a_rule(project, rota, defect_class="unclassified")
    refused = [{"message": "connect ECONNREFUSED 127.0.0.1:5432"}]
    a_triaged_run(project, a_report("run-1", [a_scenario(f"API-00{n}", "error", failures=refused)
                                              for n in range(4)]))  # fmt: skip
    defect = Defect.objects.get(kind="incident")
    assert defect.suggested_class == "infra"
    assert defect.owner_team == rota


def test_codeowners_import_keeps_its_last_match_wins_meaning(project):
    rules_import_codeowners(project_id=project.pk, text=(
        "# owners\n"
        "/tests/integration/           @acme/qa\n"
        "/tests/integration/harness/   @acme/harness-maintainers\n"
        "*.snap                        @acme/snapshots\n"
    ))  # fmt: skip
    a_triaged_run(project, a_report("run-1", [
        a_scenario("HAR-001", "failed", file="tests/integration/harness/reset.test.ts"),
        a_scenario("BID-001", "failed", file="tests/integration/bidding/BID-001.test.ts"),
        a_scenario("UI-001", "failed", file="tests/ui/__snapshots__/board.snap"),
    ]))  # fmt: skip
    assert defect_of(project, "HAR-001|TENANT-004").owner_team.name == "harness-maintainers"
    assert defect_of(project, "BID-001|TENANT-004").owner_team.name == "qa"
    assert defect_of(project, "UI-001|TENANT-004").owner_team.name == "snapshots"


def test_codeowners_stars_stay_in_one_folder_and_ownerless_lines_unown(project):
    rules_import_codeowners(project_id=project.pk, text=(
        "*           @acme/default\n"
        "docs/*      @acme/docs\n"
        "/tests/integration/harness/vendored/\n"
    ))  # fmt: skip
    a_triaged_run(project, a_report("run-1", [
        a_scenario("DOC-001", "failed", file="docs/deep/x.md"),
        a_scenario("DOC-002", "failed", file="docs/x.md"),
        a_scenario("HAR-001", "failed", file="tests/integration/harness/vendored/a.ts"),
    ]))  # fmt: skip
    owners = dict(Defect.objects.values_list("scenario__key", "owner_team__name"))
    assert owners == {"DOC-001": "default", "DOC-002": "docs", "HAR-001": None}


def test_reimporting_codeowners_keeps_defects_routed_by_rules(project):
    text = "/tests/ @acme/qa\n"
    rules_import_codeowners(project_id=project.pk, text=text)
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed", file="tests/a.ts")]))
    rules_import_codeowners(project_id=project.pk, text=text)
    defect = Defect.objects.get()
    assert defect.routed_by == RoutingRule.objects.get()
