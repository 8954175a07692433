"""One error format for the whole API.

Every error response is ``{"error": {"code": ..., "message": ..., "fields": {path: [reasons]}}}``;
``fields`` is present for validation errors and names each offending field.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        for key, value in detail.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            fields.update(_flatten(value, path))
        return fields
    if isinstance(detail, list) and detail and all(isinstance(d, (dict, list)) for d in detail):
        fields = {}
        for index, value in enumerate(detail):
            fields.update(_flatten(value, f"{prefix}[{index}]" if prefix else f"[{index}]"))
        return fields
    items = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(item) for item in items]}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    body: dict[str, Any] = {"code": getattr(exc, "default_code", "error")}
    if isinstance(exc, exceptions.ValidationError):
        body["code"] = "invalid"
        body["message"] = "The request has invalid fields."
        body["fields"] = _flatten(exc.detail)
    else:
        detail = getattr(exc, "detail", str(exc))
        body["message"] = str(detail) if not isinstance(detail, (dict, list)) else "Request failed."
        if isinstance(detail, dict):
            body["fields"] = _flatten(detail)
    response.data = {"error": body}
    return response
