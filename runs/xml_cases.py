"""Test cases read from a runner's XML report become one RunReport, whatever the format.

Each reader (JUnit in `runs.junit`; the .NET formats beside it) walks its own XML and hands
every attempt of every test case to a `CaseReport`. This module decides what every format
shares: scenario ids from test names with the project's pattern, invariant ids from a
property or the message, retries as attempts, parametrised cases of one id as one result,
times a run can use, and the checks of the finished report."""

import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element

from pydantic import ValidationError

from runs.schema import (
    FUTURE_SLACK,
    MAX_VARIANT_TEXT,
    ReportInvalid,
    RunReport,
    field_path,
    variant_text,
)

# `BID-001`, `BID_001`, `test_BID_001_...`: an uppercase prefix, a dash or underscore, 3+ digits.
DEFAULT_ID_PATTERN = r"(?<![A-Za-z0-9])([A-Z][A-Z0-9]*)[-_](\d{3,})(?![0-9])"
INVARIANT_PROPERTY_NAMES = ("invariantId", "invariant_id", "invariant")
MAX_NAME = 300
MAX_SECONDS = 7 * 24 * 3600
# How much of a test's printed output is read for a message or an invariant id: the head is
# what names them, and reading the rest would let one small gzip'd file keep a worker busy.
PRINTED_HEAD_CHARS = 64_000
MAX_FAILURES_PER_ATTEMPT = 1000
# Times outside these years are a runner's placeholder (Go's zero time) or a broken clock.
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
LATEST = datetime(2999, 1, 1, tzinfo=UTC)
# A number this large is epoch milliseconds (older Playwright), not seconds.
EPOCH_MILLISECONDS_FROM = 10**11
SEVERITY = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def compile_id_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern or DEFAULT_ID_PATTERN)
    except re.error:
        return re.compile(DEFAULT_ID_PATTERN)


def normalised_id(match: re.Match[str]) -> str:
    """`BID_001` -> `BID-001`: one spelling whatever the runner allowed in names."""
    if match.lastindex and match.lastindex >= 2:
        prefix, number = match.group(1, 2)
        if prefix and number:
            return f"{prefix.upper()}-{number}"
    return match.group(0)


def clean_text(text: str | None, limit: int) -> str:
    if not text:
        return ""
    # Most names are printable throughout, which a C call tells faster than the pattern.
    if not text.isprintable():
        text = _CONTROL.sub(" ", text)
    return text.strip()[:limit]


def first_lines(text: str, lines: int = 5) -> str:
    """The first non-blank lines of the head of `text`."""
    found = []
    for line in text[:PRINTED_HEAD_CHARS].splitlines():
        if line.strip():
            found.append(line)
            if len(found) == lines:
                break
    return "\n".join(found)


def named_values(items: Iterable[Element]) -> dict[str, str]:
    """The `name`/`value` pairs of these elements (JUnit properties, xUnit traits, ...)."""
    found = {}
    for item in items:
        name, value = item.get("name"), item.get("value")
        if name and value is not None:
            found[name] = value
    return found


def seconds_of(value: str | None) -> float:
    """A runner's duration; nonsense (nan, 1e400, negative, a week+) counts as 0."""
    try:
        seconds = float(value or 0)
    except ValueError:
        return 0.0
    return seconds if math.isfinite(seconds) and 0 <= seconds <= MAX_SECONDS else 0.0


def timestamp_of(value: str | None) -> datetime | None:
    """A runner's start time, or None when the run cannot use it: missing, unparseable, Go's
    zero time, out of range. Epoch seconds and milliseconds are read as such."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        if text.isdigit():
            number = int(text)
            seconds = number / 1000 if number >= EPOCH_MILLISECONDS_FROM else number
            parsed = datetime.fromtimestamp(seconds, tz=UTC)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # A time ahead of now (a broken clock) is no start either: the run would refuse it.
    latest = min(LATEST, datetime.now(UTC) + FUTURE_SLACK)
    return parsed if EARLIEST <= parsed < latest else None


@dataclass
class Failure:
    message: str
    detail: str = ""
    error: bool = False  # an error (the test could not run as meant) rather than a failure


@dataclass
class Attempt:
    """One run of one test case, as a report states it."""

    name: str
    classname: str = ""
    seconds: float = 0.0
    skipped: bool = False
    failures: list[Failure] = field(default_factory=list)
    stdout: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    file: str = ""
    # The runner says this is a rerun of the case before it (Surefire's flakyFailure, ...):
    # an attempt however repeated test cases are read.
    rerun: bool = False


@dataclass(slots=True)
class _Case:
    """A test case as read, before the report decides which test it is."""

    suite: int
    label: str
    variant: dict[str, str]
    variant_text: str
    scenario_id: str | None
    full_name: str
    rerun: bool
    entry: dict[str, Any]


class CaseReport:
    """Collects the attempts of a report's test cases and makes the RunReport."""

    def __init__(
        self,
        *,
        run: dict[str, Any],
        scenario_pattern: str = "",
        invariant_pattern: str = "",
        default_start: datetime | None = None,
        kind: str = "JUnit",
        repeated_testcase: str = "retries",
    ) -> None:
        self.run = run
        self.kind = kind
        self.scenario_id = compile_id_pattern(scenario_pattern)
        self.invariant_id = compile_id_pattern(invariant_pattern)
        self.default_start = default_start
        self.repeats_are_retries = repeated_testcase != "distinct"
        self._cases: list[_Case] = []
        self._suite = 0
        self._suite_label = ""
        self._suite_variant: dict[str, str] = {}
        self._suite_variant_text = ""
        self._first_suite: dict[tuple[str, str, str], int] = {}
        self._in_two_suites: set[tuple[str, str, str]] = set()
        self._attempts_so_far: dict[tuple[str, str, str], int] = {}
        self._decided_by_key: dict[tuple[str, str, int], dict[str, Any]] = {}
        self._decided: list[dict[str, Any]] = []
        self._as_read: dict[int, dict[str, Any]] = {}
        self._any_variant = False
        self.started: datetime | None = None
        self.finished: datetime | None = None
        self.total_seconds = 0.0

    def suite(self, *, timestamp: str | None, seconds: str | None) -> None:
        """A suite's start and duration widen the run's span when the run can use them."""
        start = timestamp_of(timestamp)
        if start is None:
            return
        if self.started is None or start < self.started:
            self.started = start
        duration = seconds_of(seconds)
        if duration:
            end = start + timedelta(seconds=duration)
            self.finished = end if self.finished is None else max(self.finished, end)

    def enter_suite(self, label: str, variant: dict[str, str] | None = None) -> None:
        """The test cases added from now on belong to this suite, run under `variant` (a
        runner's own marker, such as Playwright's project)."""
        self._suite += 1
        self._suite_label = clean_text(label, 500)
        self._suite_variant = {
            key: clean_text(value, 200).replace(",", " ")
            for key, value in (variant or {}).items()
            if clean_text(value, 200)
        }
        self._suite_variant_text = variant_text(self._suite_variant)
        self._any_variant |= bool(self._suite_variant)

    def add(self, attempt: Attempt) -> None:
        name = clean_text(attempt.name, 1000)
        classname = clean_text(attempt.classname, 1000)
        full_name = f"{classname} > {name}" if classname and classname not in name else name
        match = self.scenario_id.search(name) or self.scenario_id.search(classname)
        scenario_id = normalised_id(match) if match else None
        key = scenario_id or full_name or "unnamed test"
        self.total_seconds += attempt.seconds
        entry: dict[str, Any] = {
            # Made of cleaned text: only trimmed (an empty name leaves "classname > ") and cut.
            "title": full_name.strip()[:2000],
            "status": "skipped" if attempt.skipped else "passed",
            "durationMs": int(attempt.seconds * 1000),
            # A name cut to its length may end in a space, which the file's own cut drops.
            "file": clean_text(attempt.file, 2000) if attempt.file else classname.strip(),
        }
        if attempt.failures:
            if len(attempt.failures) > MAX_FAILURES_PER_ATTEMPT:
                raise ReportInvalid(
                    "too many failures",
                    [{"field": "report", "problem": f"{key} reports {len(attempt.failures)} "
                      f"failures in one attempt; at most {MAX_FAILURES_PER_ATTEMPT}"}],
                )  # fmt: skip
            printed = first_lines(attempt.stdout)
            entry["failures"] = [self._failure(key, attempt, f, printed) for f in attempt.failures]
            entry["status"] = "error" if any(f.error for f in attempt.failures) else "failed"
        full_name = full_name or "unnamed test"
        self._cases.append(
            _Case(
                self._suite, self._suite_label, self._suite_variant, self._suite_variant_text,
                scenario_id, full_name, attempt.rerun, entry,
            )
        )  # fmt: skip
        # The common report lists each test in one suite and reads repeats as retries: its
        # scenarios are decided here as the cases come. Only when a test turns up in a second
        # suite does `_scenarios` decide them again, all at once.
        test = (scenario_id or full_name, self._suite_variant_text, full_name)
        if self._first_suite.setdefault(test, self._suite) != self._suite:
            self._in_two_suites.add(test)
        if self.repeats_are_retries and not self._in_two_suites:
            self._decide_as_it_comes(test, entry)

    def _decide_as_it_comes(self, test: tuple[str, str, str], entry: dict[str, Any]) -> None:
        key = test[0][:MAX_NAME]
        number = self._attempts_so_far[test] = self._attempts_so_far.get(test, 0) + 1
        entry["scenarioId"] = key
        entry["attempt"] = number
        if self._suite_variant:
            entry["variant"] = self._suite_variant
        same = self._decided_by_key.get((key, test[1], number))
        if same is None:
            self._decided_by_key[key, test[1], number] = entry
            self._decided.append(entry)
            return
        if id(same) not in self._as_read:
            # Merging changes an entry `_scenarios` may have to read again as it was.
            self._as_read[id(same)] = {**same, "failures": list(same.get("failures", []))}
        _merge(same, entry)

    def _scenarios(self) -> list[dict[str, Any]]:
        """Decide which test each case is: a scenario (its id, or its class and name) in a
        variant; repeats of one test are its attempts.

        The same class and name in two suites (in one variant) are two tests: the suite's
        name goes in front of the name (or, for an id, into the variant), only where a report
        has such a pair, so that a test keeps its key across runs. Suites of one name (jest-junit
        names a suite after its first describe block) are numbered in the order written.
        Repeats within one suite are retries, or distinct tests numbered #2, #3, ... when the
        project reads them so. Different cases carrying one id (parametrised cases) are one
        result: the worst status wins."""
        if self.repeats_are_retries and not self._in_two_suites:
            return self._decided
        for case in self._cases:
            if id(case.entry) in self._as_read:
                case.entry = self._as_read[id(case.entry)]
            if "failures" in case.entry and not case.entry["failures"]:
                del case.entry["failures"]
        in_two_suites = self._in_two_suites
        suites_named: dict[str, list[int]] = defaultdict(list)
        if in_two_suites:
            for case in self._cases:
                if case.suite not in suites_named[case.label]:
                    suites_named[case.label].append(case.suite)
        scenarios: list[dict[str, Any]] = []
        attempts: dict[tuple[str, str, str], int] = {}
        repeats: dict[tuple[str, str, str], int] = {}
        numbered: dict[tuple[str, str, str], str] = {}
        merged: dict[tuple[str, str, int], dict[str, Any]] = {}
        for case in self._cases:
            variant, text = case.variant, case.variant_text
            key = case.scenario_id or case.full_name
            if in_two_suites and (key, text, case.full_name) in in_two_suites:
                suite = case.label.replace(",", " ") or "suite"
                namesakes = suites_named[case.label]
                number = f" #{namesakes.index(case.suite) + 1}" if len(namesakes) > 1 else ""
                if case.scenario_id:
                    variant = {**variant, "suite": _shortened(suite, 200 - len(number)) + number}
                    text = variant_text(variant)
                else:
                    room = MAX_NAME - len(case.full_name) - len(number) - 3
                    key = f"{_shortened(suite, room)}{number} > {case.full_name}"
            test = (key, text, case.full_name)
            merge_into_last = False
            if not (case.rerun or self.repeats_are_retries):
                repeat = repeats[test] = repeats.get(test, 0) + 1
                if repeat > 1 and case.scenario_id:
                    merge_into_last = True  # one more case of the id, as parametrised ones
                elif repeat > 1:
                    numbered[test] = f"{key[: MAX_NAME - len(str(repeat)) - 2]} #{repeat}"
            key = numbered.get(test, key)[:MAX_NAME]
            counted = (key, text, case.full_name)
            if merge_into_last:
                number = attempts[counted]
            else:
                number = attempts[counted] = attempts.get(counted, 0) + 1
            entry = case.entry
            entry["scenarioId"] = key
            entry["attempt"] = number
            if variant:
                entry["variant"] = variant
            same = merged.get((key, text, number))
            if same is None:
                merged[key, text, number] = entry
                scenarios.append(entry)
            else:
                _merge(same, entry)
        return scenarios

    def _failure(
        self, key: str, attempt: Attempt, failure: Failure, printed_out: str
    ) -> dict[str, Any]:
        detail = failure.detail[:20_000]
        # The message, or else the first line the runner printed: a stack trace further down
        # names other tests and files, not the invariant that broke.
        message = (
            clean_text(failure.message, 5000)
            or clean_text(" ".join(first_lines(detail, 2).splitlines()), 5000)
            or clean_text(" ".join(printed_out.splitlines()[:2]), 5000)
        )
        invariant = next(
            (attempt.properties[n] for n in INVARIANT_PROPERTY_NAMES if attempt.properties.get(n)),
            None,
        )
        if invariant is None:
            printed = first_lines(detail) or printed_out
            for candidate in self.invariant_id.finditer(f"{message}\n{printed}"):
                if normalised_id(candidate) != key:
                    invariant = normalised_id(candidate)
                    break
        return {"invariantId": invariant, "message": message, "observed": detail}

    def report(self) -> RunReport:
        start = self.started or self.default_start or datetime.now(UTC)
        # The suites' own span when they give it: tests running in parallel overlap. Summed
        # durations are bounded by the latest time a run can have.
        seconds = min(self.total_seconds, (LATEST - start).total_seconds() - 1)
        finish = self.finished or start + timedelta(seconds=max(seconds, 0))
        payload = {
            "run": {
                **{k: v for k, v in self.run.items() if v},
                "startedAt": start.isoformat(),
                "finishedAt": max(finish, start).isoformat(),
            },
            "scenarios": self._scenarios(),
        }
        problem = f"the {self.kind} report does not make a valid run"
        try:
            report = RunReport.model_validate(payload)
        except ValidationError as exc:
            problems = [
                {"field": field_path(error["loc"]), "problem": error["msg"]}
                for error in exc.errors(include_url=False, include_input=False)[:50]
            ]
            raise ReportInvalid(problem, problems) from None
        # Each test is one (key, variant, attempt) by construction; only a variant's written
        # length is left to check, on the few scenarios that have one of their own.
        run_variant = report.run.variant
        too_long = (
            []
            if not self._any_variant
            else [
                {"field": f"scenarios[{index}].variant", "problem": "is too long when written out"}
                for index, scenario in enumerate(report.scenarios)
                if scenario.variant
                and len(variant_text({**run_variant, **scenario.variant})) > MAX_VARIANT_TEXT
            ]
        )
        if len(variant_text(run_variant)) > MAX_VARIANT_TEXT:
            too_long.insert(0, {"field": "run.variant", "problem": "is too long when written out"})
        if too_long:
            raise ReportInvalid(problem, too_long[:50])
        return report


def _shortened(text: str, room: int) -> str:
    """`text` in at most `room` characters (at least 24), still telling it apart from others
    with the same start: a monorepo's suite paths share long prefixes."""
    room = max(room, 24)
    if len(text) <= room:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"…{text[-(room - 10) :]}~{digest}"


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    if SEVERITY[other["status"]] > SEVERITY[into["status"]]:
        into["status"] = other["status"]
    into["durationMs"] += other["durationMs"]
    into.setdefault("failures", []).extend(other.get("failures", []))
    if not into["failures"]:
        del into["failures"]
