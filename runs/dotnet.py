""".NET test reports, read into the same RunReport as JUnit XML.

NUnit 3 (`<test-run>`), NUnit 2.5 (`<test-results>`, also what Pester writes), xUnit.net v2
(`<assemblies>`) and Visual Studio's TRX (`<TestRun>`, as `dotnet test --logger trx` writes it).
Each reader walks its own XML and hands every test case to a `CaseReport`; outcomes become
passed, failed, error (the test could not run as meant) or skipped."""

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element

from runs.schema import RunReport
from runs.xml_cases import (
    Attempt,
    CaseReport,
    Failure,
    named_values,
    seconds_of,
    timestamp_of,
)

NUNIT_CONTAINERS = {"test-run", "test-results", "test-suite", "results"}
# NUnit 3: a Failed test whose label says it never ran as meant.
NUNIT3_ERROR_LABELS = {"error", "cancelled", "invalid"}
# Warning passed with warnings; anything else (Skipped, Inconclusive) neither passed nor failed.
NUNIT3_STATUS = {"passed": "passed", "warning": "passed", "failed": "failed"}
NUNIT2_STATUS = {
    "success": "passed",
    "failure": "failed",
    "error": "error",
    "cancelled": "error",
    "notrunnable": "error",
    "ignored": "skipped",
    "skipped": "skipped",
    "inconclusive": "skipped",
}
# Suites that group the cases of one test method; the class is the suite around them.
NUNIT2_METHOD_SUITES = {"ParameterizedTest", "Theory"}
XUNIT_STATUS = {"pass": "passed", "fail": "failed"}
# Visual Studio's TestOutcome; NotExecuted, Inconclusive, Pending, InProgress: skipped.
TRX_STATUS = {
    "passed": "passed",
    "passedbutrunaborted": "passed",
    "completed": "passed",
    "warning": "passed",
    "failed": "failed",
    "timeout": "failed",
    "error": "error",
    "aborted": "error",
    "notrunnable": "error",
    "disconnected": "error",
}
# A line xUnit's VSTest adapter writes per failing test: "[xUnit.net 00:00:00.39]   ...".
XUNIT_LINE = re.compile(r"\[xUnit\.net [\d:.]+\]")
# .NET TimeSpan, [d.]hh:mm:ss[.fffffff]; bounded, so no number is too large to add up.
TIMESPAN = re.compile(r"(?:(\d{1,8})\.)?(\d{1,8}):(\d{1,2}):(\d{1,2}(?:\.\d{1,9})?)")


def _text(elem: Element, path: str) -> str:
    found = elem.find(path)
    return (found.text or "") if found is not None else ""


def _attribute(elem: Element, path: str, name: str) -> str:
    found = elem.find(path)
    return (found.get(name) or "") if found is not None else ""


def _attempt(status: str, *, message: str, detail: str, fallback: str, **case: Any) -> Attempt:
    """A test case's attempt; a failure that says nothing at all is named by its outcome."""
    failures = []
    if status in ("failed", "error"):
        message = message.strip() or ("" if detail.strip() else fallback)
        failures.append(Failure(message, detail.strip(), status == "error"))
    return Attempt(**case, skipped=status == "skipped", failures=failures)


def _nunit_cases(
    root: Element, classname_of: Callable[[Element], str | None]
) -> Iterator[tuple[Element, str]]:
    """Every test-case in document order with the class its suites name; a loop, not
    recursion, so that a deeply nested file cannot exhaust the stack."""
    stack = [(root, "")]
    while stack:
        elem, classname = stack.pop()
        if elem.tag == "test-case":
            yield elem, classname
            continue
        if elem.tag == "test-suite":
            classname = classname_of(elem) or classname
        if elem.tag in NUNIT_CONTAINERS:
            stack.extend((child, classname) for child in reversed(elem))


def _nunit3_classname(suite: Element) -> str | None:
    if suite.get("classname"):
        return suite.get("classname")
    return suite.get("fullname") if suite.get("type") == "TestFixture" else None


def nunit3_report_of(root: Element, report: CaseReport) -> RunReport:
    report.suite(timestamp=root.get("start-time"), seconds=root.get("duration"))
    for suite in root.iterfind("test-suite"):
        report.suite(timestamp=suite.get("start-time"), seconds=suite.get("duration"))
    for case, classname in _nunit_cases(root, _nunit3_classname):
        label = case.get("label") or ""
        status = NUNIT3_STATUS.get((case.get("result") or "").lower(), "skipped")
        if status == "failed" and label.lower() in NUNIT3_ERROR_LABELS:
            status = "error"
        report.add(
            _attempt(
                status,
                message=_text(case, "failure/message"),
                detail=_text(case, "failure/stack-trace"),
                fallback=label or "failed",
                name=case.get("name") or "",
                classname=classname or case.get("classname") or "",
                seconds=seconds_of(case.get("duration") or case.get("time")),
                stdout=_text(case, "output"),
                properties=named_values(case.iterfind("properties/property")),
            )
        )
    for suite in _nunit3_fixture_failures(root):
        report.add(
            _attempt(
                "error",
                message=_text(suite, "failure/message"),
                detail=_text(suite, "failure/stack-trace"),
                fallback=suite.get("label") or "error",
                name=f"({suite.get('site')})",
                classname=suite.get("fullname") or suite.get("name") or "",
            )
        )
    return report.report()


def _nunit3_fixture_failures(root: Element) -> Iterator[Element]:
    """Suites whose own setup or teardown failed, outside any test case: a TearDown that threw
    after every test passed, or a SetUp that failed before a fixture had any case. (A failed
    one-time setup also fails each case, with site="Parent": those count as they are.)"""
    for suite in root.iter("test-suite"):
        if (suite.get("result") or "").lower() != "failed" or suite.find("failure") is None:
            continue
        site = suite.get("site") or ""
        if site == "TearDown" or (site == "SetUp" and next(suite.iter("test-case"), None) is None):
            yield suite


def _nunit2_classname(suite: Element) -> str | None:
    return None if suite.get("type") in NUNIT2_METHOD_SUITES else suite.get("name")


def _nunit2_status(case: Element) -> str:
    result = (case.get("result") or "").lower()
    if result in NUNIT2_STATUS:
        return NUNIT2_STATUS[result]
    # Older writers leave `result` out and say it with `executed` and `success`.
    if (case.get("executed") or "").lower() == "false":
        return "skipped"
    return "passed" if (case.get("success") or "true").lower() == "true" else "failed"


def nunit25_report_of(root: Element, report: CaseReport) -> RunReport:
    top = root.find("test-suite")
    report.suite(
        timestamp=f"{root.get('date')}T{root.get('time')}" if root.get("date") else None,
        seconds=top.get("time") if top is not None else None,
    )
    for case, classname in _nunit_cases(root, _nunit2_classname):
        report.add(
            _attempt(
                _nunit2_status(case),
                message=_text(case, "failure/message"),
                detail=_text(case, "failure/stack-trace"),
                fallback=case.get("result") or "failed",
                name=case.get("name") or "",
                classname=classname,
                seconds=seconds_of(case.get("time")),
                properties=named_values(case.iterfind("properties/property")),
            )
        )
    return report.report()


def _xunit_seconds(value: str | None) -> float:
    # xunit.console wrote times in the machine's culture before 2.1: "0,288".
    return seconds_of((value or "").replace(",", "."))


def xunit2_report_of(root: Element, report: CaseReport) -> RunReport:
    for assembly in root.iterfind("assembly"):
        date, time = assembly.get("run-date"), assembly.get("run-time")
        report.suite(
            timestamp=assembly.get("start-rtf") or (f"{date}T{time}" if date and time else None),
            seconds=str(_xunit_seconds(assembly.get("time"))),
        )
        for test in assembly.iterfind("collection/test"):
            report.add(
                _attempt(
                    XUNIT_STATUS.get((test.get("result") or "").lower(), "skipped"),
                    message=_text(test, "failure/message"),
                    detail=_text(test, "failure/stack-trace"),
                    fallback=_attribute(test, "failure", "exception-type") or "failed",
                    name=test.get("name") or "",
                    classname=test.get("type") or "",
                    seconds=_xunit_seconds(test.get("time")),
                    stdout=_text(test, "output"),
                    properties=named_values(test.iterfind("traits/trait")),
                )
            )
        # A fixture's cleanup that threw fails the run outside any test.
        for error in assembly.iterfind("errors/error"):
            report.add(
                _attempt(
                    "error",
                    message=_text(error, "failure/message"),
                    detail=_text(error, "failure/stack-trace"),
                    fallback=error.get("type") or "error",
                    name=error.get("type") or "error",
                    classname=error.get("name") or "",
                )
            )
    return report.report()


def _timespan_seconds(value: str | None) -> float:
    match = TIMESPAN.fullmatch((value or "").strip())
    if match is None:
        return 0.0
    days, hours, minutes, seconds = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return seconds_of(str(total))


def _span(start: datetime | None, finish: datetime | None) -> str | None:
    return str((finish - start).total_seconds()) if start and finish else None


def _trx_definitions(root: Element, ns: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Each test's class and properties by test id."""
    found = {}
    for unit in root.iterfind(f"{ns}TestDefinitions/{ns}UnitTest"):
        method = unit.find(f"{ns}TestMethod")
        # Older Visual Studio writes "Namespace.Class, Assembly, Version=...".
        classname = (method.get("className") or "") if method is not None else ""
        properties = {
            _text(prop, f"{ns}Key"): _text(prop, f"{ns}Value")
            for prop in unit.iterfind(f"{ns}Properties/{ns}Property")
            if _text(prop, f"{ns}Key")
        }
        found[unit.get("id") or ""] = (classname.split(",")[0].strip(), properties)
    return found


def trx_report_of(root: Element, report: CaseReport) -> RunReport:
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    times = root.find(f"{ns}Times")
    if times is not None:
        start = times.get("start")
        report.suite(
            timestamp=start, seconds=_span(timestamp_of(start), timestamp_of(times.get("finish")))
        )
    definitions = _trx_definitions(root, ns)
    # Data-driven and ordered tests nest their rows' results: the rows are the test cases.
    pending = list(reversed(root.findall(f"{ns}Results/*")))
    while pending:
        result = pending.pop()
        inner = result.findall(f"{ns}InnerResults/*")
        if inner:
            pending.extend(reversed(inner))
            continue
        seconds = _timespan_seconds(result.get("duration"))
        report.suite(timestamp=result.get("startTime"), seconds=str(seconds))
        outcome = result.get("outcome") or ""
        classname, properties = definitions.get(result.get("testId") or "", ("", {}))
        report.add(
            _attempt(
                TRX_STATUS.get(outcome.lower(), "skipped"),
                message=_text(result, f"{ns}Output/{ns}ErrorInfo/{ns}Message"),
                detail=_text(result, f"{ns}Output/{ns}ErrorInfo/{ns}StackTrace"),
                fallback=outcome,
                name=result.get("testName") or "",
                classname=classname,
                seconds=seconds,
                stdout=_text(result, f"{ns}Output/{ns}StdOut"),
                properties=properties,
            )
        )
    for text in _trx_run_errors(root, ns):
        report.add(_attempt("error", message=text, detail=text, fallback="error", name="test host"))
    return report.report()


def _trx_run_errors(root: Element, ns: str) -> list[str]:
    """What the test run itself reports as an error: the test host crashed or never started.
    xUnit's adapter also writes a line here per failing test; those are the tests' own."""
    errors = []
    for info in root.iterfind(f"{ns}ResultSummary/{ns}RunInfos/{ns}RunInfo"):
        text = _text(info, f"{ns}Text").strip()
        if (info.get("outcome") or "").lower() == "error" and text and not XUNIT_LINE.match(text):
            errors.append(text)
    return errors
