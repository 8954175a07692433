"""Who may see a page: signed in, member of an organisation; writers for the pages that change.

Pages act within the user's current membership (`accounts.current`: the organisation chosen
with the header's switcher, kept in the session) and read only through the domain selectors
scoped to its organisation, so an object of another organisation answers 404 exactly as the API
does, including one of the user's other organisations until they switch to it.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.current import OrganisationChoiceError, current_membership
from accounts.models import Membership

READ_ONLY_MESSAGE = "Your role (auditor) can read but not change anything."
NO_MEMBERSHIP_MESSAGE = (
    "Your account has no role in an organisation yet. Ask your organisation's administrator."
)

View = Callable[..., HttpResponse]


def render_page(
    request: HttpRequest, template: str, context: dict | None = None, *, status: int = 200
) -> HttpResponse:
    """Render with the user's current membership (organisation and role) and their other
    memberships (for the header's switcher)."""
    try:
        membership = current_membership(request, browser=True)
    except OrganisationChoiceError:
        membership = None
    memberships = getattr(request, "memberships", [])
    return render(
        request,
        template,
        {"membership": membership, "memberships": memberships, **(context or {})},
        status=status,
    )


def refusal(request: HttpRequest, message: str, *, status: int = 403) -> HttpResponse:
    return render_page(request, "pages/refused.html", {"message": message}, status=status)


def member_required(view: View) -> View:
    """Signed in and a member of an organisation; puts ``request.membership`` on the request."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:  # noqa: ANN002, ANN003
        try:
            membership = current_membership(request, browser=True)
        except OrganisationChoiceError as exc:
            return refusal(request, exc.message, status=400)
        if membership is None:
            return refusal(request, NO_MEMBERSHIP_MESSAGE)
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
