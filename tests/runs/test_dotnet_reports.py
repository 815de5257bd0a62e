"""NUnit 3, NUnit 2.5 (Pester), xUnit v2 and TRX reports: files real tools wrote (see
tests/fixtures/dotnet/README.md for where they come from and what they hold), read into runs
and posted to the report endpoint."""

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runs.models import Run, ScenarioResult
from runs.schema import ReportInvalid, RunReport
from runs.xml_reports import xml_report

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent.parent / "fixtures" / "dotnet"
URL = "/api/v1/projects/dispatch/runs"


def read(name: str) -> RunReport:
    return xml_report((FIXTURES / name).read_bytes(), run={"id": "ci-1", "suite": "unit"})


def counts(report: RunReport) -> dict[str, int]:
    found = Counter(scenario.status for scenario in report.scenarios)
    return {status: found[status] for status in ("passed", "failed", "error", "skipped")}


def by_title(report: RunReport) -> dict:
    return {scenario.title: scenario for scenario in report.scenarios}


def post_xml(client, token: str, body: bytes, query: str = "runId=ci-1&suite=unit"):
    return client.post(f"{URL}?{query}", body, content_type="application/xml",
                       HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip


def test_an_nunit3_file_counts_what_nunit_wrote():
    report = read("nunit3.xml")

    assert counts(report) == {"passed": 3, "failed": 3, "error": 2, "skipped": 1}
    tests = by_title(report)
    crashed = tests["DotnetTests.XUnitTests.CalculatorTests > Exception_In_TargetTest"]
    assert crashed.status == "error"
    assert crashed.failures[0].message == (
        "System.DivideByZeroException : Attempted to divide by zero."
    )
    assert "Calculator.cs:line 9" in crashed.failures[0].observed
    timed_out = tests["DotnetTests.XUnitTests.CalculatorTests > Timeout_Test"]
    assert timed_out.status == "failed"
    assert timed_out.failures[0].message == "Test exceeded Timeout value 1ms."
    assert report.run.started_at == datetime(2021, 6, 28, 20, 23, 41, tzinfo=UTC)


def test_a_pester_nunit25_file_counts_what_pester_wrote():
    report = read("pester.xml")

    assert counts(report) == {"passed": 63, "failed": 9, "error": 0, "skipped": 4}
    failed = by_title(report)[
        "1.1 Management Plane - Password Management > 1.1.3 Ensure 'Master Key Passphrase' is set"
    ]
    assert failed.status == "failed"
    assert failed.failures[0].message == (
        "Expected: value was {}, but should not have been the same"
    )
    assert "Get-AsaAudit.Tests.ps1" in failed.failures[0].observed
    assert report.run.started_at == datetime(2022, 12, 15, 14, 8, 45, tzinfo=UTC)


def test_an_xunit2_file_counts_what_xunit_wrote():
    report = read("xunit2.xml")

    assert counts(report) == {"passed": 1, "failed": 1, "error": 0, "skipped": 1}
    failed = by_title(report)["MyProject.Tests.SampleFact.FailedTest"]
    assert failed.failures[0].message == "Assert.True() Failure"
    assert failed.file == "MyProject.Tests.SampleFact"
    assert report.run.started_at == datetime(2014, 12, 18, 14, 34, 32, tzinfo=UTC)
    assert (report.run.finished_at - report.run.started_at).total_seconds() == 0.288


def test_a_trx_file_counts_what_dotnet_test_wrote_with_each_tests_class():
    report = read("xunit-adapter.trx")

    assert counts(report) == {"passed": 5, "failed": 5, "error": 0, "skipped": 1}
    tests = by_title(report)
    crashed = tests["DotnetTests.XUnitTests.CalculatorTests.Exception_In_Test"]
    assert crashed.failures[0].message == "System.Exception : Test"
    # A display name without the class gets the class from the test's definition.
    renamed = tests["DotnetTests.XUnitTests.CalculatorTests > Should be even number(i: 3)"]
    assert renamed.status == "failed"
    assert tests["DotnetTests.XUnitTests.CalculatorTests.Skipped_Test"].status == "skipped"
    assert report.run.started_at == datetime(2021, 4, 20, 6, 31, 31, 986697, tzinfo=UTC)


NUNIT3 = b"""<test-run start-time="2026-11-20 02:00:00Z" duration="12">
  <test-suite type="TestFixture" fullname="Dispatch.BiddingTests" classname="Dispatch.BiddingTests">
    <test-case name="BID_001_resolve_picks_one_winner" result="Failed" duration="4">
      <failure><message>TENANT-004: notified a driver of org-b</message></failure>
    </test-case>
    <test-case name="BID_002_closes_window" result="Passed" duration="1"/>
  </test-suite>
</test-run>"""
NUNIT25 = b"""<test-results name="t" date="2026-11-20" time="02:00:00">
  <test-suite type="TestFixture" name="Bidding" time="5"><results>
    <test-case name="Dispatch.Bidding.BID_001_resolve_picks_one_winner" executed="True"
      result="Failure" success="False" time="4">
      <failure><message>TENANT-004: notified a driver of org-b</message></failure>
    </test-case>
    <test-case name="Dispatch.Bidding.BID_002_closes_window" executed="True" result="Success"
      success="True" time="1"/>
  </results></test-suite>
</test-results>"""
XUNIT2 = b"""<assemblies><assembly run-date="2026-11-20" run-time="02:00:00" time="5">
  <collection>
    <test name="BID-001: resolve picks one winner" type="Dispatch.BiddingTests" method="M"
      result="Fail" time="4">
      <failure><message>notified a driver of org-b</message></failure>
      <traits><trait name="invariantId" value="TENANT-004"/></traits>
    </test>
    <test name="BID-002: closes window" type="Dispatch.BiddingTests" method="N" result="Pass"
      time="1"/>
  </collection>
</assembly></assemblies>"""
TRX = b"""<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <Times start="2026-11-20T02:00:00+00:00" finish="2026-11-20T02:00:05+00:00"/>
  <Results>
    <UnitTestResult testId="a" testName="BID_001_resolve_picks_one_winner" outcome="Failed"
      duration="00:00:04.0000000">
      <Output><ErrorInfo><Message>TENANT-004: notified a driver of org-b</Message></ErrorInfo>
      </Output>
    </UnitTestResult>
    <UnitTestResult testId="b" testName="BID_002_closes_window" outcome="Passed"
      duration="00:00:01"/>
  </Results>
  <TestDefinitions>
    <UnitTest id="a"><TestMethod className="Dispatch.BiddingTests" name="M"/></UnitTest>
    <UnitTest id="b"><TestMethod className="Dispatch.BiddingTests" name="N"/></UnitTest>
  </TestDefinitions>
</TestRun>"""


@pytest.mark.parametrize(
    "xml", [NUNIT3, NUNIT25, XUNIT2, TRX], ids=["nunit3", "nunit25", "xunit2", "trx"]
)
def test_scenario_ids_come_from_test_names_and_invariants_from_messages_or_traits(xml):
    report = xml_report(xml, run={"id": "ci-1", "suite": "unit"})

    by_id = {scenario.scenario_id: scenario for scenario in report.scenarios}
    assert by_id["BID-001"].status == "failed"
    assert by_id["BID-001"].failures[0].invariant_id == "TENANT-004"
    assert by_id["BID-001"].duration_ms == 4000
    assert by_id["BID-002"].status == "passed"
    assert report.run.started_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_the_rows_of_a_data_driven_trx_test_are_its_test_cases():
    xml = TRX.replace(
        b'outcome="Passed"\n      duration="00:00:01"/>',
        b'outcome="Failed"><InnerResults>'
        b'<UnitTestResult testId="b" testName="closes window (row 1)" outcome="Passed"/>'
        b'<UnitTestResult testId="b" testName="closes window (row 2)" outcome="Timeout"/>'
        b"</InnerResults></UnitTestResult>",
    )
    report = xml_report(xml, run={"id": "ci-1", "suite": "unit"})

    rows = by_title(report)
    assert rows["Dispatch.BiddingTests > closes window (row 1)"].status == "passed"
    timed_out = rows["Dispatch.BiddingTests > closes window (row 2)"]
    assert (timed_out.status, timed_out.failures[0].message) == ("failed", "Timeout")
    assert counts(report) == {"passed": 1, "failed": 2, "error": 0, "skipped": 0}


def test_a_deeply_nested_nunit_file_is_read_without_running_out_of_stack():
    depth = 5000
    case = b'<test-case name="BID-001 deep" result="Passed"/>'
    xml = b"<test-run>" + b"<test-suite>" * depth + case + b"</test-suite>" * depth + b"</test-run>"

    report = xml_report(xml, run={"id": "ci-1", "suite": "unit"})

    assert [scenario.scenario_id for scenario in report.scenarios] == ["BID-001"]


def test_an_nunit3_file_posted_to_the_endpoint_is_stored_with_its_counts(client, project_and_token):
    _, token = project_and_token

    answer = post_xml(client, token, (FIXTURES / "nunit3.xml").read_bytes())

    assert answer.status_code == 201, answer.json()
    stored = answer.json()["counts"]
    assert [stored[status] for status in ("passed", "failed", "error", "skipped")] == [3, 3, 2, 1]
    assert stored["diagnosticsGaps"] == 5  # failures without an invariant id
    run = Run.objects.get()
    assert (run.passed_count, run.failed_count, run.error_count, run.skipped_count) == (3, 3, 2, 1)
    assert ScenarioResult.objects.filter(run=run).count() == 9


def test_a_trx_file_posted_again_is_the_same_run(client, project_and_token):
    _, token = project_and_token
    body = (FIXTURES / "xunit-adapter.trx").read_bytes()

    first, again = post_xml(client, token, body), post_xml(client, token, body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert Run.objects.get().failed_count == 5


def test_an_unknown_root_element_is_refused_naming_the_roots_it_could_be(client, project_and_token):
    _, token = project_and_token

    answer = post_xml(client, token, b"<html><body>not a report</body></html>")

    assert answer.status_code == 400
    assert answer.json()["error"] == "not a test report"
    problem = answer.json()["problems"][0]
    assert problem["field"] == "report"
    assert "<html>" in problem["problem"]
    for root in ("testsuites", "testsuite", "test-run", "test-results", "assemblies", "TestRun"):
        assert root in problem["problem"]
    assert Run.objects.count() == 0


def test_a_trx_file_with_a_dtd_is_refused_like_junit(client, project_and_token):
    _, token = project_and_token
    xml = b"""<?xml version="1.0"?>
<!DOCTYPE TestRun [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"><Results>
<UnitTestResult testId="a" testName="&lol1;" outcome="Passed"/></Results></TestRun>"""

    answer = post_xml(client, token, xml)

    assert answer.status_code == 400
    assert answer.json()["error"] == "refused XML"
    assert Run.objects.count() == 0
    with pytest.raises(ReportInvalid, match="refused XML"):
        xml_report(xml, run={"id": "ci-1", "suite": "unit"})


def test_a_fixture_teardown_that_threw_after_every_test_passed_fails_the_run():
    report = read("nunit3-teardown-failure.xml")

    # Read from the file: one case, Passed; the fixture's suite failed at site="TearDown".
    assert counts(report) == {"passed": 1, "failed": 0, "error": 1, "skipped": 0}
    teardown = by_title(report)["NUnitDisposeError.Test.NUnitDisposeErrorTest > (TearDown)"]
    assert teardown.status == "error"
    assert teardown.failures[0].message.startswith("TearDown : System.NullReferenceException")


def test_a_test_host_that_never_started_is_an_error_with_its_reason():
    report = read("trx-testhost-exited.trx")

    # Read from the file: no results; RunInfo outcome="Error" says the host exited.
    assert [(s.scenario_id, s.status) for s in report.scenarios] == [("test host", "error")]
    assert "The framework 'Microsoft.NETCore.App', version '3.1.0' was not found" in (
        report.scenarios[0].failures[0].observed
    )


def test_a_test_host_crash_mid_run_is_one_more_error_beside_the_aborted_test():
    report = read("trx-host-crash.trx")

    # Read from the file: 25 results (2 Passed, 2 Failed, 1 Aborted, 1 NotRunnable,
    # 19 NotExecuted) and one RunInfo Error: the host ended unexpectedly.
    assert counts(report) == {"passed": 2, "failed": 2, "error": 3, "skipped": 19}
    host = [s for s in report.scenarios if s.scenario_id == "test host"]
    assert host[0].failures[0].message == "El proceso del host de pruebas terminó inesperadamente."


def test_xunit_adapter_lines_about_failing_tests_are_not_taken_for_a_host_error():
    report = read("xunit-adapter.trx")

    assert "test host" not in [s.scenario_id for s in report.scenarios]


def test_a_junit_error_on_the_suite_itself_is_a_result_of_its_own():
    body = (FIXTURES.parent / "junit" / "junit-suite-error.xml").read_bytes()
    report = xml_report(body, run={"id": "ci-1", "suite": "unit"})

    # Read from the file: no testcase; <error type="java.lang.NoClassDefFoundError"> on the
    # suite gda.device.detector.XHDetectorTest.
    assert [(s.title, s.status) for s in report.scenarios] == [
        ("gda.device.detector.XHDetectorTest > (suite)", "error")
    ]
    assert report.scenarios[0].failures[0].message == "gda/device/detector/DAServer"
