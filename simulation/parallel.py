"""Worker processes for simulating a cohort in parallel.

Processes are started with ``spawn``, never ``fork``: the caller may be a multi-threaded process
(a test session with a browser driver, a web server, numba's thread pool), and a forked child can
deadlock on a lock another thread held at the moment of the fork.
"""

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context


def worker_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
