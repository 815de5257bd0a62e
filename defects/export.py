"""A defect as the runbook's defect template, in Markdown, and as a GitHub issue."""

import json
import re
import urllib.error
from dataclasses import dataclass

from django.conf import settings

from defects.models import Defect, DefectOccurrence, TriageSettings
from operations import outbound
from runs.models import InvariantFailure
from runs.secrets import SecretUnreadable, secret_decrypt
from runs.selectors import repro_line

GITHUB_TIMEOUT_SECONDS = 15
# A web address with nothing in it that Markdown could read as more than a link.
SAFE_URL = re.compile(r"https?://[\w.-]+(?::\d+)?(?:/[\w\-./%~+=&?#:]*)?")


@dataclass(frozen=True)
class DefectReport:
    title: str
    markdown: str


def _latest_failure(defect: Defect) -> tuple[InvariantFailure | None, DefectOccurrence | None]:
    occurrence = (
        DefectOccurrence.objects.filter(defect=defect)
        .select_related("run", "failure")
        .order_by("-seen_at", "-id")
        .first()
    )
    return (occurrence.failure if occurrence else None), occurrence


def _longest_backticks(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def _code(text: str) -> str:
    """A code block no line of `text` can close: its fence is longer than any backtick run."""
    fence = "`" * max(3, _longest_backticks(text) + 1)
    return f"{fence}\n{text}\n{fence}"


def _span(value: object) -> str:
    """One value as inline code on one line: no heading, link, image or mention can start in
    it, and no backtick run in it can end it early."""
    text = " ".join(str(value).split()) or " "
    ticks = "`" * (_longest_backticks(text) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{ticks}{padded}{ticks}"


def _link(url: str) -> str:
    # A plain web address stays clickable; anything else is shown, not followed.
    return url if SAFE_URL.fullmatch(url) else _span(url)


def defect_report(defect: Defect, *, page_url: str) -> DefectReport:
    failure, occurrence = _latest_failure(defect)
    invariant = defect.invariant_key or "no invariant id"
    symptom = failure.message if failure and failure.message else defect.get_state_display()
    symptom = " ".join(symptom.split())[:100]
    if defect.is_incident:
        title = f"Integration incident: {defect.scenario_count} scenarios failing ({symptom})"
    else:
        title = f"Integration failure: {defect.scenario_key} / {invariant} ({symptom})"
    run = occurrence.run if occurrence else None
    repro = repro_line(defect.project, defect.scenario_key) if defect.scenario_id else None
    if repro and defect.project.repro_env:
        repro = f"{defect.project.repro_env} {repro}"
    scenario = defect.scenario_key or f"{defect.scenario_count} scenarios"
    if defect.is_incident:
        heading = f"Integration incident: {defect.scenario_count} scenarios failing"
    else:
        heading = f"Integration failure: {_span(defect.scenario_key)} / {_span(invariant)}"
    ci = (run.ci_url and _link(run.ci_url)) or _span(run.external_id) if run else "n/a"
    lines = [
        f"# {heading} ({_span(symptom)})",
        "",
        f"- **scenarioId:** {_span(scenario)}",
        f"- **invariantId:** {_span(invariant)}",
        f"- **CI run:** {ci}",
        f"- **Triage:** {_link(page_url)}",
        "- **Organization under test:** "
        + (
            _span(failure.organization_under_test)
            if failure and failure.organization_under_test
            else ""
        ),
        f"- **First seen:** {defect.first_seen:%Y-%m-%d %H:%M} UTC, "
        f"**last seen:** {defect.last_seen:%Y-%m-%d %H:%M} UTC, "
        f"**occurrences:** {defect.occurrence_count}",
        "",
        "## Artifacts",
        *[f"- {_span(path)}" for path in (failure.artifacts if failure else [])],
        "",
        "## Expected",
        _code(failure.expected if failure else ""),
        "",
        "## Observed",
        _code(failure.observed if failure else ""),
        "",
        "## Reproduce locally",
        _code(repro or "(no repro command is configured for this project)"),
        "",
        "## Key entity ids",
        *[
            f"- {_span(name)}: {_span(value)}"
            for name, value in (failure.key_entity_ids.items() if failure else [])
        ],
    ]
    return DefectReport(title=title, markdown="\n".join(lines) + "\n")


class GitHubError(Exception):
    pass


def _github_token(triage_settings: TriageSettings | None) -> str:
    try:
        return secret_decrypt(triage_settings.github_token_encrypted) if triage_settings else ""
    except SecretUnreadable:
        raise GitHubError(
            "the stored GitHub token cannot be read with the current encryption keys; "
            "enter it again in the project settings"
        ) from None


def github_issue_create(*, defect: Defect, page_url: str) -> str:
    """Open a GitHub issue for the defect with the project's token; returns its URL."""
    triage_settings = TriageSettings.objects.filter(project_id=defect.project_id).first()
    token = _github_token(triage_settings)
    if not triage_settings or not triage_settings.github_repository or not token:
        raise GitHubError("set a GitHub repository and token in the project settings first")
    report = defect_report(defect, page_url=page_url)
    url = f"{settings.GITHUB_API_URL.rstrip('/')}/repos/{triage_settings.github_repository}/issues"
    body = json.dumps({"title": report.title[:250], "body": report.markdown}).encode()
    headers = {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "User-Agent": "triage",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    try:
        _, answer = outbound.post(url, body, headers, timeout=GITHUB_TIMEOUT_SECONDS)
        return json.loads(answer)["html_url"]
    except outbound.OutboundRefused as error:
        raise GitHubError(str(error)) from None
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:500]
        raise GitHubError(f"GitHub answered {error.code}: {detail}") from None
    except (OSError, ValueError, KeyError) as error:
        raise GitHubError(f"GitHub could not be reached: {error}") from None
