import os

import pytest

from defects.models import Defect, RunbookLink
from reruns.models import Rerun
from runs.models import FailureReason, Membership
from tests.builders import (
    a_failure,
    a_project,
    a_report,
    a_rule,
    a_scenario,
    a_team,
    a_triaged_run,
    a_user,
)


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with no login failures or other cached state of an earlier test."""
    from django.conf import settings
    from django.core.cache import cache

    if settings.CACHE_URL and settings.CACHE_URL == settings.REDIS_URL:
        pytest.fail("CACHE_URL must not be the broker's Redis database: tests empty the cache")
    cache.clear()


@pytest.fixture(autouse=True)
def no_kept_outbound_connections():
    """A connection kept by an earlier test's call never carries a later test's."""
    from operations.kept_connections import connections_close

    yield
    connections_close()


@pytest.fixture(autouse=True)
def follow_up_in_process(settings):
    """What follows a stored report runs as in the embedded mode: in the web process, once the
    response is sent. The tests that run it in a real worker say so
    (tests/api/test_report_follow_up.py)."""
    settings.REPORT_FOLLOW_UP_IN_PROCESS = True


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """The log audit reads what every other test made the processes write: it goes last,
    after any other plugin has put the tests in its order."""
    items.sort(key=lambda item: item.get_closest_marker("log_audit") is not None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    """A live server's work after a response finishes before the test's database is emptied."""
    from operations.after_response import wait_idle
    from operations.background_thread import background_drain

    if not wait_idle(timeout=60):
        pytest.fail("work after a response was still running a minute after the test")
    # And work handed to the background thread (a rerun sent from the request), which lets go
    # of its database connection too, so that nothing holds the test database at the end.
    if not background_drain(timeout=60):
        pytest.fail("background work was still running a minute after the test")
    yield


@pytest.fixture
def project_and_token(db):
    return a_project("dispatch", "Dispatch")


@pytest.fixture
def runs_url(live_server):
    def url(slug: str) -> str:
        return f"{live_server.url}/api/v1/projects/{slug}/runs"

    return url


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright; nothing is downloaded."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
    # between browser steps are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def log_in(page, live_server, username: str, password: str = "pw-for-tests") -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


# Two projects for the isolation matrices of the pages (runs) and of the API (api): mine,
# where I am an admin, and theirs, with a run, a defect, a rerun, a rule and a runbook link.
@pytest.fixture
def two_projects(client):
    mine, mine_token = a_project("mine", "Mine")
    theirs, _ = a_project("theirs", "Theirs")
    me = a_user("me", member_of=mine, role=Membership.Role.ADMIN)
    them = a_user("them", member_of=theirs)
    their_rule = a_rule(theirs, a_team(theirs, "their-team", them), scenario_prefix="SEC")
    their_link = RunbookLink.objects.create(project=theirs, kind="class", match="infra", anchor="a")
    secret = a_failure(invariantId="SECRET-001", message="their private failure")
    run = a_triaged_run(
        theirs, a_report("their-run", [a_scenario("SEC-001", "failed", failures=[secret])])
    )
    a_triaged_run(mine, a_report("my-run", [a_scenario("MY-001", "failed")]))
    their_rerun = Rerun.objects.create(
        project=theirs, source_run=run, scenario_keys=["SEC-001"], token="their-token",
        idempotency_key="their-key",
    )  # fmt: skip
    client.force_login(me)
    return {
        "client": client,
        "mine_token": mine_token,
        "theirs": {
            "slug": "theirs",
            "run_id": run.pk,
            "defect_id": Defect.objects.get(project=theirs).pk,
            "scenario": "SEC-001",
            "invariant": "SECRET-001",
            "rerun_id": their_rerun.pk,
            "rule_id": their_rule.pk,
            "link_id": their_link.pk,
            "user_id": them.pk,
            "reason_id": FailureReason.objects.get(project=theirs).pk,
        },
    }
