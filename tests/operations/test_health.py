"""/healthz: whether the database and the task broker answer."""

import pytest


@pytest.mark.django_db
def test_healthz_checks_the_database_and_the_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "problems": []}
