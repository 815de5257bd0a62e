"""JUnit XML from any test runner, turned into the same RunReport a JSON post makes.

The XML may declare no DTD, so no entities or external references: a billion-laughs file is
refused, not expanded; the reader walks the elements itself, and `runs.xml_cases`
makes the report. Runners' own additions are read too: Maven Surefire's reruns (`flakyFailure`,
`rerunFailure`, ...) become attempts, and a `status` of disabled/notrun/skipped skips a test."""

from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element, ParseError, fromstring
from xml.parsers import expat

from runs.schema import ReportInvalid, RunReport
from runs.xml_cases import Attempt, CaseReport, Failure, named_values, seconds_of

# A testcase's status attribute that means it did not run, though it has no <skipped>.
NOT_RUN = {"disabled", "notrun", "not run", "skipped", "ignored"}
# Maven Surefire/Failsafe with rerunFailingTestsCount: failed runs before the pass a test
# finally had, and failed runs after the failure it reports.
FLAKY_TAGS = {"flakyFailure": False, "flakyError": True}
RERUN_TAGS = {"rerunFailure": False, "rerunError": True}


class _RootReached(Exception):
    """The prolog is over: past the root's start tag there can be no DTD."""


class _DtdFound(Exception):
    pass


def _refuse_dtd(*_: object) -> None:
    raise _DtdFound


def _stop_at_root(*_: object) -> None:
    raise _RootReached


def _prolog_has_dtd(xml: bytes) -> bool:
    """Whether the file declares a DTD (where entities and external references live), read
    by expat up to the root's start tag. Malformed input is left to the parse that follows,
    so that its error reads as ElementTree's."""
    scanner = expat.ParserCreate()
    scanner.StartDoctypeDeclHandler = _refuse_dtd
    scanner.EntityDeclHandler = _refuse_dtd
    scanner.StartElementHandler = _stop_at_root
    try:
        scanner.Parse(xml, True)
    except _DtdFound:
        return True
    except (_RootReached, expat.ExpatError, ValueError, LookupError):
        return False
    return False


def parse_xml(xml: bytes) -> Element:
    """The root element of a report, refusing DTDs, entities and external references.

    A DTD is refused where expat meets it, before the root; the document itself is then read
    by ElementTree's C parser, in a fifth of the time of defusedxml's, which hooks every
    element in Python. With no DTD nothing declares an entity or an external reference: all
    that is left to expand are XML's five predefined entities."""
    if _prolog_has_dtd(xml):
        raise ReportInvalid(
            "refused XML",
            [{"field": "report", "problem": "DTDs and entities are not accepted"}],
        )
    try:
        return fromstring(xml)  # noqa: S314 - no DTD, so nothing to expand or fetch (above)
    except (ParseError, ValueError, LookupError) as exc:
        # LookupError: an encoding in the XML declaration that Python does not know.
        raise ReportInvalid("malformed XML", [{"field": "report", "problem": str(exc)}]) from None


def _suites(root: Element) -> list[Element]:
    if root.tag == "testsuites":
        return root.findall("testsuite")
    if root.tag == "testsuite":
        return [root]
    raise ReportInvalid(
        "not JUnit XML",
        [{"field": "report", "problem": "the root must be testsuites or testsuite"}],
    )


def _cases(suite: Element) -> Iterator[Element]:
    """A suite's testcases, then those of the suites nested in it (PHPUnit, Jest), walked
    with a stack of our own: nesting deep enough to exhaust Python's recursion is refused
    by nobody else."""
    waiting = [suite]
    while waiting:
        current = waiting.pop()
        yield from current.iterfind("testcase")
        waiting.extend(reversed(current.findall("testsuite")))


def _rerun_attempt(child: Element, error: bool, **case: Any) -> Attempt:
    trace = child.find("stackTrace")
    detail = trace.text if trace is not None else child.text
    out = child.find("system-out")
    return Attempt(
        **case,
        rerun=True,
        seconds=seconds_of(child.get("time")),
        stdout=(out.text or "") if out is not None else "",
        failures=[Failure(child.get("message") or "", (detail or "").strip(), error)],
    )


def _without_namespace(root: Element) -> None:
    # A few writers put JUnit in an XML namespace; its elements mean the same without it.
    for elem in root.iter():
        if isinstance(elem.tag, str) and elem.tag.startswith("{"):
            elem.tag = elem.tag.rpartition("}")[2]


def _variant_of(root: Element, suite: Element) -> dict[str, str]:
    """The runner's own marker of what a suite ran under. Playwright writes its project
    (chromium, firefox, ...) as the suite's hostname; it is told from a machine's hostname by
    the `id` attribute it always writes on the root."""
    if root.tag == "testsuites" and "id" in root.attrib and suite.get("hostname"):
        return {"project": suite.get("hostname", "")}
    return {}


def junit_report_of(root: Element, report: CaseReport) -> RunReport:
    if root.tag.startswith("{"):
        _without_namespace(root)
    for suite in _suites(root):
        report.suite(timestamp=suite.get("timestamp"), seconds=suite.get("time"))
        report.enter_suite(
            suite.get("name") or suite.get("file") or "", variant=_variant_of(root, suite)
        )
        for case in _cases(suite):
            _case(case, report)
        _suite_errors(suite, report)
    return report.report()


def _suite_errors(suite: Element, report: CaseReport) -> None:
    """An error the runner put on the suite itself, outside any test case (Ant when a test
    class cannot even load): a result of its own, or the run would look green."""
    failures = [
        Failure(child.get("message") or "", child.text or "", child.tag == "error")
        for child in suite
        if child.tag in ("failure", "error")
    ]
    if failures:
        report.add(Attempt(name="(suite)", classname=suite.get("name") or "", failures=failures))


def _case(elem: Element, report: CaseReport) -> None:
    # Read straight from the element: one pass over its children, whatever they are.
    about = {
        "name": elem.get("name") or "",
        "classname": elem.get("classname") or "",
        "properties": named_values(elem.iter("property")),
        "file": elem.get("file") or "",
    }
    failures: list[Failure] = []
    skipped = (elem.get("status") or "").strip().lower() in NOT_RUN
    stdout = ""
    reruns: list[Element] = []
    for child in elem:
        tag = child.tag
        if tag in ("failure", "error"):
            failures.append(Failure(child.get("message") or "", child.text or "", tag == "error"))
        elif tag == "skipped":
            skipped = True
        elif tag == "system-out":
            stdout = child.text or ""
        elif tag in FLAKY_TAGS:
            report.add(_rerun_attempt(child, FLAKY_TAGS[tag], **about))
        elif tag in RERUN_TAGS:
            reruns.append(child)
    report.add(
        Attempt(
            **about,
            seconds=seconds_of(elem.get("time")),
            skipped=skipped,
            failures=failures,
            stdout=stdout,
        )
    )
    for child in reruns:
        report.add(_rerun_attempt(child, RERUN_TAGS[child.tag], **about))
