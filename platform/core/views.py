from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import health_report


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker status; 503 when either is down (for load balancers and compose)."""
    report = health_report()
    report["version"] = settings.SOFTWARE_VERSION
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"version": settings.SOFTWARE_VERSION})
