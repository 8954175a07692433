"""Sign-in and sign-out (Django's views with our templates) and the organisation switcher."""

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from accounts.models import Membership

from .access import member_required, render_page


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    next_page = "/trials/"  # without ?next=, land on the work, not the public home page


class SignOutView(auth_views.LogoutView):
    pass


@member_required
def organisation_switcher(request: HttpRequest) -> HttpResponse:
    """The organisations the user belongs to. Today's model gives a user one membership, so the
    page lists it; with several it would offer each."""
    memberships = Membership.objects.filter(user=request.user).select_related("organisation")
    return render_page(request, "pages/organisations.html", {"memberships": memberships})
