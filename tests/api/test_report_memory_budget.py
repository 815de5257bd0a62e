"""Each web process stores reports side by side only while their memory fits its budget."""

import threading
import time

import pytest

from operations.memory_budget import BudgetExhausted, memory_in_use, memory_reserved
from runs.models import Run
from tests.api.posting import post_json, post_xml
from tests.builders import a_report, a_scenario

MIB = 2**20


def test_work_that_does_not_fit_waits_until_the_work_before_it_is_done():
    order: list[str] = []
    first_holds = threading.Event()
    let_first_finish = threading.Event()

    def first() -> None:
        with memory_reserved(60, capacity=100, wait_seconds=5):
            order.append("first starts")
            first_holds.set()
            let_first_finish.wait(5)
            order.append("first ends")

    def second() -> None:
        with memory_reserved(60, capacity=100, wait_seconds=5):
            order.append("second starts")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    first_holds.wait(5)
    threads[1].start()
    time.sleep(0.2)
    assert order == ["first starts"]
    let_first_finish.set()
    for thread in threads:
        thread.join(5)

    assert order == ["first starts", "first ends", "second starts"]
    assert memory_in_use() == 0


def test_small_work_arriving_later_does_not_pass_large_work_waiting_first():
    order: list[str] = []
    holder_in = threading.Event()
    let_holder_go = threading.Event()

    def holder() -> None:
        with memory_reserved(60, capacity=100, wait_seconds=5):
            holder_in.set()
            let_holder_go.wait(5)

    def work(name: str, amount: int) -> None:
        with memory_reserved(amount, capacity=100, wait_seconds=5):
            order.append(name)

    first = threading.Thread(target=holder)
    first.start()
    holder_in.wait(5)
    large = threading.Thread(target=work, args=("large", 60))
    large.start()
    time.sleep(0.1)
    small = threading.Thread(target=work, args=("small", 10))
    small.start()
    time.sleep(0.2)
    # The small one would fit beside the holder, but the large one came first.
    assert order == []
    let_holder_go.set()
    for thread in (first, large, small):
        thread.join(5)

    assert order == ["large", "small"]
    assert memory_in_use() == 0


def test_work_larger_than_the_whole_budget_still_runs_alone():
    with memory_reserved(500, capacity=100, wait_seconds=0):
        assert memory_in_use() == 100
        with pytest.raises(BudgetExhausted), memory_reserved(1, capacity=100, wait_seconds=0):
            pass
    assert memory_in_use() == 0


@pytest.mark.django_db
def test_a_report_finding_no_room_in_time_is_answered_503_and_nothing_is_stored(
    client, token, settings
):
    settings.INGEST_MEMORY_BUDGET_MB = 1
    settings.INGEST_BUDGET_WAIT_SECONDS = 0
    report = a_report("gh-1", [a_scenario("BID-001", "failed")])

    with memory_reserved(MIB, capacity=MIB, wait_seconds=0):
        busy = post_json(client, token, report)

    assert busy.status_code == 503
    assert busy["Retry-After"] == "10"
    assert "busy storing other large reports" in busy.json()["error"]
    assert not Run.objects.exists()
    assert post_json(client, token, report).status_code == 201
    assert memory_in_use() == 0


@pytest.mark.django_db
def test_a_runners_xml_file_is_reckoned_at_its_own_share_per_byte(client, token, settings):
    settings.INGEST_MEMORY_BUDGET_MB = 1
    settings.INGEST_BUDGET_WAIT_SECONDS = 0
    settings.INGEST_MEMORY_PER_BYTE = 1
    settings.INGEST_XML_MEMORY_PER_BYTE = 10_000
    junit = b'<testsuites><testsuite name="s"><testcase name="BID-001 x"/></testsuite></testsuites>'

    with memory_reserved(MIB // 2, capacity=MIB, wait_seconds=0):
        as_json = post_json(client, token, a_report("gh-json", [a_scenario("BID-001", "passed")]))
        as_xml = post_xml(client, token, junit, "runId=gh-xml&suite=smoke")

    assert as_json.status_code == 201
    # 85 bytes at 10,000 each: more than the half of the budget left, less than all of it.
    assert as_xml.status_code == 503
    assert post_xml(client, token, junit, "runId=gh-xml&suite=smoke").status_code == 201
