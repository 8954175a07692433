"""Service health probes used by /healthz and by the container health checks."""

from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connection

from config.celery_app import app as celery_app


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    backend: str
    error: str = ""


def probe_database() -> ProbeResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the reason is reported
        return ProbeResult(ok=False, backend=connection.vendor, error=str(exc).strip()[:200])
    return ProbeResult(ok=True, backend=connection.vendor)


def probe_broker(timeout_s: float = 2.0) -> ProbeResult:
    broker_url = settings.CELERY_BROKER_URL
    transport = broker_url.split("://", 1)[0]
    try:
        with celery_app.connection_for_write(broker_url) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout_s)
    except Exception as exc:  # noqa: BLE001
        return ProbeResult(ok=False, backend=transport, error=str(exc).strip()[:200])
    return ProbeResult(ok=True, backend=transport)


def health_report() -> dict:
    database, broker = probe_database(), probe_broker()
    return {
        "status": "ok" if database.ok and broker.ok else "unavailable",
        "database": asdict(database),
        "broker": asdict(broker),
    }
