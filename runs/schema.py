"""The run report as CI posts it.

This module is the one definition of the report: the webhook validates with it and the
published JSON Schema is generated from it. Field names are the suites' own (camelCase).
"""

import json
import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

SCHEMA_VERSION = 1
MAX_JSON_DEPTH = 24


def _storable_text(value: str) -> str:
    # PostgreSQL refuses NUL in text and jsonb, and lone surrogates cannot be encoded as UTF-8;
    # both must be a 400 here rather than a failed insert later.
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode (no lone surrogates)") from exc
    return value


def _storable_json(value: Any, depth: int = 0) -> Any:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        _storable_text(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number (NaN and Infinity are not JSON)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable_text(key)
            _storable_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _storable_json(item, depth + 1)
    return value


def _text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length),
        AfterValidator(_storable_text),
    ]


Identifier = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=r"\S"),
    AfterValidator(_storable_text),
]
ScenarioKey = Annotated[
    str,
    Field(min_length=1, max_length=300, pattern=r"\S"),
    AfterValidator(_storable_text),
]
ShortText = _text(255)
LongText = _text(200_000)
EntityIdValue = Annotated[str | int | float | bool | None, AfterValidator(_storable_json)]
HttpUrl = Annotated[
    str,
    Field(max_length=2000, pattern=r"^https?://[^\s]+$"),
    AfterValidator(_storable_text),
]


class ReportModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class EvidenceTable(ReportModel):
    """Rows the suite queried at the moment of failure, e.g. notifications of one bid window."""

    label: ShortText = ""
    rows: Annotated[
        list[dict[str, JsonValue]],
        Field(max_length=10_000),
        AfterValidator(_storable_json),
    ] = Field(default_factory=list)


class FailureReport(ReportModel):
    invariant_id: Identifier | None = Field(
        None, description="The invariant that broke, e.g. TENANT-004; missing is a harness gap."
    )
    organization_under_test: ShortText | None = None
    key_entity_ids: Annotated[dict[str, EntityIdValue], Field(max_length=200)] = Field(
        default_factory=dict
    )
    message: LongText = ""
    expected: LongText = ""
    observed: LongText = ""
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
        for key in value:
            _storable_text(key)
        return value


class ScenarioReport(ReportModel):
    scenario_id: ScenarioKey = Field(description="Stable scenario id, e.g. BID-001.")
    title: LongText = ""
    status: Literal["passed", "failed", "skipped", "error"]
    duration_ms: int | None = Field(None, ge=0, le=2**53)
    file: _text(2000) = ""
    attempt: int = Field(1, ge=1, le=10_000)
    failures: Annotated[list[FailureReport], Field(max_length=1000)] = Field(default_factory=list)


class RunInfo(ReportModel):
    id: Identifier = Field(description="CI's id for this run attempt, unique within the project.")
    suite: Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
    url: HttpUrl | None = None
    branch: ShortText = ""
    commit: _text(64) = ""
    trigger: _text(64) = ""
    started_at: AwareDatetime
    finished_at: AwareDatetime
    rerun_of: Identifier | None = None

    @field_validator("suite")
    @classmethod
    def _suite_is_storable(cls, value: str) -> str:
        return _storable_text(value)

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
    """Parse and validate a JSON report, raising ReportInvalid with every problem found."""
    try:
        report = RunReport.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise ReportInvalid(
                "malformed JSON",
                [{"field": "report", "problem": errors[0]["msg"]}],
            ) from None
        problems = [
            {"field": field_path(error["loc"]), "problem": _plain(error["msg"])}
            for error in errors[:MAX_PROBLEMS_LISTED]
        ]
        raise ReportInvalid("the report does not match the schema", problems) from None
    problems = _repeated_scenarios(report)
    if problems:
        raise ReportInvalid("the report does not match the schema", problems)
    return report


def _plain(message: str) -> str:
    return message.removeprefix("Value error, ")


def _repeated_scenarios(report: RunReport) -> list[dict[str, str]]:
    first_seen: dict[tuple[str, int], int] = {}
    problems = []
    for index, scenario in enumerate(report.scenarios):
        key = (scenario.scenario_id, scenario.attempt)
        if key in first_seen:
            problems.append(
                {
                    "field": f"scenarios[{index}].scenarioId",
                    "problem": (
                        f"{scenario.scenario_id} attempt {scenario.attempt} is already reported "
                        f"at scenarios[{first_seen[key]}]"
                    ),
                }
            )
        else:
            first_seen[key] = index
    return problems[:MAX_PROBLEMS_LISTED]
