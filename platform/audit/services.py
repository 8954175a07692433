"""Writing audit events. Called by the service that makes a change, inside its transaction."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.http import HttpRequest

from .models import AuditEvent


@dataclass(frozen=True)
class ClientInfo:
    """Where a change came from: the remote address and user agent, or a named tool."""

    ip: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> "ClientInfo":
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        ip = forwarded.split(",")[0].strip() if forwarded else request.META.get("REMOTE_ADDR")
        return cls(ip=ip or None, user_agent=request.META.get("HTTP_USER_AGENT", "")[:300])

    @classmethod
    def tool(cls, name: str) -> "ClientInfo":
        return cls(ip=None, user_agent=name)


SYSTEM_CLIENT = ClientInfo.tool("worker")


def audit_record(
    *,
    organisation: models.Model,
    actor: AbstractBaseUser | None,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    client: ClientInfo | None = None,
) -> AuditEvent:
    """Append one audit event. Must run inside the caller's transaction (so both commit or none)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must be called inside the transaction of the change")
    client = client or SYSTEM_CLIENT
    event = AuditEvent(
        organisation=organisation,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_username=getattr(actor, "username", "") or "system",
        action=action,
        object_type=target._meta.label,
        object_id=str(target.pk),
        object_repr=str(target)[:200],
        before=before,
        after=after,
        reason=reason,
        client_ip=client.ip,
        client_user_agent=client.user_agent[:300],
    )
    event.full_clean()
    event.save()
    return event
