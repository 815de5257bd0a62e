"""A failure's reason: one cause reads the same wherever and whenever it struck."""

from runs.reasons import NO_MESSAGE, failure_reason


def test_a_failures_own_entity_ids_become_their_names():
    reason = failure_reason(
        "driver drv-a-2 booked twice for slot SLOT-9",
        entity_ids={"driverId": "drv-a-2", "slotId": "SLOT-9"},
    )
    assert reason == "driver <driverId> booked twice for slot <slotId>"


def test_the_longer_of_two_overlapping_ids_is_named_first():
    reason = failure_reason(
        "asg-311 moved before asg-31", entity_ids={"first": "asg-31", "second": "asg-311"}
    )
    assert reason == "<second> moved before <first>"


def test_an_id_inside_a_longer_word_is_left_alone():
    reason = failure_reason("tenant org-ab saw rows of org-a", entity_ids={"orgId": "org-a"})
    assert reason == "tenant org-ab saw rows of <orgId>"


def test_ids_the_message_does_not_hold_change_nothing():
    plain = failure_reason("notification reached another org")
    assert plain == "notification reached another org"
    assert failure_reason(plain, entity_ids={"orgId": "org-a", "bidId": "b-77"}) == plain


def test_one_cause_at_two_moments_reads_the_same():
    first = failure_reason(
        "timed out after 5000 ms waiting for https://api.test/orders/9f1c at 2026-11-20T02:00:01Z"
    )
    second = failure_reason(
        "timed out after 7213 ms waiting for https://api.test/orders/77aa at 2026-11-21T03:10:44Z"
    )
    assert first == second == "timed out after <n> ms waiting for <url> at <time>"


def test_a_failure_without_words_says_so():
    assert failure_reason("", observed="  \n") == NO_MESSAGE


def test_an_entity_name_is_written_as_the_report_gave_it_backslashes_and_all():
    reason = failure_reason("driver zz lost slot yy", entity_ids={"a\\q": "zz", "\\g<0>x": "yy"})
    assert reason == "driver <a\\q> lost slot <\\g<0>x>"
