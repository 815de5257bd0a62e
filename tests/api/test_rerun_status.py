"""POST /api/v1/reruns/<token>/status: CI reports how a rerun goes, with the rerun's token."""

import pytest

from reruns.models import Rerun

pytestmark = pytest.mark.django_db


def test_a_rerun_status_callback_needs_the_rerun_token(two_projects, client):
    response = client.post("/api/v1/reruns/not-the-token/status", b'{"state": "running"}',
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 404
    assert Rerun.objects.get().state == "requested"
