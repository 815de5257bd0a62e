"""The rerun dispatcher an admin sets up: only what the operator offers."""

import pytest

from reruns.forms import DispatcherForm
from reruns.models import Dispatcher

pytestmark = pytest.mark.django_db


def test_an_admin_can_only_name_token_variables_the_operator_offers(settings):
    settings.RERUN_GITHUB_TOKEN_ENVS = ["ACME_GH_TOKEN"]
    fields = {"kind": "github", "github_repository": "acme/app", "github_workflow": "rerun.yml",
              "max_concurrent": 3, "timeout_minutes": 60}  # fmt: skip
    refused = DispatcherForm({**fields, "github_token_env": "SECRET_KEY"}, instance=Dispatcher())
    allowed = DispatcherForm({**fields, "github_token_env": "ACME_GH_TOKEN"}, instance=Dispatcher())
    assert not refused.is_valid() and "github_token_env" in refused.errors
    assert allowed.is_valid(), allowed.errors


@pytest.mark.parametrize(
    ("kind", "missing"),
    [("webhook", "webhook_url"), ("github", "github_repository"), ("command", "command_name")],
)
def test_a_dispatcher_without_what_its_kind_needs_is_refused(kind, missing):
    form = DispatcherForm(
        {"kind": kind, "max_concurrent": 3, "timeout_minutes": 60}, instance=Dispatcher()
    )

    assert not form.is_valid()
    assert "is needed for this kind of dispatcher" in form.errors[missing][0]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_settings_page_shows_only_the_chosen_kinds_fields(live_server, page):
    from runs.models import Membership
    from tests.builders import a_project, a_user
    from tests.conftest import log_in

    project, _ = a_project()
    a_user("root", member_of=project, role=Membership.Role.ADMIN)
    log_in(page, live_server, "root")
    page.goto(f"{live_server.url}/p/dispatch/settings/#dispatcher")

    page.select_option("#dispatcher-kind", "webhook")
    assert page.locator("#dispatcher-webhook_url").is_visible()
    assert not page.locator("#dispatcher-github_repository").is_visible()
    page.select_option("#dispatcher-kind", "github")
    assert page.locator("#dispatcher-github_repository").is_visible()
    assert not page.locator("#dispatcher-webhook_url").is_visible()
    # Every label focuses its own field: no id is used twice on the page.
    ids = page.eval_on_selector_all("[id]", "els => els.map(e => e.id)")
    assert len(ids) == len(set(ids))


def test_what_a_refusing_ci_said_is_shown_as_a_short_plain_excerpt():
    from reruns.dispatchers import CI_EXCERPT_CHARS, ci_excerpt

    page = (b"<html><head><title>403</title></head><body><h1>Forbidden</h1>\x00\x1b[31m"
            + b"internal-admin-panel " * 500 + b"</body></html>")  # fmt: skip

    excerpt = ci_excerpt(page)

    assert excerpt.startswith("403 Forbidden internal-admin-panel")
    assert len(excerpt) <= CI_EXCERPT_CHARS + 1 and excerpt.endswith("…")
    assert "<" not in excerpt and "\x00" not in excerpt and "\x1b" not in excerpt
