"""The cyclic collector is paused while reports are read, on any number of threads at once,
and is on again once none is."""

import gc
import sys
import threading

import pytest

from runs.collector import cyclic_gc_paused


@pytest.fixture
def threads_switch_often():
    # Threads handed over after every few instructions: overlapping pauses in every order.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def test_overlapping_pauses_on_many_threads_leave_the_collector_on(threads_switch_often):
    assert gc.isenabled()
    paused_inside = []

    def read_reports():
        for _ in range(20_000):
            with cyclic_gc_paused():
                paused_inside.append(not gc.isenabled())

    workers = [threading.Thread(target=read_reports) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert gc.isenabled()
    assert all(paused_inside)


def test_a_pause_inside_a_pause_leaves_it_to_the_outer_one():
    with cyclic_gc_paused():
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_turned_off_before_stays_off():
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
