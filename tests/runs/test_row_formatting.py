"""The long tables' rows are formatted by short cuts of Django's own filters and `reverse`:
each gives what the original gives, for hostile text too."""

from datetime import UTC, datetime

import pytest
from django.template.defaultfilters import date, truncatechars
from django.urls import reverse
from django.utils import timezone

from runs.links import invariant_urls, run_urls, scenario_urls
from runs.templatetags.table_rows import _day, _minute, truncated

HOSTILE_KEYS = [
    "BID-001",
    "tests/api/orders.spec.ts > refunds twice",
    "a b%20c?d=e&f#g",
    "../../etc/passwd",
    "//evil.example/x",
    "./dot",
    "ünïcødé ✓ 名前",
    "'\"<script>",
    "trailing/",
    "~:@!$&'()*+,;=",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_scenario_and_invariant_links_are_what_reverse_makes(key):
    assert scenario_urls("acme-1")(key) == reverse(
        "scenario", kwargs={"slug": "acme-1", "key": key}
    )
    assert invariant_urls("acme-1")(key) == reverse(
        "invariant", kwargs={"slug": "acme-1", "key": key}
    )


@pytest.mark.parametrize("run_id", [1, 7, 10, 123456789])
def test_run_links_are_what_reverse_makes(run_id):
    assert run_urls("acme-1")(run_id) == reverse(
        "run_detail", kwargs={"slug": "acme-1", "run_id": run_id}
    )


TEXTS = [
    "",
    "short",
    "x" * 60,
    "x" * 61,
    "a title long enough to be cut somewhere in the middle of it, surely",
    "café",  # composed
    "cafe\u0301",  # decomposed: normalized, as truncatechars does
    "e\u0301" * 70,  # combining marks do not count towards the length
    "名前" * 40,
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("length", [12, 60, 120])
def test_truncated_text_is_what_truncatechars_makes(text, length):
    assert truncated(text, length) == truncatechars(text, length)


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland", "America/St_Johns"])
def test_days_and_minutes_are_what_the_date_filter_makes_in_the_readers_zone(zone):
    instants = [
        datetime(2026, 11, 30, 11, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
        datetime(999, 1, 2, 3, 4, tzinfo=UTC),
    ]
    with timezone.override(zone):
        for instant in instants:
            local = timezone.template_localtime(instant)
            assert _day(instant) == date(local, "Y-m-d")
            assert _minute(instant) == date(local, "Y-m-d H:i")
