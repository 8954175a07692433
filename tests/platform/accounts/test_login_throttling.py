"""Token login for scripts, and django-axes locking out repeated failures."""

import pytest
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_a_token_authenticates_scripts(members):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "acme-designer", "password": "designer-password"},
        format="json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["role"] == "designer" and me.json()["organisation"] == "Acme Oncology"


@pytest.mark.django_db
def test_wrong_passwords_are_refused_then_the_account_is_locked(members, settings):
    client = APIClient()
    attempts = settings.AXES_FAILURE_LIMIT
    for _ in range(attempts):
        wrong = client.post(
            "/api/v1/auth/token/", {"username": "acme-auditor", "password": "guess"}, format="json"
        )
        assert wrong.status_code in (401, 403, 429)
    assert wrong.status_code == 429 or attempts > 0
    locked = client.post(
        "/api/v1/auth/token/",
        {"username": "acme-auditor", "password": "auditor-password"},
        format="json",
    )
    assert locked.status_code == 429, locked.content
    assert "locked" in locked.json()["error"]["message"]
    other = client.post(
        "/api/v1/auth/token/",
        {"username": "acme-admin", "password": "admin-password"},
        format="json",
    )
    assert other.status_code == 200, "the lockout is per user and address"


@pytest.mark.django_db
def test_the_browser_login_form_is_throttled_too(members, client, settings):
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    request = RequestFactory().post("/accounts/login/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert authenticate(request=request, username="acme-admin", password="nope") is None
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request=request, username="acme-admin", password="admin-password") is None
    assert getattr(request, "axes_locked_out", False)
