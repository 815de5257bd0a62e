"""A test is a scenario in a variant: browsers, projects and matrix cells are not retries."""

from pathlib import Path

import pytest

from runs.models import Project, Run, ScenarioFlake, ScenarioResult
from tests.api.posting import post_json, post_xml
from tests.builders import a_report, a_scenario

pytestmark = pytest.mark.django_db
JUNIT = Path(__file__).parent.parent / "fixtures" / "junit"


def post_file(client, token, name, query="runId=ci-1&suite=e2e"):
    return post_xml(client, token, (JUNIT / name).read_bytes(), query)


def results(run_id="ci-1"):
    return sorted(
        ScenarioResult.objects.filter(run__external_id=run_id).values_list(
            "scenario__key", "variant", "attempt", "status"
        )
    )


def test_playwright_projects_are_variants_of_each_test_not_retries(client, token):
    answer = post_file(client, token, "playwright-3-projects.xml")

    assert answer.status_code == 201, answer.content
    # Read from the file: 9 testcases, 3 projects; UI-009 throws on webkit only (an <error>),
    # SCH-003 is skipped in each project.
    assert answer.json()["counts"] | {"diagnosticsGaps": 0} == {
        "passed": 5, "failed": 0, "skipped": 3, "error": 1, "diagnosticsGaps": 0, "flaky": 0,
    }  # fmt: skip
    assert results() == [
        (key, f"project={browser}", 1, status)
        for key, statuses in (
            ("BID-001", ["passed"] * 3),
            ("SCH-003", ["skipped"] * 3),
            ("UI-009", ["passed", "passed", "error"]),
        )
        for browser, status in zip(["chromium", "firefox", "webkit"], statuses, strict=True)
    ]


def test_failing_in_one_browser_and_passing_in_another_is_no_flake(client, token):
    post_json(client, token, a_report("gh-1", [
        a_scenario("UI-009", "failed", variant={"browser": "webkit"}),
        a_scenario("UI-009", "passed", variant={"browser": "chromium"}),
    ]))  # fmt: skip
    assert not ScenarioFlake.objects.exists()
    assert Run.objects.get().flaky_count == 0

    post_json(client, token, a_report("gh-2", [
        a_scenario("UI-009", "passed", variant={"browser": "webkit"}),
    ]))  # fmt: skip

    flake = ScenarioFlake.objects.get()
    assert flake.variant == "browser=webkit" and flake.commit == "9f1c2e7"


def test_run_variant_applies_to_every_scenario_and_theirs_add_to_it(client, token):
    answer = post_json(client, token, a_report("gh-1", [
        a_scenario("BID-001", "passed"),
        a_scenario("BID-001", "failed", variant={"python": "3.13"}),
    ], variant={"os": "linux", "python": "3.12"}))  # fmt: skip

    assert answer.status_code == 201, answer.content
    assert results("gh-1") == [
        ("BID-001", "os=linux, python=3.12", 1, "passed"),
        ("BID-001", "os=linux, python=3.13", 1, "failed"),
    ]


def test_the_same_test_twice_in_one_variant_is_refused_naming_both_places(client, token):
    answer = post_json(client, token, a_report("gh-1", [
        a_scenario("BID-001", variant={"browser": "webkit"}),
        a_scenario("BID-001", variant={"browser": "webkit"}),
    ]))  # fmt: skip

    assert answer.status_code == 400
    assert answer.json()["problems"] == [
        {
            "field": "scenarios[1].scenarioId",
            "problem": "BID-001 in variant browser=webkit attempt 1 is already reported at "
            "scenarios[0]",
        }
    ]


@pytest.mark.parametrize(
    ("variant", "field"),
    [
        ({"a,b": "x"}, "scenarios[0].variant.a,b.[key]"),
        ({"browser": "web,kit"}, "scenarios[0].variant.browser"),
        ({"k": "x" * 201}, "scenarios[0].variant.k"),
        ({f"k{n}": "x" for n in range(17)}, "scenarios[0].variant"),
    ],
)
def test_a_variant_that_cannot_be_stored_is_refused_naming_the_field(client, token, variant, field):
    answer = post_json(client, token, a_report("gh-1", [a_scenario("BID-001", variant=variant)]))

    assert answer.status_code == 400
    assert field in [problem["field"] for problem in answer.json()["problems"]]


def test_jest_tests_of_one_name_in_two_files_are_two_tests(client, token):
    answer = post_file(client, token, "jest-same-names.xml")

    # Read from the file: two suites both named "board" (jest-junit names a suite after its
    # describe block), each with "board refreshes after a bid": failed in the first file,
    # passed in the second.
    assert answer.json()["counts"]["flaky"] == 0
    assert results() == [
        ("BID-001", "", 1, "passed"),
        ("SCH-003", "", 1, "passed"),
        ("board #1 > board refreshes after a bid", "", 1, "failed"),
        ("board #2 > board refreshes after a bid", "", 1, "passed"),
    ]


def test_a_testcase_repeated_in_one_suite_is_a_retry_unless_the_project_says_otherwise(
    client, token
):
    post_file(client, token, "jest-each-same-name.xml", "runId=ci-1&suite=unit")
    Project.objects.filter(slug="dispatch").update(repeated_testcase="distinct")
    post_file(client, token, "jest-each-same-name.xml", "runId=ci-2&suite=unit")

    # Read from the file: test.each without a placeholder writes " BID-007 rounds the bid"
    # twice (passed, then failed) and " formats the price" twice (passed both times).
    assert results("ci-1") == [
        ("BID-007", "", 1, "passed"),
        ("BID-007", "", 2, "failed"),
        ("formats the price", "", 1, "passed"),
        ("formats the price", "", 2, "passed"),
    ]
    assert results("ci-2") == [
        ("BID-007", "", 1, "failed"),
        ("formats the price", "", 1, "passed"),
        ("formats the price #2", "", 1, "passed"),
    ]


def test_playwright_shards_post_as_parts_make_one_run(client, token):
    first = post_file(client, token, "playwright-shard-1-of-2.xml",
                      "runId=pw-9&suite=e2e&part=shard-1&totalParts=2")  # fmt: skip
    second = post_file(client, token, "playwright-shard-2-of-2.xml",
                       "runId=pw-9&suite=e2e&part=shard-2&totalParts=2")  # fmt: skip

    assert first.status_code == second.status_code == 201
    summary = second.json()
    # Read from the files: shard 1 has BID-001 (passed) and BID-002 (failed); shard 2 has
    # SCH-003 and UI-009, both passed.
    assert summary["counts"]["passed"] == 3 and summary["counts"]["failed"] == 1
    assert summary["parts"] == {"received": 2, "expected": 2, "names": ["shard-1", "shard-2"]}
    assert [key for key, *_ in results("pw-9")] == ["BID-001", "BID-002", "SCH-003", "UI-009"]


def test_variant_query_values_reach_every_result_of_an_xml_report(client, token):
    answer = post_file(
        client, token, "jest.xml", "runId=ci-1&suite=unit&variant=os%3Dlinux&variant=node%3D20"
    )
    bad = post_file(client, token, "jest.xml", "runId=ci-2&suite=unit&variant=linux")

    assert answer.status_code == 201, answer.content
    assert {variant for _, variant, *_ in results()} == {"node=20, os=linux"}
    assert bad.status_code == 400 and bad.json()["problems"][0]["field"] == "variant"


def test_xml_variants_too_long_to_store_are_refused_naming_the_field(client, token):
    long = "&".join(f"variant=k{n}%3D{'x' * 190}" for n in range(3))
    answer = post_file(client, token, "jest.xml", f"runId=ci-1&suite=unit&{long}")

    assert answer.status_code == 400
    assert "run.variant" in [p["field"] for p in answer.json()["problems"]]


def test_suites_with_long_names_keep_their_tests_apart(client, token):
    suite = "packages/" + "very-long-folder/" * 20
    # The same two names in both suites: each is two tests, and the id gets the suite as variant.
    cases = "".join(
        f'<testsuite name="{suite}{n}.test.js"><testcase classname="board" name="refreshes 0"/>'
        f'<testcase classname="board" name="BID-001 rounds"/></testsuite>'
        for n in range(2)
    )
    answer = post_xml(client, token, f"<testsuites>{cases}</testsuites>".encode(),
                      "runId=ci-1&suite=unit")  # fmt: skip

    assert answer.status_code == 201, answer.content
    stored = results()
    assert len(stored) == 4 and answer.json()["counts"]["flaky"] == 0
    assert len({(key, variant) for key, variant, *_ in stored}) == 4
    assert all(len(key) <= 300 and len(variant) <= 500 for key, variant, *_ in stored)
