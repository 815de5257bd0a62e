"""Sessions come from the cache every web process shares, the database keeping the record:
no query for a session, sign-out ends it everywhere, and a cache that is down costs neither a
sign-in nor a page."""

import signal
import subprocess

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from tests.builders import a_project, a_user
from tests.http import free_port
from tests.workers import wait_for

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
LOGOUT = "/accounts/logout/"


def signed_in(username: str = "dana") -> Client:
    project = a_project()[0]
    a_user(username, member_of=project)
    client = Client()
    answer = client.post(LOGIN, {"username": username, "password": "pw-for-tests"})
    assert answer.status_code == 302, answer.content
    return client


def signs_in(cookie: str) -> bool:
    """Whether a browser presenting this session cookie is let in (else sent to sign in)."""
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
    page = replay.get("/")
    assert page.status_code == 200 or page.get("Location", "").startswith(LOGIN), page
    return page.status_code == 200


def test_a_signed_in_page_asks_the_database_nothing_about_its_session():
    assert settings.CACHE_URL, "the tests run with the shared cache production has"
    client = signed_in()

    with CaptureQueriesContext(connection) as queries:
        page = client.get("/")

    assert page.status_code == 200 and "Dispatch" in page.content.decode()
    asked = [query["sql"] for query in queries.captured_queries]
    assert asked and not [sql for sql in asked if "django_session" in sql], asked


def test_signing_out_ends_the_session_for_its_old_cookie():
    client = signed_in()
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert signs_in(cookie)

    assert client.post(LOGOUT).status_code == 302

    assert not signs_in(cookie)


def cache_at(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


def test_with_the_cache_down_people_sign_in_and_read_pages_and_sign_out_is_refused_plainly(
    caplog,
):
    with override_settings(CACHES=cache_at(free_port()), SESSION_ENGINE="operations.sessions"):
        project = a_project()[0]
        a_user("dana", member_of=project)
        client = Client()
        # A session from before signing in, whose key signing in replaces: its copy in the
        # cache cannot be removed, and need not be.
        anonymous = client.session
        anonymous["seen"] = True
        anonymous.save()
        signing_in = client.post(LOGIN, {"username": "dana", "password": "pw-for-tests"})
        assert signing_in.status_code == 302, signing_in.content
        assert client.cookies[settings.SESSION_COOKIE_NAME].value != anonymous.session_key
        caplog.clear()
        assert client.get("/").status_code == 200
        # One call to the cache a page, not one a use: a cache that hangs costs one timeout.
        failed = [r for r in caplog.records if r.name == "operations.sessions"]
        assert len(failed) == 1, [r.getMessage() for r in failed]

        answer = client.post(LOGOUT)

        # Its copy might come back with the cache: the person is told to try again, and stays
        # signed in (the browser keeps its cookie) until it works.
        assert answer.status_code == 503, answer.content
        assert answer["Retry-After"]
        assert "session cache is unavailable" in answer.content.decode()
        assert settings.SESSION_COOKIE_NAME not in answer.cookies
        assert client.post(LOGOUT).status_code == 503
        assert client.get("/").status_code == 200


@pytest.mark.fault
def test_a_sign_out_refused_while_the_cache_hangs_ends_the_session_once_it_is_back():
    """While the cache hangs (its data kept), a sign-out is refused and the person stays
    signed in; once it answers again, the sign-out goes through and the old cookie is out."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    probe = redis.Redis(port=port, socket_timeout=1)
    try:
        # Its own server, not another that had the port: that one would have exited.
        assert wait_for(lambda: _answers(probe) and server.poll() is None, 10), "no Redis"
        with override_settings(CACHES=cache_at(port), SESSION_ENGINE="operations.sessions"):
            client = signed_in()
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
            assert signs_in(cookie)
            server.send_signal(signal.SIGSTOP)
            try:
                assert client.post(LOGOUT).status_code == 503
                assert client.post(LOGOUT).status_code == 503
            finally:
                server.send_signal(signal.SIGCONT)
            assert client.get("/").status_code == 200

            assert client.post(LOGOUT).status_code == 302

            assert not signs_in(cookie)
    finally:
        probe.close()
        server.send_signal(signal.SIGCONT)
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
