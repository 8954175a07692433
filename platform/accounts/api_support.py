"""What every API view of the platform shares: organisation scoping, roles, service errors.

- A user acts within their current membership's organisation (`accounts.current`: the
  ``X-Organisation`` header, else the session's choice, else their only one); objects of other
  organisations are invisible (querysets are scoped, so they answer 404).
- Safe methods are open to every role; writes need a designer or admin (auditors get 403).
- Services raise Django ``ValidationError``; views turn it into DRF's, hence the API's 400
  envelope naming each field.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import permissions
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from audit.services import ClientInfo

from .current import OrganisationChoiceError, current_membership
from .models import Membership, Organisation


class IsOrganisationMember(permissions.BasePermission):
    """Authenticated, member of an organisation; writes only for designers and admins."""

    message = "You need a role in an organisation to use the API."
    read_only_message = "Your role (auditor) can read but not change anything."

    def has_permission(self, request: Request, view) -> bool:  # noqa: ANN001
        if not (request.user and request.user.is_authenticated):
            return False
        membership = request_membership(request)
        if membership is None:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        if not membership.can_write:
            self.message = self.read_only_message
            return False
        return True


def request_membership(request: Request) -> Membership | None:
    """The current membership; an unknown or missing ``X-Organisation`` choice is a 400."""
    try:
        return current_membership(request, browser=False)
    except OrganisationChoiceError as exc:
        raise ValidationError({exc.field: [exc.message]}) from exc


def request_organisation(request: Request) -> Organisation:
    return request_membership(request).organisation


def request_client(request: Request) -> ClientInfo:
    return ClientInfo.from_request(request._request if hasattr(request, "_request") else request)


@contextmanager
def service_errors() -> Iterator[None]:
    """Re-raise a service's Django ValidationError as DRF's (400 with a field per message)."""
    try:
        yield
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise ValidationError(exc.message_dict) from exc
        raise ValidationError({"non_field_errors": exc.messages}) from exc


class OrganisationScopedMixin:
    """For viewsets: `organisation` of the requesting user, and the permission above."""

    permission_classes = [IsOrganisationMember]

    @property
    def organisation(self) -> Organisation | None:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return None
        return request_organisation(self.request)

    @property
    def client(self) -> ClientInfo:
        return request_client(self.request)
