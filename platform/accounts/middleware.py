"""Refuse oversized request bodies with 413 and the API's error envelope, before parsing.

DRF parses JSON straight from the request stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE check
(which guards ``request.body``) would not stop a huge payload; this checks Content-Length first.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class PayloadLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit_bytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length_bytes = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _error(400, "bad_request", "Content-Length is not a number.")
        if limit_bytes is not None and length_bytes > limit_bytes:
            return _error(
                413,
                "payload_too_large",
                f"The request body is {length_bytes} bytes; the limit is {limit_bytes} bytes.",
            )
        return self.get_response(request)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)
