"""Class suggestions from the data, each with the reason a person can check."""

import re
from dataclasses import dataclass

from defects.models import DefectClass
from runs.models import Run

# Errors that say the environment, not the product, broke.
INFRA_ERRORS = re.compile(
    r"ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|connection refused|could not connect|"
    r"service not healthy|not healthy|missing env|environment variable|out of memory|"
    r"no space left|toolchain|docker|network is unreachable",
    re.IGNORECASE,
)
INFRA_RUN_SHARE = 0.5


@dataclass(frozen=True)
class Suggestion:
    defect_class: str
    reason: str


def suggest_class(
    *, run: Run, has_invariant: bool, message: str, flaky_commit: str | None
) -> Suggestion | None:
    """Most specific first: a broken environment explains a missing invariant id too."""
    failing = run.failed_count + run.error_count
    share = failing / run.total_count if run.total_count else 0
    infra_error = INFRA_ERRORS.search(message or "")
    if infra_error and share >= INFRA_RUN_SHARE:
        return Suggestion(
            DefectClass.INFRA,
            f"{failing} of {run.total_count} scenarios of run {run.external_id} failed, "
            f"with an infrastructure error ({infra_error.group(0)})",
        )
    if share >= INFRA_RUN_SHARE and run.error_count >= run.failed_count and failing >= 3:
        return Suggestion(
            DefectClass.INFRA,
            f"{run.error_count} of {run.total_count} scenarios of run {run.external_id} "
            "errored: most of the run failed before asserting anything",
        )
    if flaky_commit:
        return Suggestion(
            DefectClass.FLAKE, f"it passed and failed on the same commit {flaky_commit}"
        )
    if not has_invariant:
        return Suggestion(
            DefectClass.HARNESS, "the failure names no invariant id: the harness did not say "
            "what broke",
        )  # fmt: skip
    if infra_error:
        return Suggestion(
            DefectClass.INFRA, f"the error looks like infrastructure ({infra_error.group(0)})"
        )
    return None
