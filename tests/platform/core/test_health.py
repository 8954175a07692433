import pytest
from django.test import Client


@pytest.mark.django_db
def test_healthz_reports_database_and_broker_up(client: Client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["backend"] in {"sqlite", "postgresql"}
    assert body["broker"]["ok"] is True
    assert body["broker"]["backend"] in {"filesystem", "redis"}


@pytest.mark.django_db
def test_healthz_reports_unreachable_broker_with_503(client: Client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["broker"]["ok"] is False and body["broker"]["error"]
    assert body["database"]["ok"] is True


def test_healthz_rejects_writes(client: Client):
    assert client.post("/healthz").status_code == 405
