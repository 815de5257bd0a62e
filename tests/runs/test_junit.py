"""JUnit XML becomes a run report, one result per scenario id and attempt."""

import pytest

from runs.xml_reports import xml_report

pytestmark = pytest.mark.django_db


def test_parametrised_junit_cases_of_one_id_are_one_result_with_the_worst_status():
    xml = b"""<testsuite name="s" timestamp="2026-11-20T02:00:00" time="3">
      <testcase classname="t" name="test_BID_001[org-a]" time="1"><failure message="x"/>
      </testcase>
      <testcase classname="t" name="test_BID_001[org-b]" time="1"/>
      <testcase classname="t" name="test_BID_002" time="nan"/>
      <testcase classname="t" name="test_BID_003" time="1e400"/>
    </testsuite>"""
    report = xml_report(xml, run={"id": "j", "suite": "smoke"})
    by_id = {s.scenario_id: s for s in report.scenarios}
    assert by_id["BID-001"].status == "failed" and by_id["BID-001"].attempt == 1
    assert by_id["BID-001"].duration_ms == 2000
    assert by_id["BID-002"].duration_ms == 0 and by_id["BID-003"].duration_ms == 0
    assert (report.run.finished_at - report.run.started_at).total_seconds() == 3


def test_a_retried_junit_test_keeps_its_attempts():
    xml = b"""<testsuite name="s"><testcase name="BID-001 works"><failure message="x"/></testcase>
      <testcase name="BID-001 works"/></testsuite>"""
    report = xml_report(xml, run={"id": "j", "suite": "smoke"})
    assert [(s.attempt, s.status) for s in report.scenarios] == [(1, "failed"), (2, "passed")]


def test_a_test_name_cut_to_its_length_leaves_no_space_at_the_end_of_its_title_or_file():
    classname = "a" * 999 + " bcd"
    xml = f"""<testsuite name="s"><testcase classname="{classname}" name="BID-001 works"/>
      <testcase classname="t" name="{"b" * 999} cd"/></testsuite>""".encode()
    report = xml_report(xml, run={"id": "j", "suite": "smoke"})
    by_id = {s.scenario_id: s for s in report.scenarios}
    assert by_id["BID-001"].file == "a" * 999
    assert by_id[f"t > {'b' * 296}"].title == f"t > {'b' * 999}"
