"""A runner's XML report, whatever the format, told by its root element and read once."""

from collections.abc import Callable
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element

from runs.collector import cyclic_gc_paused
from runs.dotnet import nunit3_report_of, nunit25_report_of, trx_report_of, xunit2_report_of
from runs.junit import junit_report_of, parse_xml
from runs.schema import ReportInvalid, RunReport
from runs.xml_cases import CaseReport

Reader = Callable[[Element, CaseReport], RunReport]
# The root element (namespace aside) -> the format's name in errors, and its reader.
READERS: dict[str, tuple[str, Reader]] = {
    "testsuites": ("JUnit", junit_report_of),
    "testsuite": ("JUnit", junit_report_of),
    "test-run": ("NUnit 3", nunit3_report_of),
    "test-results": ("NUnit 2.5", nunit25_report_of),
    "assemblies": ("xUnit v2", xunit2_report_of),
    "TestRun": ("TRX", trx_report_of),
}


def xml_report(
    xml: bytes,
    *,
    run: dict[str, Any],
    scenario_pattern: str = "",
    invariant_pattern: str = "",
    default_start: datetime | None = None,
    repeated_testcase: str = "retries",
) -> RunReport:
    """The RunReport of a JUnit, NUnit 3, NUnit 2.5, xUnit v2 or TRX file; `run` holds id,
    suite and optional branch, commit, url, part, totalParts and variant. `default_start` is
    used when the file has no time the run can use (the first post's start, so that the same
    file again is the same report). `repeated_testcase` is the project's reading of a test
    case listed twice in one suite: "retries" or "distinct"."""
    # Reading allocates an element and then report objects for every test case, none in a
    # reference cycle: the cyclic collector waits until it is done (see `cyclic_gc_paused`).
    with cyclic_gc_paused():
        return _report_of(
            parse_xml(xml),
            run=run,
            scenario_pattern=scenario_pattern,
            invariant_pattern=invariant_pattern,
            default_start=default_start,
            repeated_testcase=repeated_testcase,
        )


def _report_of(
    root: Element,
    *,
    run: dict[str, Any],
    scenario_pattern: str,
    invariant_pattern: str,
    default_start: datetime | None,
    repeated_testcase: str,
) -> RunReport:
    tag = root.tag.rpartition("}")[2]
    if tag not in READERS:
        raise ReportInvalid(
            "not a test report",
            [
                {
                    "field": "report",
                    "problem": f"the root element is <{tag[:100]}>; the root must be one of: "
                    + ", ".join(READERS),
                }
            ],
        )
    kind, reader = READERS[tag]
    return reader(
        root,
        CaseReport(
            run=run,
            scenario_pattern=scenario_pattern,
            invariant_pattern=invariant_pattern,
            default_start=default_start,
            kind=kind,
            repeated_testcase=repeated_testcase,
        ),
    )
