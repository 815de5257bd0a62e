"""Property-based fuzzing of the ingest endpoint: over 10,000 generated bodies per run.

Every answer is 2xx, or 4xx with a JSON error; never 5xx; and a refused body stores nothing."""

import json
import logging

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runs.models import InvariantFailure, Run, ScenarioResult
from tests.builders import a_project

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]
URL = "/api/v1/projects/dispatch/runs"
FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)  # fmt: skip

# Characters that have broken ingest paths elsewhere: NUL, controls, bidi marks, emoji,
# escapes, quotes, markup.
NASTY = st.sampled_from(["\x00", "\x1f", "\u202e", "\ud7ff", "😀", "\\", '"', "<script>",
                         "\n", "'", "%s", "{{", "\u0000x", "é", "\t"])  # fmt: skip
TEXT = st.one_of(st.text(max_size=40), st.lists(NASTY, max_size=8).map("".join),
                 st.text(max_size=5).map(lambda s: s * 20000))  # fmt: skip
NUMBER = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just(10**400),
)
JSON = st.recursive(
    st.none() | st.booleans() | NUMBER | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=20,
)
ID = st.one_of(st.from_regex(r"[A-Z]{2,5}-[0-9]{3}", fullmatch=True), TEXT)
STAMP = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.just("2026-11-20T02:00:00Z"),
    TEXT,
)


def maybe(strategy):
    """The value, null, or left out."""
    return st.one_of(strategy, st.just(None), st.just("__absent__"))


failure = st.fixed_dictionaries(
    {},
    optional={
        "invariantId": maybe(ID), "organizationUnderTest": maybe(TEXT),
        "keyEntityIds": st.dictionaries(TEXT, JSON, max_size=3), "message": maybe(TEXT),
        "expected": JSON, "observed": JSON, "artifacts": st.lists(TEXT, max_size=3),
        "evidence": st.lists(st.fixed_dictionaries({"label": TEXT, "rows": st.lists(
            st.dictionaries(TEXT, JSON, max_size=4), max_size=3)}), max_size=2),
    },
)  # fmt: skip
scenario = st.fixed_dictionaries(
    {"scenarioId": ID, "status": st.one_of(st.sampled_from(["passed", "failed", "skipped",
                                                             "error"]), TEXT)},
    optional={"title": TEXT, "durationMs": NUMBER, "file": TEXT, "attempt": NUMBER,
              "failures": st.lists(failure, max_size=2)},
)  # fmt: skip
report = st.fixed_dictionaries(
    {
        "run": st.fixed_dictionaries(
            {"id": ID, "suite": st.one_of(st.sampled_from(["smoke", "full"]), TEXT),
             "startedAt": STAMP, "finishedAt": STAMP},
            optional={"url": st.one_of(st.just("https://ci.example.test/1"), TEXT),
                      "branch": TEXT, "commit": TEXT, "rerunOf": maybe(ID)},
        ),
        "scenarios": st.lists(scenario, max_size=4),
    },
    optional={"schemaVersion": st.one_of(st.just(1), NUMBER)},
)  # fmt: skip


def _drop_absent(value):
    if isinstance(value, dict):
        return {k: _drop_absent(v) for k, v in value.items() if v != "__absent__"}
    if isinstance(value, list):
        return [_drop_absent(v) for v in value]
    return value


def counts() -> tuple[int, int, int]:
    return Run.objects.count(), ScenarioResult.objects.count(), InvariantFailure.objects.count()


@pytest.fixture(autouse=True)
def refusals_not_kept_in_the_log():
    """Thousands of refused bodies per test: each 4xx warning holds its request and body, and
    the log capture would keep them all until the test ends (gigabytes). Errors still log."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture
def client_with_token(db):
    _, token = a_project()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def check(client: Client, body: bytes, content_type: str = "application/json") -> None:
    before = counts()
    response = client.post(URL, body, content_type=content_type)
    assert response.status_code < 500, (response.status_code, body[:300])
    if response.status_code >= 400:
        assert "error" in response.json(), body[:300]
        assert counts() == before, body[:300]
    else:
        assert Run.objects.filter(pk=response.json()["id"]).exists()


@settings(FUZZ, max_examples=4500)
@given(data=report)
def test_generated_reports_are_stored_or_refused_cleanly(client_with_token, data):
    check(client_with_token, json.dumps(_drop_absent(data), allow_nan=False).encode())


@settings(FUZZ, max_examples=2500)
@given(data=JSON)
def test_any_json_value_is_refused_cleanly(client_with_token, data):
    check(client_with_token, json.dumps(data).encode())


@settings(FUZZ, max_examples=2000)
@given(body=st.binary(max_size=300))
def test_any_bytes_are_refused_cleanly(client_with_token, body):
    check(client_with_token, body)


@settings(FUZZ, max_examples=600)
@given(depth=st.integers(min_value=1, max_value=3000), inner=JSON)
def test_deep_nesting_is_refused_or_stored_never_a_crash(client_with_token, depth, inner):
    nested = "[" * depth + json.dumps(inner) + "]" * depth
    body = ('{"run": {"id": "deep", "suite": "s", "startedAt": "2026-11-20T02:00:00Z", '
            '"finishedAt": "2026-11-20T02:01:00Z"}, "scenarios": [{"scenarioId": "BID-001", '
            '"status": "failed", "failures": [{"evidence": [{"rows": [{"x": ' + nested +
            '}]}]}]}]}')  # fmt: skip
    check(client_with_token, body.encode())


@settings(FUZZ, max_examples=500)
@given(first=TEXT, second=TEXT)
def test_duplicate_keys_are_read_one_way_and_never_crash(client_with_token, first, second):
    body = ('{"run": {"id": ' + json.dumps(first) + ', "id": ' + json.dumps(second) +
            ', "suite": "smoke", "suite": "full", "startedAt": "2026-11-20T02:00:00Z", '
            '"finishedAt": "2026-11-20T02:01:00Z"}, "scenarios": []}')  # fmt: skip
    check(client_with_token, body.encode())
