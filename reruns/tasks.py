"""Tasks the rerun services queue. Thin: each takes an id and calls a service.

The periodic jobs, which queue tasks of this module, live in `reruns.periodic`."""

from celery import shared_task

from reruns.dispatchers import TransientDispatchError
from reruns.dispatching import rerun_dispatch


@shared_task(bind=True, acks_late=True, max_retries=None)
def dispatch_rerun(self, rerun_id: int) -> str:
    try:
        return rerun_dispatch(rerun_id)
    except TransientDispatchError as exc:
        # Exponential backoff; the attempt limit is kept on the row, not in the message.
        raise self.retry(exc=exc, countdown=min(300, 2 ** min(self.request.retries, 8))) from exc
