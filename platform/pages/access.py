"""Who may see a page: signed in, member of an organisation; writers for the pages that change.

Pages read only through the domain selectors scoped to the user's organisation, so an object of
another organisation answers 404 exactly as the API does.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Membership
from accounts.selectors import membership_for_user

READ_ONLY_MESSAGE = "Your role (auditor) can read but not change anything."
NO_MEMBERSHIP_MESSAGE = (
    "Your account has no role in an organisation yet. Ask your organisation's administrator."
)

View = Callable[..., HttpResponse]


def render_page(
    request: HttpRequest, template: str, context: dict | None = None, *, status: int = 200
) -> HttpResponse:
    """Render with the user's membership (organisation and role) for the navigation bar."""
    membership = getattr(request, "membership", None)
    if membership is None and request.user.is_authenticated:
        membership = membership_for_user(user=request.user)
    return render(request, template, {"membership": membership, **(context or {})}, status=status)


def refusal(request: HttpRequest, message: str, *, status: int = 403) -> HttpResponse:
    return render_page(request, "pages/refused.html", {"message": message}, status=status)


def member_required(view: View) -> View:
    """Signed in and a member of an organisation; puts ``request.membership`` on the request."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:  # noqa: ANN002, ANN003
        membership = membership_for_user(user=request.user)
        if membership is None:
            return refusal(request, NO_MEMBERSHIP_MESSAGE)
        request.membership = membership
        return view(request, *args, **kwargs)

    return wrapper


def writer_required(view: View) -> View:
    """As `member_required`, and a role that may change things (designer or admin)."""

    @member_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:  # noqa: ANN002, ANN003
        membership: Membership = request.membership
        if not membership.can_write:
            return refusal(request, READ_ONLY_MESSAGE)
        return view(request, *args, **kwargs)

    return wrapper
