"""JUnit XML on the report endpoint: real runners' files, the query parameters, hostile XML."""

import time
from pathlib import Path

import pytest

from runs.models import InvariantFailure, Run, ScenarioResult
from tests.http import post

pytestmark = pytest.mark.django_db(transaction=True)
FIXTURES = Path(__file__).parent.parent / "fixtures" / "junit"
RUNNERS = ["vitest", "jest", "playwright", "pytest", "ctest"]


def junit_url(live_server, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{live_server.url}/api/v1/projects/dispatch/runs?{query}"


@pytest.mark.parametrize("runner", RUNNERS)
def test_junit_from_each_runner_is_stored_with_ids_from_test_names(live_server, token, runner):
    xml = (FIXTURES / f"{runner}.xml").read_bytes()
    answer = post(junit_url(live_server, runId=f"{runner}-1", suite="smoke", branch="main"),
                  xml, token=token, content_type="application/xml")  # fmt: skip

    assert answer.status == 201, answer.body
    run = Run.objects.get()
    statuses = dict(ScenarioResult.objects.filter(run=run).values_list("scenario__key", "status"))
    assert statuses["BID-001"] == "passed"
    assert statuses["BID-002"] == "failed"
    assert statuses["UI-009"] in ("failed", "error")
    assert statuses["SCH-003"] == "skipped"
    unnamed = [key for key in statuses if "helper" in key and "dates" in key]
    assert len(unnamed) == 1, statuses
    leak = InvariantFailure.objects.get(result__scenario__key="BID-002")
    assert leak.invariant.key == "TENANT-004"
    gap = InvariantFailure.objects.get(result__scenario__key="UI-009")
    assert gap.invariant is None and "Timeout" in gap.message
    assert answer.body["counts"]["diagnosticsGaps"] == 1
    assert run.branch == "main"


def test_reposting_the_same_junit_file_is_the_same_run(live_server, token):
    xml = (FIXTURES / "ctest.xml").read_bytes()
    url = junit_url(live_server, runId="ct-1", suite="smoke")
    first = post(url, xml, token=token, content_type="application/xml")
    again = post(url, xml, token=token, content_type="text/xml")
    assert (first.status, again.status) == (201, 200)
    assert first.body["id"] == again.body["id"]


def test_junit_needs_the_run_id_and_suite_as_query_parameters(live_server, token):
    answer = post(junit_url(live_server, suite="smoke"), (FIXTURES / "pytest.xml").read_bytes(),
                  token=token, content_type="application/xml")  # fmt: skip
    assert answer.status == 400
    assert answer.body["problems"][0]["field"] == "runId"
    assert Run.objects.count() == 0


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<testsuites><testsuite name="&lol3;"><testcase name="BID-001"/></testsuite></testsuites>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE t [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<testsuites><testsuite name="x"><testcase name="&secret;"/></testsuite></testsuites>"""
HUGE_ATTRIBUTE = (b'<testsuites><testsuite name="s"><testcase name="BID-001 ' + b"A" * 3_000_000
                  + b'"/></testsuite></testsuites>')  # fmt: skip


@pytest.mark.parametrize(
    ("xml", "error"),
    [
        (BILLION_LAUGHS, "refused XML"),
        (EXTERNAL_ENTITY, "refused XML"),
        (b"<testsuites><testsuite>", "malformed XML"),
        (b"<html><body>not junit</body></html>", "not a test report"),
    ],
)
def test_hostile_or_broken_xml_is_refused_quickly(live_server, token, xml, error):
    started = time.monotonic()
    answer = post(junit_url(live_server, runId="x", suite="smoke"), xml, token=token,
                  content_type="application/xml")  # fmt: skip
    assert answer.status == 400
    assert answer.body["error"] == error
    assert time.monotonic() - started < 5
    assert Run.objects.count() == 0


def test_a_huge_attribute_is_cut_to_a_name_not_stored_whole(live_server, token):
    answer = post(junit_url(live_server, runId="huge", suite="smoke"), HUGE_ATTRIBUTE,
                  token=token, content_type="application/xml")  # fmt: skip
    assert answer.status == 201
    assert ScenarioResult.objects.get().scenario.key == "BID-001"
