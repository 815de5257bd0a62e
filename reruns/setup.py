"""How a project admin sets up the project's rerun dispatcher."""

from reruns.models import Dispatcher
from runs.secrets import secret_encrypt


def dispatcher_save(
    *, dispatcher: Dispatcher, github_token: str, webhook_secret: str
) -> Dispatcher:
    """Save the dispatcher as filled in; new secrets are stored encrypted, and empty ones keep
    those stored before."""
    if github_token:
        dispatcher.github_token_encrypted = secret_encrypt(github_token)
    if webhook_secret:
        dispatcher.webhook_secret_encrypted = secret_encrypt(webhook_secret)
    dispatcher.save()
    return dispatcher
