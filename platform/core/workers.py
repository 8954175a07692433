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


def worker_command(
    queues: Sequence[str],
    *,
    concurrency: int = 1,
    hostname: str = "worker@%h",
    pool: str = "prefork",
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
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
    ]


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM when the process that started it dies, even by SIGKILL."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def start_worker(
    queues: Sequence[str],
    *,
    concurrency: int = 1,
    hostname: str = "worker@%h",
    extra_env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> subprocess.Popen:
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        worker_command(queues, concurrency=concurrency, hostname=hostname),
        cwd=settings.REPO_ROOT,
        env=worker_environment(extra_env),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads are running at this point
    )
