"""Rendering tasks: physics on the `render` queue, BrainG3N on the `braing3n` (GPU) queue."""

import logging

from celery import shared_task
from django.conf import settings

from runs.models import Subject

from .rendering import render_visit_files
from .services import volumes_record_failure, volumes_record_rendered

logger = logging.getLogger(__name__)
# The render queue's limits; braing3n workers run the same task with the GPU queue's limits.
SOFT_LIMIT_S, HARD_LIMIT_S = settings.SCA_QUEUE_TIME_LIMITS_S["braing3n"]


@shared_task(
    name="imaging.render_volume",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=SOFT_LIMIT_S,
    time_limit=HARD_LIMIT_S,
)
def render_volume(subject_pk: int, visit: int, engine: str) -> str:
    """Render all sequences (and the segmentation) of one visit: they share the work."""
    subject = Subject.objects.select_related("run").get(pk=subject_pk)
    try:
        paths = render_visit_files(subject=subject, visit=visit, engine=engine)
    except Exception as exc:  # noqa: BLE001 - recorded on the volume rows, shown to the user
        logger.exception("rendering %s visit %s failed", subject.subject_id, visit)
        volumes_record_failure(
            subject_id=subject_pk, visit=visit, engine=engine, error=f"{type(exc).__name__}: {exc}"
        )
        return "failed"
    volumes_record_rendered(subject=subject, visit=visit, engine=engine, paths=paths)
    return "rendered"
