from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

register = template.Library()

# People's comments: Markdown without raw HTML (escaped) or images (no tracking pixels);
# markdown-it refuses javascript: and other unsafe link targets itself.
_comments = MarkdownIt("commonmark", {"html": False}).disable("image")
MAX_COMMENT_CHARS = 20_000


@register.filter
def comment_markdown(text: str) -> SafeString:
    """A comment rendered as safe Markdown."""
    html = _comments.render((text or "")[:MAX_COMMENT_CHARS])
    return mark_safe(html.replace("<a href=", '<a rel="nofollow noopener noreferrer" href='))  # noqa: S308 - escaped by markdown-it with html off
