from celery import shared_task


@shared_task(name="core.ping")
def ping(payload: str = "pong") -> dict:
    """Round-trip probe: proves a worker consumed the broker and can reach the database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"payload": payload, "database": connection.vendor}
