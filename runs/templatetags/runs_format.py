from django import template

register = template.Library()


@register.filter
def duration(milliseconds: int | None) -> str:
    """5120 -> '5.1s', 511000 -> '8m 31s', 7_300_000 -> '2h 1m'."""
    if milliseconds is None:
        return "—"
    if milliseconds < 1000:
        return f"{milliseconds}ms"
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
