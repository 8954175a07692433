"""Sign-in and sign-out (Django's views with our templates) and the organisation switcher."""

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from accounts.current import remember
from accounts.services import membership_switch
from audit.services import ClientInfo

from .access import member_required, render_page


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    next_page = "/trials/"  # without ?next=, land on the work, not the public home page


class SignOutView(auth_views.LogoutView):
    pass


@require_http_methods(["GET", "POST"])
@member_required
def organisation_switcher(request: HttpRequest) -> HttpResponse:
    """The user's organisations, and the switch between them (POST ``organisation`` = id).

    The choice lives in the session; every page and the page's API calls then act within it.
    After a switch the user lands on the trials list: the page they were on belongs to the
    organisation they left, and answers 404 in the new one.
    """
    if request.method == "GET":
        return render_page(request, "pages/organisations.html")
    requested = request.POST.get("organisation", "").strip()
    chosen = next(
        (m for m in request.memberships if str(m.organisation_id) == requested and requested),
        None,
    )
    if chosen is None:
        return render_page(
            request,
            "pages/organisations.html",
            {"error": "Choose one of your organisations."},
            status=400,
        )
    previous = request.membership
    if chosen.pk != previous.pk:
        membership_switch(
            user=request.user,
            membership=chosen,
            previous=previous,
            client=ClientInfo.from_request(request),
        )
        remember(request, chosen)
    return redirect("pages:trials")
