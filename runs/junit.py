"""JUnit XML from any test runner, turned into the same RunReport a JSON post makes.

The XML goes through defusedxml (no DTDs, entities or external references: a billion-laughs
file is refused, not expanded) and junitparser reads the tree. Scenario ids come from test
names with the project's pattern; invariant ids from a testcase property or the message."""

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from junitparser import Error, Failure, JUnitXml, JUnitXmlError, Skipped
from pydantic import ValidationError

from runs.schema import ReportInvalid, RunReport, field_path

# `BID-001`, `BID_001`, `test_BID_001_...`: an uppercase prefix, a dash or underscore, 3+ digits.
DEFAULT_ID_PATTERN = r"(?<![A-Za-z0-9])([A-Z][A-Z0-9]*)[-_](\d{3,})(?![0-9])"
INVARIANT_PROPERTY_NAMES = ("invariantId", "invariant_id", "invariant")
MAX_NAME = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern or DEFAULT_ID_PATTERN)
    except re.error:
        return re.compile(DEFAULT_ID_PATTERN)


def normalised_id(match: re.Match[str]) -> str:
    """`BID_001` -> `BID-001`: one spelling whatever the runner allowed in names."""
    if match.lastindex and match.lastindex >= 2:
        return f"{match.group(1).upper()}-{match.group(2)}"
    return match.group(0)


def _clean(text: str | None, limit: int) -> str:
    return _CONTROL.sub(" ", text or "").strip()[:limit]


def _head(text: str, lines: int = 5) -> str:
    return "\n".join([line for line in text.splitlines() if line.strip()][:lines])


SEVERITY = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
MAX_SECONDS = 7 * 24 * 3600


def _seconds(value: str | None) -> float:
    """A runner's time attribute; nonsense (nan, 1e400, negative, a week+) counts as 0."""
    try:
        seconds = float(value or 0)
    except ValueError:
        return 0.0
    return seconds if math.isfinite(seconds) and 0 <= seconds <= MAX_SECONDS else 0.0


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    if SEVERITY[other["status"]] > SEVERITY[into["status"]]:
        into["status"] = other["status"]
    into["durationMs"] += other["durationMs"]
    into.setdefault("failures", []).extend(other.get("failures", []))
    if not into["failures"]:
        del into["failures"]


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _properties(elem: Element) -> dict[str, str]:
    found = {}
    for prop in elem.iter("property"):
        name, value = prop.get("name"), prop.get("value")
        if name and value is not None:
            found[name] = value
    return found


def _parse(xml: bytes) -> JUnitXml:
    try:
        root = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        return JUnitXml.fromroot(root)
    except DefusedXmlException as exc:
        raise ReportInvalid(
            "refused XML",
            [
                {
                    "field": "report",
                    "problem": f"DTDs and entities are not accepted ({type(exc).__name__})",
                }
            ],
        ) from None
    except (ParseError, ValueError) as exc:
        raise ReportInvalid("malformed XML", [{"field": "report", "problem": str(exc)}]) from None
    except JUnitXmlError as exc:
        raise ReportInvalid(
            "not JUnit XML",
            [{"field": "report", "problem": f"{exc}: the root must be testsuites or testsuite"}],
        ) from None


def junit_report(
    xml: bytes,
    *,
    run: dict[str, Any],
    scenario_pattern: str = "",
    invariant_pattern: str = "",
    default_start: datetime | None = None,
) -> RunReport:
    """The RunReport of a JUnit file; `run` holds id, suite and optional branch, commit, url.

    `default_start` is used when the file has no timestamp (the first post's start, so that
    posting the same file again is the same report)."""
    document = _parse(xml)
    scenario_id = _compile(scenario_pattern)
    invariant_id = _compile(invariant_pattern)
    scenarios: list[dict[str, Any]] = []
    # A retried test repeats its full name: attempts 1, 2, ... of one scenario. Different
    # tests carrying one id (parametrised cases) are one result: the worst status wins.
    attempts: dict[tuple[str, str], int] = {}
    merged: dict[tuple[str, int], dict[str, Any]] = {}
    started: datetime | None = None
    finished: datetime | None = None
    total_seconds = 0.0
    for suite in document:
        suite_start = _timestamp(suite._elem.get("timestamp"))
        if suite_start and (started is None or suite_start < started):
            started = suite_start
        suite_seconds = _seconds(suite._elem.get("time"))
        if suite_start and suite_seconds:
            suite_end = suite_start + timedelta(seconds=suite_seconds)
            finished = suite_end if finished is None else max(finished, suite_end)
        for case in suite:
            name = _clean(case.name, 1000)
            classname = _clean(case.classname, 1000)
            full_name = f"{classname} > {name}" if classname and classname not in name else name
            match = scenario_id.search(name) or scenario_id.search(classname)
            key = normalised_id(match) if match else _clean(full_name, MAX_NAME) or "unnamed test"
            attempt = attempts[key, full_name] = attempts.get((key, full_name), 0) + 1
            seconds = _seconds(case._elem.get("time"))
            total_seconds += seconds
            entry: dict[str, Any] = {
                "scenarioId": key,
                "title": _clean(full_name, 2000),
                "status": "passed",
                "durationMs": int(seconds * 1000),
                "attempt": attempt,
                "file": _clean(case._elem.get("file") or classname, 2000),
            }
            results = list(case.result)
            properties = _properties(case._elem)
            failures = []
            for result in results:
                if isinstance(result, Skipped):
                    entry["status"] = "skipped"
                    continue
                if not isinstance(result, Failure | Error):
                    continue
                entry["status"] = "error" if isinstance(result, Error) else "failed"
                detail = (result.text or "")[:20_000]
                # The message, or else the first line the runner printed: a stack trace further
                # down names other tests and files, not the invariant that broke.
                message = (
                    _clean(result.message, 5000)
                    or _clean(" ".join(_head(detail, 2).splitlines()), 5000)
                    or _clean(" ".join(_head(case.system_out or "", 2).splitlines()), 5000)
                )
                invariant = next(
                    (properties[n] for n in INVARIANT_PROPERTY_NAMES if properties.get(n)), None
                )
                if invariant is None:
                    printed = _head(detail) or _head(case.system_out or "")
                    for candidate in invariant_id.finditer(f"{message}\n{printed}"):
                        if normalised_id(candidate) != key:
                            invariant = normalised_id(candidate)
                            break
                failures.append({"invariantId": invariant, "message": message, "observed": detail})
            if failures:
                entry["failures"] = failures
            same = merged.get((key, attempt))
            if same is None:
                merged[key, attempt] = entry
                scenarios.append(entry)
            else:
                _merge(same, entry)
    start = started or default_start or datetime.now(UTC)
    payload = {
        "run": {
            **{k: v for k, v in run.items() if v},
            "startedAt": start.isoformat(),
            # The suites' own span when they give it: tests running in parallel overlap.
            "finishedAt": (finished or start + timedelta(seconds=total_seconds)).isoformat(),
        },
        "scenarios": scenarios,
    }
    try:
        return RunReport.model_validate(payload)
    except ValidationError as exc:
        problems = [
            {"field": field_path(error["loc"]), "problem": error["msg"]}
            for error in exc.errors(include_url=False, include_input=False)[:50]
        ]
        raise ReportInvalid("the JUnit report does not make a valid run", problems) from None
