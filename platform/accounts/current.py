"""The current membership: the one organisation (and role) a request acts within.

The one place that decides it, for pages and API alike:

1. an ``X-Organisation`` header (slug or id) picks among the user's memberships; one the user
   does not hold is refused (`OrganisationChoiceError`, a 400 naming the header);
2. else the organisation remembered in the session (the browser's switcher);
3. else the only membership, when there is one;
4. else, with several and no choice: the browser gets the user's home organisation, the one
   they joined first (and remembers it, so the page's own API calls follow); a script gets a
   400 asking for the header.

A user with no membership has no current one (``None``): pages and API refuse them.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from .models import Membership
from .selectors import memberships_of

HEADER = "X-Organisation"
SESSION_KEY = "accounts.organisation_id"


class OrganisationChoiceError(Exception):
    """The request names no organisation of the user, or needs to name one. ``field`` is the
    header or form field to name in the error."""

    def __init__(self, message: str, *, field: str = HEADER) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _match(memberships: list[Membership], requested: str) -> Membership | None:
    """By slug first, then by id: a slug may look like a number, an id never looks like a
    slug of another organisation."""
    for membership in memberships:
        if membership.organisation.slug == requested:
            return membership
    if requested.isdigit():
        for membership in memberships:
            if membership.organisation_id == int(requested):
                return membership
    return None


def choose_membership(
    memberships: list[Membership],
    *,
    requested: str | None,
    remembered_id: int | None,
    default_to_home: bool,
) -> Membership | None:
    """Apply the rules of the module docstring to a user's memberships (ordered by name)."""
    if requested is not None:
        requested = requested.strip()
        membership = _match(memberships, requested) if requested else None
        if membership is None:
            held = ", ".join(m.organisation.slug for m in memberships) or "none"
            raise OrganisationChoiceError(
                f"You are not a member of an organisation {requested!r}. "
                f"Yours (by slug or id): {held}."
            )
        return membership
    if remembered_id is not None:
        for membership in memberships:
            if membership.organisation_id == remembered_id:
                return membership
    if len(memberships) == 1 or (memberships and default_to_home):
        return min(memberships, key=lambda membership: membership.pk)  # the one joined first
    if memberships:
        slugs = ", ".join(m.organisation.slug for m in memberships)
        raise OrganisationChoiceError(
            f"You belong to several organisations ({slugs}): name one in the {HEADER} "
            "header (slug or id)."
        )
    return None


def current_membership(request: HttpRequest, *, browser: bool) -> Membership | None:
    """The membership ``request`` acts within (cached on the request as ``request.membership``,
    with all of the user's memberships as ``request.memberships``).

    ``browser``: a page (default to the home organisation) rather than the API (ask).
    Raises `OrganisationChoiceError` for an unknown or missing choice.
    """
    if "membership" in request.__dict__:
        return request.__dict__["membership"]
    user: AbstractBaseUser = request.user
    if not (user and user.is_authenticated):
        return None
    memberships = list(memberships_of(user=user))
    session = getattr(request, "session", None)
    remembered = session.get(SESSION_KEY) if session is not None else None
    membership = choose_membership(
        memberships,
        requested=request.headers.get(HEADER),
        remembered_id=remembered if isinstance(remembered, int) else None,
        default_to_home=browser,
    )
    if browser and membership is not None and remembered != membership.organisation_id:
        remember(request, membership)
    request.memberships = memberships
    request.membership = membership
    return membership


def remember(request: HttpRequest, membership: Membership) -> None:
    """Make ``membership`` the session's current one (the browser's switcher)."""
    request.session[SESSION_KEY] = membership.organisation_id
    request.membership = membership
