"""Sessions read from the cache every web process shares, the database keeping the record: a
page asks no query for its session, and a cache lost or flushed costs a query, not a sign-in.

Django's cached sessions give a page a 500 when the cache is down; here a read or write that
fails is a miss (the database answers; a cache that hangs costs a page's session one timeout:
the copy a failed read would put back is not tried), and a sign-out is refused with 503 until
the session's copy can be removed."""

import logging
from typing import Any

from django.contrib.sessions.backends import cached_db
from django.core.cache.backends.base import BaseCache

logger = logging.getLogger(__name__)


class SessionCacheUnavailable(Exception):
    """A session's copy could not be removed from the cache."""


class _CacheOrMiss:
    """The shared cache as a request's session uses it: what fails to be read or written there
    is missing. After a failed read the request reads no more there, and a load does not put
    back what it read from the database; a session saved afterwards is still written."""

    def __init__(self, cache: BaseCache) -> None:
        self._cache = cache
        self._failed = False
        self.loading = False

    def _failure(self, doing: str, exc: Exception) -> None:
        self._failed = True
        logger.warning("session cache unavailable for a %s: %r", doing, exc)

    def get(self, key: str, default: Any = None) -> Any:
        if self._failed:
            return default
        try:
            return self._cache.get(key, default)
        except Exception as exc:
            self._failure("read", exc)
            return default

    def set(self, key: str, value: Any, timeout: int | None) -> None:
        if self._failed and self.loading:
            return
        try:
            self._cache.set(key, value, timeout)
        except Exception as exc:
            self._failure("write", exc)

    def __contains__(self, key: str) -> bool:
        if self._failed:
            return False  # A new key is then checked in the database alone.
        try:
            return key in self._cache
        except Exception as exc:
            self._failure("read", exc)
            return False

    def delete(self, key: str) -> None:
        # Tried even after a failure: a copy left behind is the one thing that must be known.
        try:
            self._cache.delete(key)
        except Exception as exc:
            raise SessionCacheUnavailable("the session cache could not be reached") from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cache, name)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache = _CacheOrMiss(self._cache)

    def load(self) -> dict[str, Any]:
        self._cache.loading = True
        try:
            return super().load()
        finally:
            self._cache.loading = False

    def delete(self, session_key: str | None = None) -> None:
        key = self.session_key if session_key is None else session_key
        if key is not None and key == self.session_key:
            self._sign_out(session_key)
            return
        try:
            super().delete(session_key)
        except SessionCacheUnavailable as exc:
            # Signing in replaced this key (a session not signed in): its copy is harmless.
            logger.warning("a replaced session stays in the cache until it expires: %r", exc)

    def _sign_out(self, session_key: str | None) -> None:
        # The copy first: while the cache cannot be reached, nothing is removed and the sign-out
        # is refused, to be tried again. The record gone first instead, the next request would
        # find no session, drop the cookie's key and sign out without the copy, which would
        # sign the old cookie in again once the cache is back.
        self._cache.delete(self.cache_key)
        # Then the record, and the copy again, for a page read in between that put it back
        # (this narrows that race; it cannot close it). The record is gone by then: a retry
        # would find nothing to sign out, so a failure here is logged, not refused.
        try:
            super().delete(session_key)
        except SessionCacheUnavailable as exc:
            logger.error("a signed-out session's copy may be back in the cache: %r", exc)
