"""XML reports built to hurt: each is read in bounded work and answered, never a crash."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runs.schema import ReportInvalid
from runs.xml_reports import xml_report

RUN = {"id": "hostile", "suite": "full"}
JUNIT = Path(__file__).parent.parent / "fixtures" / "junit"


def test_deeply_nested_junit_suites_are_read_without_exhausting_the_stack():
    depth = 5000
    xml = ("<testsuites>" + "<testsuite>" * depth + '<testcase name="BID-001 deep"/>'
           + "</testsuite>" * depth + "</testsuites>").encode()  # fmt: skip
    report = xml_report(xml, run=RUN)
    assert [s.scenario_id for s in report.scenarios] == ["BID-001"]


def test_an_unknown_encoding_is_malformed_xml():
    with pytest.raises(ReportInvalid, match="malformed XML"):
        xml_report(b'<?xml version="1.0" encoding="bogus"?><testsuites/>', run=RUN)


@pytest.mark.parametrize(
    "xml",
    [
        b'<?xml version="1.0"?><!DOCTYPE testsuites><testsuites/>',
        b'<!DOCTYPE t SYSTEM "http://127.0.0.1:9/t.dtd"><testsuites/>',
        '<?xml version="1.0" encoding="utf-16"?>'
        '<!DOCTYPE t [<!ENTITY e "x">]><testsuites><testsuite name="&e;"/></testsuites>'.encode(
            "utf-16"
        ),
    ],
    ids=["bare doctype", "external dtd", "utf-16 with an entity"],
)
def test_any_dtd_is_refused_however_the_file_is_encoded(xml):
    with pytest.raises(ReportInvalid, match="refused XML"):
        xml_report(xml, run=RUN)


def test_an_entity_no_dtd_declared_is_malformed_xml():
    with pytest.raises(ReportInvalid, match="malformed XML") as refused:
        xml_report(b'<testsuites><testsuite name="&lol;"/></testsuites>', run=RUN)
    assert "undefined entity" in refused.value.problems[0]["problem"]


def test_xmls_own_entities_read_as_their_characters():
    name = b"BID-001 a &lt;b&gt; &amp; &quot;c&quot;"
    xml = (
        b'<testsuites><testsuite name="s"><testcase name="' + name + b'"/></testsuite></testsuites>'
    )
    report = xml_report(xml, run=RUN)
    assert report.scenarios[0].title == 'BID-001 a <b> & "c"'


def test_a_trx_duration_too_large_to_add_up_counts_as_no_time():
    hours = "9" * 400
    xml = (f'<TestRun><Results><UnitTestResult testName="BID-001 x" outcome="Passed" '
           f'duration="{hours}:00:00"/></Results></TestRun>').encode()  # fmt: skip
    report = xml_report(xml, run=RUN)
    assert report.scenarios[0].duration_ms == 0


def test_a_suite_dated_days_ahead_falls_back_to_the_time_of_the_post():
    ahead = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    xml = (f'<testsuite timestamp="{ahead}" time="5"><testcase name="BID-001 x" time="1"/>'
           "</testsuite>").encode()  # fmt: skip
    before = datetime.now(UTC)

    report = xml_report(xml, run=RUN)

    assert before <= report.run.started_at <= datetime.now(UTC)


def test_a_long_printed_output_is_read_once_per_attempt_not_once_per_failure():
    # 1000 failures over a million printed lines: the head of the output is enough.
    printed = "<system-out>" + "a\n" * 1_000_000 + "</system-out>"
    failures = "<failure/>" * 1000
    xml = f"<testsuite><testcase name='BID-001 noisy'>{printed}{failures}</testcase></testsuite>"
    report = xml_report(xml.encode(), run=RUN)
    assert len(report.scenarios[0].failures) == 1000
    # With no message of its own, a failure says the first two lines the test printed.
    assert report.scenarios[0].failures[0].message == "a a"


def test_more_failures_in_one_attempt_than_a_report_may_hold_are_refused_at_once():
    xml = ("<testsuite><testcase name='BID-001 x'>" + "<failure/>" * 1001
           + "</testcase></testsuite>").encode()  # fmt: skip
    with pytest.raises(ReportInvalid, match="too many failures"):
        xml_report(xml, run=RUN)


def test_junit_in_an_xml_namespace_reads_as_the_same_report():
    plain = (JUNIT / "vitest.xml").read_bytes()
    namespaced = plain.replace(b"<testsuites ", b'<testsuites xmlns="urn:example:junit" ', 1)
    assert namespaced != plain

    def outcomes(xml: bytes) -> list[tuple[str, str]]:
        report = xml_report(xml, run=RUN)
        return [(s.scenario_id, s.status) for s in report.scenarios]

    assert outcomes(namespaced) == outcomes(plain)
    assert len(outcomes(plain)) == 5


def test_a_suite_name_that_could_not_be_stored_in_a_variant_is_still_read():
    # A test with an id in two suites gets the suite into its variant; a comma there would
    # make the variant unreadable, so it becomes a space.
    case = b'<testcase name="BID-001 x"/>'
    xml = (b'<testsuites><testsuite name="a,b">' + case + b'</testsuite><testsuite name="c">'
           + case + b"</testsuite></testsuites>")  # fmt: skip
    report = xml_report(xml, run=RUN)
    assert [s.variant for s in report.scenarios] == [{"suite": "a b"}, {"suite": "c"}]


def test_cases_merged_early_are_read_again_as_they_were_once_a_name_turns_up_in_two_suites():
    # BID-001's two cases in suite A are one result at first (parametrised: the worst status);
    # then "BID-001 a" turns up in suite B too, and every case is decided again from scratch.
    xml = (b'<testsuites><testsuite name="A"><testcase name="BID-001 a"/>'
           b'<testcase name="BID-001 b"><failure message="TENANT-004 broke"/></testcase>'
           b'</testsuite><testsuite name="B"><testcase name="BID-001 a"/></testsuite>'
           b"</testsuites>")  # fmt: skip

    report = xml_report(xml, run=RUN)

    outcomes = sorted((s.scenario_id, str(s.variant), s.status) for s in report.scenarios)
    assert outcomes == [
        ("BID-001", "None", "failed"),
        ("BID-001", "{'suite': 'A'}", "passed"),
        ("BID-001", "{'suite': 'B'}", "passed"),
    ]
