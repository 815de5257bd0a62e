"""Rows of markup built outside the template language are escaped as format_html escapes."""

from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from runs.markup import markup, markup_join

HOSTILE = [
    '"><script>alert(1)</script>',
    "O'Brien & <sons>",
    mark_safe("<b>kept as markup</b>"),
    lazy(lambda: "<i>lazy</i>", str)(),
    42,
    3.5,
    None,
]


def test_every_value_is_escaped_exactly_as_format_html_escapes_it():
    template = '<a title="{}">{}</a>'
    for value in HOSTILE:
        assert markup(template, value, value) == format_html(template, value, value)


def test_rows_joined_are_the_rows_one_by_one():
    rows = [(value, index) for index, value in enumerate(HOSTILE)]
    joined = markup_join("\n", "<td>{}</td><td>{}</td>", rows)
    assert joined == "\n".join(format_html("<td>{}</td><td>{}</td>", *row) for row in rows)
    assert "<script>" not in joined and "<b>kept as markup</b>" in joined
