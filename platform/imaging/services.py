"""Requesting and recording volumes. Rendering itself runs on the `render`/`braing3n` queues."""

from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from runs.models import Subject

from .models import ENGINE_QUEUES, Volume, VolumeStatus
from .rendering import file_sha256


def volume_request(*, subject: Subject, visit: int, sequence: str, engine: str) -> Volume:
    """The volume row; when it is not rendered yet, queue its rendering (once) after commit."""
    from .tasks import render_volume

    try:
        with transaction.atomic():
            volume, created = Volume.objects.get_or_create(
                subject=subject, visit=visit, sequence=sequence, engine=engine
            )
            retry_failed = volume.status == VolumeStatus.FAILED
            if retry_failed:
                volume.status = VolumeStatus.PENDING
                volume.error = ""
                volume.save(update_fields=["status", "error"])
            if created or retry_failed:
                transaction.on_commit(
                    lambda: render_volume.apply_async(
                        args=[subject.pk, visit, engine], queue=ENGINE_QUEUES[engine]
                    )
                )
    except IntegrityError:  # a concurrent request created it first: it queued the rendering
        volume = Volume.objects.get(subject=subject, visit=visit, sequence=sequence, engine=engine)
    return volume


def volumes_record_rendered(
    *, subject: Subject, visit: int, engine: str, paths: dict[str, Path]
) -> None:
    media_root = Path(settings.MEDIA_ROOT)
    now = timezone.now()
    with transaction.atomic():
        for sequence, path in paths.items():
            Volume.objects.update_or_create(
                subject=subject,
                visit=visit,
                sequence=sequence,
                engine=engine,
                defaults={
                    "status": VolumeStatus.READY,
                    "path": str(path.relative_to(media_root)),
                    "sha256": file_sha256(path),
                    "size_bytes": path.stat().st_size,
                    "error": "",
                    "rendered_at": now,
                },
            )


def volumes_record_failure(*, subject_id: int, visit: int, engine: str, error: str) -> None:
    Volume.objects.filter(subject_id=subject_id, visit=visit, engine=engine).exclude(
        status=VolumeStatus.READY
    ).update(status=VolumeStatus.FAILED, error=error[:4000])


def volume_ensure_rendered(*, subject: Subject, visit: int, sequence: str, engine: str) -> Path:
    """The cached file of a volume, rendering the visit in this process first if needed.

    For exports, which need every volume they include now rather than on a later request.
    """
    from .rendering import render_visit_files

    volume = Volume.objects.filter(
        subject=subject,
        visit=visit,
        sequence=sequence,
        engine=engine,
        status=VolumeStatus.READY,
    ).first()
    media_root = Path(settings.MEDIA_ROOT)
    if volume is not None and (media_root / volume.path).is_file():
        return media_root / volume.path
    subject = Subject.objects.select_related("run").get(pk=subject.pk)
    paths = render_visit_files(subject=subject, visit=visit, engine=engine)
    volumes_record_rendered(subject=subject, visit=visit, engine=engine, paths=paths)
    return paths[sequence]
