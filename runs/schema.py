"""The run report as CI posts it.

This module is the one definition of the report: the webhook validates with it and the
published JSON Schema is generated from it. Field names are the suites' own (camelCase).
"""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from runs.collector import cyclic_gc_paused

SCHEMA_VERSION = 1
# NUL written as a JSON escape, not preceded by an escaped backslash (`\\u0000` is harmless).
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _storable_json(value: Any) -> Any:
    """Refuse free-form JSON that PostgreSQL's jsonb cannot hold: NUL, NaN and Infinity.

    One C-speed encode per value instead of a Python walk over every cell.
    """
    try:
        text = json.dumps(value, allow_nan=False)
    except ValueError:
        raise ValueError("must not contain NaN or Infinity (they are not JSON numbers)") from None
    if "\\u0000" in text and _NUL_ESCAPE.search(text):
        raise ValueError("must not contain NUL (\\u0000) characters")
    return value


# Patterns run inside pydantic-core, so refusing NUL costs no Python call per string.
NO_NUL = r"^[^\x00]*$"
# Ids become links and command lines: no control characters (newlines included) at all.
NO_NUL_NOT_BLANK = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
PATTERN_PROBLEMS = {
    NO_CONTROL: "must not contain control characters (such as newlines)",
    NO_NUL: "must not contain NUL (\\u0000) characters",
    NO_NUL_NOT_BLANK: "must not be blank or contain control characters (such as newlines)",
}


def _text(max_length: int) -> Any:
    return Annotated[str, Field(max_length=max_length, pattern=NO_NUL)]


def _identifier(max_length: int) -> Any:
    return Annotated[str, Field(min_length=1, max_length=max_length, pattern=NO_NUL_NOT_BLANK)]


_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|\Z)")


def _no_dot_segments(value: str) -> str:
    # "a/../b" would turn into another page's address once a browser normalises the link.
    if _DOT_SEGMENT.search(value):
        raise ValueError("must not contain . or .. path segments")
    return value


Identifier = Annotated[_identifier(200), AfterValidator(_no_dot_segments)]
ScenarioKey = Annotated[_identifier(300), AfterValidator(_no_dot_segments)]
ShortText = _text(255)
LongText = _text(200_000)
# Entity ids are searchable one by one, so each value must fit the search column.
EntityIdValue = (
    Annotated[str, Field(max_length=255, pattern=NO_NUL)]
    | Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
    | float
    | bool
    | None
)
EntityIdName = Annotated[str, Field(min_length=1, max_length=255, pattern=NO_NUL)]
HttpUrl = Annotated[
    str,
    Field(max_length=2000, pattern=r"^https?://[^\s\x00]+$", description="http(s) link"),
]


EARLIEST_YEAR, LATEST_YEAR = 1970, 2999
FUTURE_SLACK = timedelta(days=1)


def _utc_instant(value: datetime) -> datetime:
    # Stored in UTC, so the same instant written with another offset is the same content;
    # years outside a sane range would be stored but could not be read back.
    try:
        instant = value.astimezone(UTC)
    except OverflowError:
        instant = None
    if instant is None or not EARLIEST_YEAR <= instant.year <= LATEST_YEAR:
        raise ValueError(f"must be a time between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return instant


class ReportModel(BaseModel):
    # No model validator here: one that runs before a model makes pydantic-core build every
    # scenario as Python objects before validating it, a fifth of a large report's parse.
    # `report_parse` reads a `null` member as absent instead (see `_nulls_dropped`).
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class EvidenceTable(ReportModel):
    """Rows the suite queried at the moment of failure, e.g. notifications of one bid window."""

    label: ShortText = ""
    rows: Annotated[
        list[dict[str, Any]],
        Field(max_length=10_000),
        AfterValidator(_storable_json),
    ] = Field(default_factory=list)


class FailureReport(ReportModel):
    invariant_id: (
        Annotated[str, Field(max_length=200, pattern=NO_CONTROL), AfterValidator(_no_dot_segments)]
        | None
    ) = Field(
        None, description="The invariant that broke, e.g. TENANT-004; missing is a harness gap."
    )
    organization_under_test: ShortText | None = Field(
        None, description="The organization the scenario acted as, e.g. org-a."
    )
    key_entity_ids: Annotated[dict[EntityIdName, EntityIdValue], Field(max_length=200)] = Field(
        default_factory=dict
    )
    message: LongText = Field("", description="What went wrong, in a sentence.")
    expected: LongText = Field("", description="Text, or any JSON value shown as JSON.")
    observed: LongText = Field("", description="Text, or any JSON value shown as JSON.")
    evidence: Annotated[list[EvidenceTable], Field(max_length=200)] = Field(default_factory=list)
    artifacts: Annotated[list[_text(2000)], Field(max_length=1000)] = Field(default_factory=list)

    @field_validator("expected", "observed", mode="before")
    @classmethod
    def _structured_values_become_text(cls, value: Any) -> Any:
        # Suites often put the compared objects here; keep them readable rather than refuse them.
        if value is None:
            return ""
        if isinstance(value, dict | list | int | float | bool):
            return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
        return value

    @field_validator("key_entity_ids")
    @classmethod
    def _keys_are_storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _storable_json(value)

    @property
    def invariant_key(self) -> str | None:
        """The invariant id, or None when the suite left it out or blank (a harness gap)."""
        return (self.invariant_id or "").strip() or None


# A variant is the configuration a test ran under: {"browser": "webkit", "os": "linux"}.
# Stored as one text (`browser=webkit, os=linux`), so "," and "=" cannot be part of a name
# and "," not of a value.
VariantKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f\x7f,=]*[^\s\x00-\x1f\x7f,=][^\x00-\x1f\x7f,=]*$",
    ),
]
VariantValue = Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f,]*$")]
Variant = Annotated[dict[VariantKey, VariantValue], Field(max_length=16)]
MAX_VARIANT_TEXT = 500


def variant_text(variant: dict[str, str]) -> str:
    """The stored form of a variant: `key=value` pairs in key order; empty values dropped."""
    return ", ".join(f"{key}={value}" for key, value in sorted(variant.items()) if value)


def variant_of(text: str) -> dict[str, str]:
    """The variant back from its stored form."""
    pairs = (pair.partition("=") for pair in text.split(", ") if pair)
    return {key: value for key, _, value in pairs}


class ScenarioReport(ReportModel):
    scenario_id: ScenarioKey = Field(description="Stable scenario id, e.g. BID-001.")
    title: LongText = ""
    status: Literal["passed", "failed", "skipped", "error"]
    duration_ms: int | None = Field(None, ge=0, le=2**53, description="Milliseconds.")
    file: _text(2000) = ""
    attempt: int = Field(1, ge=1, le=10_000, description="1, or 2+ for a retry in the same run.")
    # None rather than an empty dict by default: a factory call per scenario is measurable
    # at 10,000 scenarios.
    variant: Variant | None = Field(
        None,
        description='What this test ran under, over run.variant, e.g. {"browser": "webkit"}.',
    )
    failures: Annotated[list[FailureReport], Field(max_length=1000)] = Field(default_factory=list)


class RunInfo(ReportModel):
    id: Identifier = Field(description="CI's id for this run attempt, unique within the project.")
    suite: _identifier(100)
    url: HttpUrl | None = None
    branch: ShortText = ""
    commit: _text(64) = ""
    trigger: _text(64) = ""
    started_at: Annotated[AwareDatetime, AfterValidator(_utc_instant)] = Field(
        description="ISO 8601 with a time zone."
    )
    finished_at: Annotated[AwareDatetime, AfterValidator(_utc_instant)] = Field(
        description="ISO 8601 with a time zone; not before startedAt."
    )
    rerun_of: Identifier | None = Field(None, description="The run id this run reruns.")
    rerun_token: Identifier | None = Field(
        None, description="The token Triage passed to CI when it asked for this rerun."
    )
    part: Annotated[str, Field(min_length=1, max_length=500, pattern=NO_NUL_NOT_BLANK)] | None = (
        Field(
            None,
            description="This report is one part of the run (a shard, a browser, a file): "
            "parts of one run id are merged.",
        )
    )
    total_parts: int | None = Field(
        None, ge=1, le=10_000, description="How many parts the run will have, when known."
    )
    variant: Variant = Field(
        default_factory=dict,
        description='What the whole report ran under, e.g. {"os": "linux", "python": "3.12"}.',
    )

    @field_validator("started_at")
    @classmethod
    def _not_in_the_future(cls, value: datetime) -> datetime:
        # A run that has not happened yet would show as the latest run for days to come; a
        # day of slack covers clocks that are off and time zones written wrong.
        if value > datetime.now(UTC) + FUTURE_SLACK:
            raise ValueError("must not be more than a day in the future")
        return value

    @field_validator("finished_at")
    @classmethod
    def _finished_after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        started = info.data.get("started_at")
        if started is not None and value < started:
            raise ValueError("must not be earlier than run.startedAt")
        return value


class RunReport(ReportModel):
    schema_version: int = Field(
        SCHEMA_VERSION, description="Version of this report format; this server reads 1."
    )
    run: RunInfo
    scenarios: Annotated[list[ScenarioReport], Field(max_length=100_000)] = Field(
        default_factory=list
    )

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(
                f"version {value} is not supported; this server reads version {SCHEMA_VERSION}"
            )
        return value


class ReportInvalid(Exception):
    """The report was refused; `problems` names each field and what is wrong with it."""

    def __init__(self, error: str, problems: list[dict[str, str]]) -> None:
        super().__init__(error)
        self.error = error
        self.problems = problems


MAX_PROBLEMS_LISTED = 50


def field_path(location: tuple[int | str, ...]) -> str:
    """('scenarios', 3, 'status') -> 'scenarios[3].status', the way people write it."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "report"


def report_parse(body: bytes | str) -> RunReport:
    """Parse and validate a JSON report, raising ReportInvalid with every problem found.

    A `null` member of the report, its run, a scenario, a failure or an evidence table means
    the member is absent: suites write null for a value they do not have. The report is
    validated as it came first, and again without those members only when a null was
    refused. Where a member is written both ways (`durationMs` and `duration_ms`), the
    camelCase one is read, also when it is a null the field takes."""
    try:
        with cyclic_gc_paused():
            report = RunReport.model_validate_json(body)
    except ValidationError as exc:
        report = _report_without_nulls(body, exc)
    problems = scenario_problems(report)
    if problems:
        raise ReportInvalid("the report does not match the schema", problems)
    return report


def _report_without_nulls(body: bytes | str, refused: ValidationError) -> RunReport:
    with cyclic_gc_paused():
        errors = refused.errors(include_url=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise ReportInvalid(
                "malformed JSON",
                [{"field": "report", "problem": errors[0]["msg"]}],
            ) from None
        if any(error.get("input", ...) is None for error in errors):
            try:
                # Written back as JSON and validated from that, so every value reads as it did.
                return RunReport.model_validate_json(json.dumps(_nulls_dropped(json.loads(body))))
            except ValidationError as exc:
                errors = exc.errors(include_url=False)
            except (ValueError, RecursionError):
                pass  # JSON pydantic read but Python's json does not: its problems as found
    problems = [
        {"field": field_path(error["loc"]), "problem": _problem(error)}
        for error in errors[:MAX_PROBLEMS_LISTED]
    ]
    raise ReportInvalid("the report does not match the schema", problems) from None


# The members of a report's objects that hold the objects of its models (a list of them, or
# one), each with those of its own: the run, the scenarios, their failures and evidence tables.
_MODELS_WITHIN = {"run": {}, "scenarios": {"failures": {"evidence": {}}}}


def _nulls_dropped(value: Any, models_within: dict[str, Any] = _MODELS_WITHIN) -> Any:
    """`value`, the JSON of one of the report's models, without its null members, and so on
    for the models within it. Free-form values (key entity ids, evidence rows, variants) keep
    their nulls."""
    if not isinstance(value, dict):
        return value
    kept = {name: member for name, member in value.items() if member is not None}
    for name, within in models_within.items():
        member = kept.get(name)
        if isinstance(member, list):
            kept[name] = [_nulls_dropped(item, within) for item in member]
        elif member is not None:
            kept[name] = _nulls_dropped(member, within)
    return kept


def _problem(error: Any) -> str:
    if error["type"] == "string_pattern_mismatch":
        known = PATTERN_PROBLEMS.get(error.get("ctx", {}).get("pattern"))
        if known:
            return known
    return error["msg"].removeprefix("Value error, ")


def scenario_variant(report: RunReport, scenario: ScenarioReport) -> str:
    """The stored variant of one scenario: its own over the run's."""
    if not scenario.variant:
        return variant_text(report.run.variant)
    return variant_text({**report.run.variant, **scenario.variant})


def scenario_variants(report: RunReport) -> list[str]:
    """The stored variant of every scenario, in order: the run's written out once for all the
    scenarios that have none of their own."""
    run_variant = variant_text(report.run.variant)
    return [
        scenario_variant(report, scenario) if scenario.variant else run_variant
        for scenario in report.scenarios
    ]


def scenario_problems(report: RunReport) -> list[dict[str, str]]:
    """What the schema alone cannot see: a variant too long once written out, a test
    reported twice in one variant and attempt."""
    first_seen: dict[tuple[str, str, int], int] = {}
    problems = []
    run_variant = variant_text(report.run.variant)
    if len(run_variant) > MAX_VARIANT_TEXT:
        problems.append({"field": "run.variant", "problem": "is too long when written out"})
    for index, (scenario, variant) in enumerate(
        zip(report.scenarios, scenario_variants(report), strict=True)
    ):
        if len(variant) > MAX_VARIANT_TEXT:
            problems.append(
                {
                    "field": f"scenarios[{index}].variant",
                    "problem": f"is longer than {MAX_VARIANT_TEXT} characters when written out",
                }
            )
            continue
        key = (scenario.scenario_id, variant, scenario.attempt)
        if key in first_seen:
            within = f" in variant {variant}" if variant else ""
            problems.append(
                {
                    "field": f"scenarios[{index}].scenarioId",
                    "problem": (
                        f"{scenario.scenario_id}{within} attempt {scenario.attempt} is already "
                        f"reported at scenarios[{first_seen[key]}]"
                    ),
                }
            )
        else:
            first_seen[key] = index
    return problems[:MAX_PROBLEMS_LISTED]
