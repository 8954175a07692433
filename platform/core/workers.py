"""Starting Celery worker processes: used by `manage.py serve`, the tests and the containers."""

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings


def worker_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a worker needs: the platform source root and the repo root on the path."""
    environment = dict(os.environ)
    python_path = [str(settings.PLATFORM_DIR), str(settings.REPO_ROOT)]
    if environment.get("PYTHONPATH"):
        python_path.append(environment["PYTHONPATH"])
    environment["PYTHONPATH"] = os.pathsep.join(python_path)
    environment.setdefault("DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE)
    environment.update(extra or {})
    return environment


_CELERY = (sys.executable, "-m", "celery", "-A", "config")


def worker_command(
    queues: Sequence[str],
    *,
    concurrency: int = 1,
    hostname: str = "worker@%h",
    pool: str = "prefork",
    beat: bool = False,
) -> list[str]:
    """``beat``: also run Celery beat inside this worker (the embedded single-process setup;
    a deployment runs one separate `celery beat`)."""
    embedded_beat = ["--beat", "--schedule", str(settings.CELERY_BEAT_SCHEDULE_FILENAME)]
    return [
        *_CELERY,
        "worker",
        "--queues",
        ",".join(queues),
        "--concurrency",
        str(concurrency),
        "--pool",
        pool,
        "--hostname",
        hostname,
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        *(embedded_beat if beat else []),
    ]


def beat_command(*, schedule_path: Path) -> list[str]:
    return [
        *_CELERY,
        "beat",
        "--schedule",
        str(schedule_path),
        "--loglevel",
        "INFO",
    ]


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM when the process that started it dies, even by SIGKILL."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _start(command: list[str], extra_env: dict[str, str] | None, log_path: Path | None):  # noqa: ANN202
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        command,
        cwd=settings.REPO_ROOT,
        env=worker_environment(extra_env),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads are running at this point
    )


def start_worker(
    queues: Sequence[str],
    *,
    concurrency: int = 1,
    hostname: str = "worker@%h",
    extra_env: dict[str, str] | None = None,
    log_path: Path | None = None,
    beat: bool = False,
) -> subprocess.Popen:
    command = worker_command(queues, concurrency=concurrency, hostname=hostname, beat=beat)
    return _start(command, extra_env, log_path)


def start_beat(
    *,
    schedule_path: Path,
    extra_env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> subprocess.Popen:
    """A `celery beat` process (the periodic stalled-chunk sweep)."""
    return _start(beat_command(schedule_path=schedule_path), extra_env, log_path)
