"""Sessions read from the cache every web process shares, the database keeping the record: a
page asks no query for its session, and a cache lost or flushed costs a query, not a sign-in.

Django's cached sessions give a page a 500 when the cache is down; here a read or write that
fails is a miss (the database answers), and a sign-out that could not remove the session's copy
is answered 503, for the person to try again."""

import logging
from typing import Any

from django.contrib.sessions.backends import cached_db
from django.core.cache.backends.base import BaseCache

logger = logging.getLogger(__name__)


class SessionCacheUnavailable(Exception):
    """A session's copy could not be removed from the cache."""


class _CacheOrMiss:
    """The shared cache as sessions use it: what fails to be read or written there is missing."""

    def __init__(self, cache: BaseCache) -> None:
        self._cache = cache

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self._cache.get(key, default)
        except Exception as exc:
            logger.warning("session cache unavailable for a read: %r", exc)
            return default

    def set(self, key: str, value: Any, timeout: int | None) -> None:
        try:
            self._cache.set(key, value, timeout)
        except Exception as exc:
            logger.warning("session cache unavailable for a write: %r", exc)

    def __contains__(self, key: str) -> bool:
        try:
            return key in self._cache
        except Exception:
            return False  # A new key is then checked in the database alone.

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cache, name)

    def delete(self, key: str) -> None:
        try:
            self._cache.delete(key)
        except Exception as exc:
            raise SessionCacheUnavailable("the session cache could not be reached") from exc


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache = _CacheOrMiss(self._cache)

    def delete(self, session_key: str | None = None) -> None:
        signing_out = session_key is None or session_key == self.session_key
        try:
            # The record goes first, then its copy: the other way round, a page read in between
            # would find no copy and put one back from the record.
            super().delete(session_key)
        except SessionCacheUnavailable as exc:
            if signing_out:
                raise  # Its copy would sign the old cookie in again once the cache is back.
            # Signing in (or a new password) replaced this key: its copy is of a session not
            # signed in, or signed with a password hash that no longer passes.
            logger.warning("a replaced session stays in the cache until it expires: %r", exc)
