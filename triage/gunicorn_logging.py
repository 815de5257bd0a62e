"""Gunicorn's access log without credentials (see `operations.redaction`)."""

from typing import Any

from gunicorn.glogging import Logger

from operations.redaction import redacted


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = redacted(atoms["r"])
        atoms["U"] = redacted(atoms["U"] or "")
        atoms["q"] = redacted("?" + (atoms["q"] or ""))[1:]
        atoms["f"] = redacted(atoms["f"] or "")
        return atoms
