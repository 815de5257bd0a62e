"""The project's runbook: versioned Markdown, split into sections with stable anchors,
rendered without letting any HTML from the document through."""

from dataclasses import dataclass
from functools import lru_cache

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin

from defects.models import Defect, DefectClass, RunbookLink, RunbookVersion
from runs.models import Project

SECTION_LEVELS = 3
MAX_RUNBOOK_CHARS = 1_000_000
# `html: False` escapes raw HTML in the document; markdown-it also refuses javascript: links.
_markdown = MarkdownIt("commonmark", {"html": False}).use(
    anchors_plugin, min_level=1, max_level=SECTION_LEVELS
)


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    level: int
    html: SafeString


@transaction.atomic
def runbook_publish(*, project: Project, markdown: str, author: AbstractBaseUser) -> RunbookVersion:
    if len(markdown) > MAX_RUNBOOK_CHARS:
        raise ValueError(f"the runbook is longer than {MAX_RUNBOOK_CHARS} characters")
    # Lock the project row so two publishers cannot take the same version number.
    Project.objects.select_for_update().filter(pk=project.pk).first()
    latest = RunbookVersion.objects.filter(project=project).aggregate(Max("number"))["number__max"]
    return RunbookVersion.objects.create(
        project=project, number=(latest or 0) + 1, markdown=markdown, author=author
    )


def runbook_current(project: Project) -> RunbookVersion | None:
    return RunbookVersion.objects.filter(project=project).order_by("-number").first()


@lru_cache(maxsize=64)
def _rendered(version_id: int, markdown: str) -> tuple[SafeString, tuple[Section, ...]]:
    tokens = _markdown.parse(markdown)
    full = mark_safe(_markdown.renderer.render(tokens, _markdown.options, {}))  # noqa: S308 - raw HTML is escaped by the parser
    starts = [
        index
        for index, token in enumerate(tokens)
        if token.type == "heading_open" and int(token.tag[1]) <= SECTION_LEVELS
    ]
    sections = []
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(tokens)
        heading = tokens[start]
        html = _markdown.renderer.render(tokens[start:end], _markdown.options, {})
        sections.append(
            Section(
                anchor=str(heading.attrs.get("id", "")),
                title=tokens[start + 1].content,
                level=int(heading.tag[1]),
                html=mark_safe(html),  # noqa: S308 - raw HTML is escaped by the parser
            )
        )
    return full, tuple(sections)


def runbook_render(version: RunbookVersion) -> tuple[SafeString, tuple[Section, ...]]:
    """The whole document as HTML and its sections, each with its anchor."""
    return _rendered(version.pk, version.markdown)


@dataclass(frozen=True)
class LinkedSection:
    section: Section
    because: str


def sections_for_defect(defect: Defect, version: RunbookVersion | None) -> list[LinkedSection]:
    """The sections the project's link rules send this defect to, most specific first."""
    if version is None:
        return []
    _, sections = runbook_render(version)
    by_anchor = {section.anchor: section for section in sections}
    defect_class = defect.defect_class
    class_note = "class"
    if defect_class == DefectClass.UNCLASSIFIED and defect.suggested_class:
        defect_class, class_note = defect.suggested_class, "suggested class"
    wanted = [
        (RunbookLink.Kind.INVARIANT_PREFIX, defect.invariant_key, "invariant"),
        (RunbookLink.Kind.SCENARIO_PREFIX, defect.scenario_key, "scenario"),
        (RunbookLink.Kind.CLASS, defect_class, class_note),
    ]
    links = list(RunbookLink.objects.filter(project_id=defect.project_id))
    found: list[LinkedSection] = []
    for kind, value, note in wanted:
        for link in links:
            if link.kind != kind or not value:
                continue
            matches = (
                value == link.match
                if kind == RunbookLink.Kind.CLASS
                else value.upper().startswith(link.match.upper())
            )
            section = by_anchor.get(link.anchor)
            if matches and section and all(f.section != section for f in found):
                found.append(LinkedSection(section, f"{note} {link.match}"))
    return found


def runbook_link_add(*, project: Project, kind: str, match: str, anchor: str) -> RunbookLink:
    return RunbookLink.objects.create(project=project, kind=kind, match=match, anchor=anchor)


def runbook_link_delete(*, link: RunbookLink) -> None:
    link.delete()
