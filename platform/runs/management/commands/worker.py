"""A Celery worker for some queues: `manage.py worker --queues simulation --concurrency 2`.

Queues: simulation (cohort chunks), render (physics volumes), braing3n (GPU volumes),
exports, default. The process is replaced by `celery worker` (signals reach it directly).
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.workers import worker_command, worker_environment


class Command(BaseCommand):
    help = "Run a Celery worker consuming the given queues."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queues", default="simulation", help="Comma-separated queues (default: simulation)."
        )
        parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1)
        parser.add_argument("--hostname", default="")

    def handle(self, *args, queues: str, concurrency: int, hostname: str, **options) -> None:
        names = [name.strip() for name in queues.split(",") if name.strip()]
        known = set(settings.CELERY_TASK_QUEUES_CPU) | set(settings.CELERY_TASK_QUEUES_GPU)
        unknown = sorted(set(names) - known)
        if not names or unknown:
            raise CommandError(
                f"--queues: unknown queue(s) {unknown or names}; known: {', '.join(sorted(known))}"
            )
        command = worker_command(
            names, concurrency=concurrency, hostname=hostname or f"{names[0]}@%h"
        )
        os.execvpe(command[0], command, worker_environment())
