import os

import pytest

from tests.builders import a_project


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with no login failures or other cached state of an earlier test."""
    from django.conf import settings
    from django.core.cache import cache

    if settings.CACHE_URL and settings.CACHE_URL == settings.REDIS_URL:
        pytest.fail("CACHE_URL must not be the broker's Redis database: tests empty the cache")
    cache.clear()


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
