"""`{% fragment_cache key %}…{% endfragment_cache %}`: keep a rendered part of a page whose data
cannot change under that key (a stored run's results, keyed by how many parts it has).

Unlike Django's `{% cache %}`, a cache that cannot be reached costs the page its speed, never
its answer: the part is rendered as if nothing were cached."""

import logging

from django import template
from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe

register = template.Library()
logger = logging.getLogger(__name__)

# Long enough to serve a morning of triage from memory, short enough that a renamed
# scenario's title reaches a cached list the same day.
FRAGMENT_SECONDS = 3600


class FragmentCacheNode(template.Node):
    def __init__(self, nodelist: template.NodeList, key: template.base.FilterExpression) -> None:
        self.nodelist = nodelist
        self.key = key

    def render(self, context: template.Context) -> SafeString:
        key = self.key.resolve(context)
        if not key:
            return self.nodelist.render(context)
        try:
            kept = cache.get(key)
        except Exception:
            logger.warning("fragment cache unreachable; rendering %s afresh", key)
            return self.nodelist.render(context)
        if kept is not None:
            return mark_safe(kept)  # noqa: S308 - rendered (and escaped) by this template before
        rendered = self.nodelist.render(context)
        try:
            cache.set(key, str(rendered), FRAGMENT_SECONDS)
        except Exception:
            logger.warning("fragment cache unreachable; %s not kept", key)
        return rendered


@register.tag("fragment_cache")
def fragment_cache(parser: template.base.Parser, token: template.base.Token) -> FragmentCacheNode:
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("{% fragment_cache %} takes one key")
    nodelist = parser.parse(("endfragment_cache",))
    parser.delete_first_token()
    return FragmentCacheNode(nodelist, parser.compile_filter(bits[1]))
