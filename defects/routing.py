"""Routing: the first matching rule of a project names the team that owns a defect."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.db import transaction

from defects.models import Defect, RoutingRule, Team


@dataclass(frozen=True)
class RouteInput:
    defect_class: str
    scenario_key: str
    invariant_key: str
    file: str


def rule_matches(rule: RoutingRule, target: RouteInput) -> bool:
    """Every field the rule sets must hold; a rule with no fields matches everything."""
    if rule.defect_class and rule.defect_class != target.defect_class:
        return False
    if rule.scenario_prefix and not target.scenario_key.upper().startswith(
        rule.scenario_prefix.upper()
    ):
        return False
    if rule.invariant_prefix and not target.invariant_key.upper().startswith(
        rule.invariant_prefix.upper()
    ):
        return False
    # Several globs, separated by spaces, match if any does.
    return not rule.file_glob or any(
        _glob_regex(glob).fullmatch(target.file) for glob in rule.file_glob.split()
    )


@lru_cache(maxsize=1024)
def _glob_regex(glob: str) -> re.Pattern[str]:
    """Globs as CODEOWNERS reads them: `*` and `?` stay within a path segment, `**` crosses."""
    parts = []
    index = 0
    while index < len(glob):
        if glob.startswith("**", index):
            parts.append(".*")
            index += 2
        elif glob[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(glob[index]))
            index += 1
    return re.compile("".join(parts))


def route(rules: Iterable[RoutingRule], target: RouteInput) -> RoutingRule | None:
    for rule in rules:
        if rule_matches(rule, target):
            return rule
    return None


def project_rules(project_id: int) -> list[RoutingRule]:
    return list(
        RoutingRule.objects.filter(project_id=project_id)
        .select_related("team")
        .order_by("position", "id")
    )


def _codeowners_globs(pattern: str) -> str:
    """CODEOWNERS pattern -> space-separated fnmatch globs that match the same paths."""
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    base = pattern.lstrip("/")
    if base.endswith("/"):
        variants = [base + "**"]
    elif "*" in base.rsplit("/", 1)[-1]:
        variants = [base]
    else:
        # `apps` names a file or a directory.
        variants = [base, base + "/**"]
    if not anchored:
        variants += ["**/" + variant for variant in variants]
    return " ".join(variants)


def _team_name(owner: str) -> str:
    return owner.lstrip("@").split("/")[-1] or owner


@transaction.atomic
def rules_import_codeowners(*, project_id: int, text: str) -> list[RoutingRule]:
    """Replace the rules imported before with one rule per CODEOWNERS line.

    CODEOWNERS lets the last matching line win and Triage the first, so the lines are added
    in reverse, after the rules written by hand. Each line's first owner becomes the team.
    """
    imported = RoutingRule.objects.filter(project_id=project_id, source__startswith="CODEOWNERS")
    # Defects routed by the old import keep following rules (not "routed by hand").
    rerouted = list(
        Defect.objects.filter(routed_by__in=imported).select_related("scenario", "invariant")
    )
    imported.delete()
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        parts = line.split()
        if not parts:
            continue
        # A pattern with no owner unowns its files, even where an earlier line owned them.
        entries.append((number, parts[0], parts[1] if len(parts) > 1 else ""))
    last = RoutingRule.objects.filter(project_id=project_id).order_by("-position").first()
    position = (last.position if last else 0) + 1
    created = []
    for number, pattern, owner in reversed(entries):
        team = None
        if owner:
            team, _ = Team.objects.get_or_create(project_id=project_id, name=_team_name(owner))
        created.append(
            RoutingRule.objects.create(
                project_id=project_id,
                position=position,
                team=team,
                file_glob=_codeowners_globs(pattern),
                source=f"CODEOWNERS line {number}: {pattern} {owner or '(no owner)'}"[:200],
            )
        )
        position += 1
    rules = project_rules(project_id)
    for defect in rerouted:
        rule = route(
            rules,
            RouteInput(
                defect_class=defect.defect_class, scenario_key=defect.scenario_key,
                invariant_key=defect.invariant_key, file=defect.scenario_file,
            ),
        )  # fmt: skip
        if rule and rule.team_id == defect.owner_team_id:
            Defect.objects.filter(pk=defect.pk).update(routed_by=rule)
    return created


@transaction.atomic
def rule_add(
    *,
    project_id: int,
    team: Team,
    defect_class: str = "",
    scenario_prefix: str = "",
    invariant_prefix: str = "",
    file_glob: str = "",
) -> RoutingRule:
    """A rule written by hand goes last: the rules before it keep winning."""
    last = RoutingRule.objects.filter(project_id=project_id).order_by("-position").first()
    return RoutingRule.objects.create(
        project_id=project_id, position=(last.position if last else 0) + 1, team=team,
        defect_class=defect_class, scenario_prefix=scenario_prefix,
        invariant_prefix=invariant_prefix, file_glob=file_glob,
    )  # fmt: skip


def _renumber(rules: list[RoutingRule]) -> None:
    for position, rule in enumerate(rules, start=1):
        if rule.position != position:
            RoutingRule.objects.filter(pk=rule.pk).update(position=position)


@transaction.atomic
def rule_move(*, rule: RoutingRule, up: bool) -> bool:
    """Swap a rule with its neighbour above or below; False when there is none to swap with."""
    rules = project_rules(rule.project_id)
    index = next((i for i, other in enumerate(rules) if other.pk == rule.pk), None)
    target = None if index is None else index - 1 if up else index + 1
    if target is None or not 0 <= target < len(rules):
        return False
    rules[index], rules[target] = rules[target], rules[index]
    _renumber(rules)
    return True


@transaction.atomic
def rule_delete(*, rule: RoutingRule) -> None:
    rule.delete()
    _renumber(project_rules(rule.project_id))
