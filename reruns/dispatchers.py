"""Send a rerun to CI: GitHub Actions, a signed generic webhook, or an operator's command."""

import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import urllib.error
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from operations import outbound
from reruns.models import Dispatcher, Rerun
from runs.secrets import SecretUnreadable, secret_decrypt

HTTP_TIMEOUT_SECONDS = 15
COMMAND_ENV_PASSED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
OUTPUT_TAIL_CHARS = 4000
# The shape of a scenario id, checked before an id goes anywhere near a command line.
SCENARIO_ID = re.compile(r"[A-Za-z][A-Za-z0-9]{0,31}[-_][0-9]{1,9}")


MAX_CI_ANSWER_READ = 4096
CI_EXCERPT_CHARS = 200
_MARKUP = re.compile(r"<[^>]*>|\x1b\[[0-9;?]*[A-Za-z]")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\uffff]+")


def ci_excerpt(answer: bytes) -> str:
    """What a refusing CI said, as the run page may show it: the start of its text, markup and
    control characters taken out. A page of a host the server reached is no page to show in
    full: that would let an admin read what only the server can see."""
    text = _MARKUP.sub(" ", answer.decode(errors="replace"))
    text = " ".join(_UNPRINTABLE.sub(" ", text).split())
    return text[:CI_EXCERPT_CHARS] + ("…" if len(text) > CI_EXCERPT_CHARS else "")


class TransientDispatchError(Exception):
    """CI could not be reached or answered 5xx: worth another try later."""


class DispatchRefused(Exception):
    """CI refused the request (4xx) or the configuration is wrong: retrying will not help."""


@dataclass
class Dispatched:
    ci_url: str = ""
    exit_code: int | None = None
    output_tail: str = ""
    report: bytes | None = None


def _post(url: str, body: bytes, headers: dict[str, str], *, expect: tuple[int, ...]) -> bytes:
    try:
        status, answer = outbound.post(url, body, headers, timeout=HTTP_TIMEOUT_SECONDS)
        if status not in expect:
            raise DispatchRefused(f"CI answered {status}")
        return answer
    except outbound.OutboundRefused as error:
        raise DispatchRefused(str(error)) from None
    except urllib.error.HTTPError as error:
        detail = ci_excerpt(error.read(MAX_CI_ANSWER_READ))
        if error.code >= 500:
            raise TransientDispatchError(f"CI answered {error.code}: {detail}") from None
        raise DispatchRefused(f"CI answered {error.code}: {detail}") from None
    except (OSError, TimeoutError) as error:
        raise TransientDispatchError(f"CI could not be reached: {error}") from None


def _stored_secret(encrypted: str, what: str) -> str:
    try:
        return secret_decrypt(encrypted)
    except SecretUnreadable:
        # Never dispatch without it: an unsigned webhook or a token-less call is not the
        # request the admin set up.
        raise DispatchRefused(
            f"the stored {what} cannot be read with the current encryption keys; "
            "enter it again in the dispatcher settings"
        ) from None


def callback_url(rerun: Rerun) -> str:
    return settings.PUBLIC_URL + reverse("api_rerun_status", kwargs={"token": rerun.token})


def _github(dispatcher: Dispatcher, rerun: Rerun) -> Dispatched:
    token = _stored_secret(dispatcher.github_token_encrypted, "GitHub token")
    if not token and dispatcher.github_token_env in settings.RERUN_GITHUB_TOKEN_ENVS:
        token = os.environ.get(dispatcher.github_token_env, "")
    if not (dispatcher.github_repository and dispatcher.github_workflow and token):
        raise DispatchRefused("the GitHub dispatcher needs a repository, a workflow and a token")
    url = (
        f"{settings.GITHUB_API_URL.rstrip('/')}/repos/{dispatcher.github_repository}"
        f"/actions/workflows/{dispatcher.github_workflow}/dispatches"
    )
    # workflow_dispatch runs a branch; the commit to check out travels as an input.
    body = {
        "ref": rerun.branch or "main",
        "inputs": {
            # "|" because runners filter by a name pattern: `vitest -t "BID-001|BID-002"`.
            "scenario_ids": "|".join(rerun.scenario_keys),
            "commit": rerun.commit if rerun.ref_kind == Rerun.Ref.COMMIT else "",
            "rerun_token": rerun.token,
        },
    }
    _post(
        url,
        json.dumps(body).encode(),
        {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "User-Agent": "triage",
            "X-GitHub-Api-Version": "2022-11-28",
        },
        expect=(200, 201, 204),
    )
    return Dispatched()


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _webhook(dispatcher: Dispatcher, rerun: Rerun) -> Dispatched:
    if not dispatcher.webhook_url.startswith(("https://", "http://")):
        raise DispatchRefused("the webhook dispatcher needs an http(s) URL")
    body = json.dumps(
        {
            "rerunId": rerun.pk,
            "project": rerun.project.slug,
            "scenarioIds": rerun.scenario_keys,
            "ref": rerun.commit if rerun.ref_kind == Rerun.Ref.COMMIT else rerun.branch,
            "branch": rerun.branch,
            "commit": rerun.commit,
            "rerunToken": rerun.token,
            "callbackUrl": callback_url(rerun),
        },
        sort_keys=True,
    ).encode()
    secret = _stored_secret(dispatcher.webhook_secret_encrypted, "webhook secret")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "triage",
        # The same key on every attempt lets the receiver drop a repeat after a lost answer.
        "Idempotency-Key": rerun.idempotency_key,
    }
    if secret:
        headers["X-Triage-Signature"] = webhook_signature(secret, body)
    answer = _post(dispatcher.webhook_url, body, headers, expect=(200, 201, 202, 204))
    try:
        ci_url = str(json.loads(answer).get("url", "")) if answer else ""
    except (ValueError, AttributeError):
        ci_url = ""
    return Dispatched(ci_url=ci_url if ci_url.startswith(("https://", "http://")) else "")


def checked_scenario_ids(keys: list[str]) -> list[str]:
    bad = [key for key in keys if not SCENARIO_ID.fullmatch(key)]
    if bad:
        raise DispatchRefused(f"not scenario ids, so not put on a command line: {bad[:5]}")
    return keys


def _command(dispatcher: Dispatcher, rerun: Rerun) -> Dispatched:
    spec = settings.RERUN_COMMANDS.get(dispatcher.command_name)
    if not spec:
        raise DispatchRefused(f"the server defines no rerun command {dispatcher.command_name!r}")
    ids = "|".join(checked_scenario_ids(rerun.scenario_keys))
    argv = [str(part).replace("{scenarioIds}", ids) for part in spec["argv"]]
    cwd = Path(spec.get("cwd") or ".")
    report_path = cwd / spec.get("report", "report.json")
    report_path.unlink(missing_ok=True)
    # The suite runs the project's own test code: it gets a plain environment, not the
    # worker's (which holds SECRET_KEY, DATABASE_URL and tokens), plus what the operator set.
    env = {name: os.environ[name] for name in COMMAND_ENV_PASSED if name in os.environ}
    env.update({str(k): str(v) for k, v in (spec.get("env") or {}).items()})
    env.update(
        TRIAGE_RERUN_TOKEN=rerun.token,
        TRIAGE_RERUN_OF=rerun.source_run.external_id,
        TRIAGE_COMMIT=rerun.commit,
    )
    timeout = int(spec.get("timeout", 600))
    try:
        # An argv list, never a shell: nothing in an id can become another command. Its own
        # session, so a timeout ends every process it started, not just the first.
        process = subprocess.Popen(  # noqa: S603
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        raise DispatchRefused(f"the rerun command could not start: {exc}") from None
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return Dispatched(
            exit_code=-1, output_tail=f"{(output or '')[-OUTPUT_TAIL_CHARS:]}\n(timed out)"
        )
    finished = process
    report = report_path.read_bytes() if report_path.exists() else None
    return Dispatched(
        exit_code=finished.returncode, output_tail=(output or "")[-OUTPUT_TAIL_CHARS:],
        report=report,
    )  # fmt: skip


DISPATCHERS = {
    Dispatcher.Kind.GITHUB: _github,
    Dispatcher.Kind.WEBHOOK: _webhook,
    Dispatcher.Kind.COMMAND: _command,
}


def dispatch(dispatcher: Dispatcher, rerun: Rerun) -> Dispatched:
    return DISPATCHERS[dispatcher.kind](dispatcher, rerun)
