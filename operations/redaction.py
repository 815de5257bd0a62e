"""Credentials out of log lines: a rerun's token in its callback path, and a token, signature
or secret a query string carries, become [redacted] wherever a request is written down."""

import logging
import re

_RERUN_PATH = re.compile(r"(/api/v1/reruns/)[^/?\s'\"]+")
_SECRET_QUERY = re.compile(r"([?&](?:rerunToken|token|signature|secret)=)[^&\s'\"]*", re.IGNORECASE)


def redacted(text: str) -> str:
    """`text` (a path, a URL, a request line or a message) with its credentials redacted."""
    return _SECRET_QUERY.sub(r"\1[redacted]", _RERUN_PATH.sub(r"\1[redacted]", text))


class RedactCredentials(logging.Filter):
    """A filter for every handler: Django's request warnings write the path and the request
    (with its query) into the line, as other libraries may."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redacted(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redacted(a) if isinstance(a, str) else a for a in record.args)
        request = record.__dict__.get("request")
        if request is not None and not isinstance(request, str):
            record.request = redacted(repr(request))
        return True
