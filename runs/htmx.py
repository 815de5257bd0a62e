"""What an htmx request asks for."""

from django.http import HttpRequest


def fragment_requested(request: HttpRequest) -> bool:
    """Whether to answer with a page's fragment rather than the whole page."""
    # A history restore after a cache miss needs the whole page, not the fragment.
    return bool(request.htmx) and not request.htmx.history_restore_request
