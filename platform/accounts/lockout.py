"""What a locked-out login gets back: the API's error envelope for API paths, text elsewhere."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

LOCKOUT_MESSAGE = "Too many failed logins: this account is locked for a while. Try again later."


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    status = settings.AXES_HTTP_RESPONSE_CODE
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "locked_out", "message": LOCKOUT_MESSAGE}}, status=status
        )
    return HttpResponse(LOCKOUT_MESSAGE, status=status, content_type="text/plain; charset=utf-8")
