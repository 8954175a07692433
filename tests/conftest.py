"""Fixtures shared by the whole suite: real Celery worker processes on the configured broker."""

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence

import pytest


class WorkerProcess:
    """A real `celery worker` subprocess writing to the test database."""

    def __init__(self, process: subprocess.Popen, hostname: str) -> None:
        self.process = process
        self.hostname = hostname

    def wait_until_ready(self, timeout_s: float = 60.0) -> None:
        from config.celery_app import app

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.hostname} exited with {self.process.returncode}")
            replies = app.control.ping(destination=[self.hostname], timeout=1.0) or []
            if replies:
                return
            time.sleep(0.5)
        raise TimeoutError(f"worker {self.hostname} did not answer a ping in {timeout_s} s")

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def worker_factory(
    django_db_setup, django_db_blocker, tmp_path_factory
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real worker processes against the test database; all are stopped at session end.

    Tests using it need ``@pytest.mark.django_db(transaction=True)`` so that what they write is
    committed and visible to the worker.
    """
    from django.conf import settings
    from django.db import connection

    from config.celery_app import app
    from core.workers import start_worker

    with django_db_blocker.unblock():
        test_db_name = str(connection.settings_dict["NAME"])
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        queue_dir = settings.EMBEDDED_BROKER_DIR / "queue"
        shutil.rmtree(queue_dir, ignore_errors=True)
        queue_dir.mkdir(parents=True, exist_ok=True)
    else:
        app.control.purge()
    log_dir = tmp_path_factory.mktemp("workers")
    started: list[WorkerProcess] = []

    def start(
        queues: Sequence[str] = ("default",), *, name: str | None = None, concurrency: int = 1
    ) -> WorkerProcess:
        hostname = f"{name or 'test'}-{len(started)}-{os.getpid()}@localhost"
        process = start_worker(
            queues,
            concurrency=concurrency,
            hostname=hostname,
            extra_env={
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "SCA_TEST_DB_NAME": test_db_name,
            },
            log_path=log_dir / f"{hostname}.log",
        )
        worker = WorkerProcess(process, hostname)
        started.append(worker)
        worker.wait_until_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="session")
def default_worker(worker_factory) -> WorkerProcess:
    """One worker on every CPU queue, shared by the tests that only need tasks to run."""
    from django.conf import settings

    return worker_factory(settings.CELERY_TASK_QUEUES_CPU, name="shared")
