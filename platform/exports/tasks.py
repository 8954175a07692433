"""The `exports` queue: build one export archive.

At-least-once delivery (acks_late + reject_on_worker_lost): a build whose worker died runs again
from scratch; `build_export` only ever renames a complete archive into place, and the row is
marked succeeded after that, so a half-written archive is never marked complete.
"""

import logging
from pathlib import Path

from celery import shared_task
from django.conf import settings

from .build import build_export
from .errors import ExportError
from .inputs import ExportOptions
from .models import Export
from .run_data import run_export_data
from .services import (
    archive_relpath,
    export_complete,
    export_fail,
    export_mark_running,
    export_progress,
)

logger = logging.getLogger(__name__)
SOFT_LIMIT_S, HARD_LIMIT_S = settings.SCA_QUEUE_TIME_LIMITS_S["exports"]
RETRY_DELAY_S = 5


@shared_task(
    name="exports.build_export",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=2,
    soft_time_limit=SOFT_LIMIT_S,
    time_limit=HARD_LIMIT_S,
)
def build_export_task(self, export_id: int) -> str:  # noqa: ANN001
    export = export_mark_running(export_id=export_id)
    if export is None:
        return "already-done"
    export = Export.objects.select_related("run__spec", "run__trial").get(pk=export_id)
    options = ExportOptions.from_dict(export.options)
    out_path = Path(settings.MEDIA_ROOT) / archive_relpath(export)
    out_path.parent.mkdir(parents=True, exist_ok=True)

    def progress(done: int, total: int) -> None:
        export_progress(export_id=export_id, done=done, total=total)

    try:
        result = build_export(
            run_data=run_export_data(export.run, resolution_mm=options.resolution_mm),
            options=options,
            out_path=out_path,
            progress=progress,
        )
    except ExportError as exc:  # bad data or options: retrying cannot help
        export_fail(export_id=export_id, reason=str(exc))
        return "failed"
    except Exception as exc:  # noqa: BLE001 - e.g. a full disk: retried, then failed
        logger.exception("export %s failed", export_id)
        reason = f"{type(exc).__name__}: {exc}"
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=RETRY_DELAY_S) from exc
        export_fail(export_id=export_id, reason=f"{reason} (after {self.max_retries + 1} attempts)")
        return "failed"
    export_complete(
        export_id=export_id,
        path=result.path,
        sha256=result.sha256,
        size_bytes=result.size_bytes,
        manifest=result.manifest,
        timings_s=result.timings_s,
    )
    return "succeeded"
