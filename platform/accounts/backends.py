"""Login throttling with django-axes, applied wherever a request is known.

Axes' own backend refuses to authenticate without a request; code that authenticates without
one (Django's test client ``login``, management commands) has no client to throttle, so this
backend steps aside there and the next backend checks the password as usual.
"""

from axes.backends import AxesStandaloneBackend


class ThrottledAuthenticationBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):  # noqa: ANN001
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
