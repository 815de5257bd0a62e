"""Security settings a person never sees until they matter: headers, login throttling, CSRF."""

import pytest
from django.test import Client, override_settings

from tests.builders import a_project, a_user

pytestmark = pytest.mark.django_db


def test_pages_carry_a_content_security_policy_and_refuse_framing(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY"


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_logins_are_throttled_after_repeated_failures(client):
    a_user("dana")
    for _ in range(3):
        assert (
            client.post("/accounts/login/", {"username": "dana", "password": "no"}).status_code
            == 200
        )
    blocked = client.post("/accounts/login/", {"username": "dana", "password": "pw-for-tests"})
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.content.decode()
    assert blocked["Retry-After"]


def test_forms_need_a_csrf_token():
    project, _ = a_project()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(a_user("tara", member_of=project))
    assert strict.post("/p/dispatch/defects/bulk/", {"action": "acknowledge"}).status_code == 403


@override_settings(
    LOGIN_FAILURE_LIMIT=3,
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    },
)
def test_logins_stay_throttled_while_the_cache_is_down(client):
    a_user("dana")
    for _ in range(3):
        client.post("/accounts/login/", {"username": "dana", "password": "no"})

    blocked = client.post("/accounts/login/", {"username": "dana", "password": "pw-for-tests"})
    other = Client().post("/accounts/login/", {"username": "dana2", "password": "no"})

    assert blocked.status_code == 429
    assert other.status_code == 200  # another name is not locked out with it
