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
