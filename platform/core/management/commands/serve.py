import signal
import subprocess

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from core.workers import start_worker


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Run the web server and a Celery worker (with beat: the stalled-chunk sweep) next to "
        "it (the embedded `make run`)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args, addrport: str, concurrency: int, **options) -> None:
        log_path = settings.VAR_DIR / "worker.log"
        queues = settings.CELERY_TASK_QUEUES_CPU + settings.CELERY_TASK_QUEUES_GPU
        worker = start_worker(
            queues, concurrency=concurrency, hostname="embedded@%h", log_path=log_path, beat=True
        )
        self.stdout.write(
            f"Celery worker pid {worker.pid} on queues {','.join(queues)}, with beat "
            f"(log: {log_path})\n"
            f"Open http://{addrport}/ and sign in (demo / demo-password). Ctrl-C stops both."
        )
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
