"""A task goes through the real broker to a real worker process and its result comes back."""

import pytest
from django.conf import settings


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_ping_round_trip_through_a_real_worker(default_worker):
    from core.tasks import ping

    result = ping.apply_async(args=["hello"], queue="default")
    reply = result.get(timeout=60)
    assert reply == {"payload": "hello", "database": default_worker_db_vendor()}
    assert default_worker.process.poll() is None, "the worker is still alive after the task"


def default_worker_db_vendor() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    return "postgresql" if "postgresql" in engine else "sqlite"


def test_reliability_settings_for_long_tasks():
    from config.celery_app import app

    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    if not conf.broker_url.startswith("filesystem://"):
        assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
