"""Cached API responses of succeeded runs, with ETags and conditional GET.

The data of a succeeded run never changes, so its JSON responses (run status, statistics,
pages of its subjects) are rendered once and kept in the ``api`` cache as bytes. The view
authorises first (organisation-scoped lookup: 404 for a foreign run, 403 without a login) and
only then calls `cached_json_response`; a cached body is therefore never served to a request
that could not have read the run.

The key holds everything that decides the bytes: API and software version, view, organisation,
run id and the run's version marker (status + finish time: a run that is not succeeded has no
marker and is never cached; one whose status changes gets another key), scheme and host (the
pagination links are absolute), the negotiated media type (``indent=``) and the normalised
query string. Entries expire after ``SCA_API_CACHE_TIMEOUT_S``; a stale key is simply never
asked for again.
"""

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_cache_control
from django.utils.http import parse_etags
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import RunStatus

API_VERSION = "v1"
CACHE_ALIAS = "api"
CACHE_HEADER = "X-Cache"  # hit | miss: which path answered (benchmarks and tests read it)


def run_cache_version(*, status: str, finished_at: datetime | None) -> str | None:
    """The version marker of a run's cacheable data, or None when it must not be cached."""
    if status != RunStatus.SUCCEEDED or finished_at is None:
        return None
    return f"{status}@{finished_at.isoformat()}"


def normalised_query(request: Request) -> str:
    """The query string with its parameters sorted (``b=1&a=2`` and ``a=2&b=1`` share a key)."""
    return urlencode(sorted((k, v) for k, values in request.query_params.lists() for v in values))


def _cache_key(request: Request, *, scope: str, organisation_id: int, run_id: int, version: str):  # noqa: ANN202
    parts = (
        API_VERSION,
        settings.SOFTWARE_VERSION,
        scope,
        str(organisation_id),
        str(run_id),
        version,
        request.scheme,
        request.get_host(),
        request.accepted_media_type or "",
        normalised_query(request),
    )
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"sca:api:{run_id}:{digest}"


def _etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:40]}"'


def _not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    wanted = {tag.removeprefix("W/") for tag in parse_etags(header)}
    return "*" in wanted or etag in wanted


def _respond(request: Request, body: bytes, content_type: str, etag: str, how: str) -> HttpResponse:
    if _not_modified(request, etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response[CACHE_HEADER] = how
    # Any client may keep it, but must ask again (authorisation runs on every request; an
    # unchanged body then costs a 304).
    patch_cache_control(response, private=True, no_cache=True)
    return response


def cached_json_response(
    view: APIView,
    request: Request,
    *,
    scope: str,
    organisation_id: int,
    run_id: int,
    version: str | None,
    build: Callable[[], Any],
) -> HttpResponse:
    """The response of ``build()`` (the view's data), from the cache when ``version`` is set.

    Call only after authorising the request for the run. ``build`` may raise API exceptions
    (404, 400): they are answered as usual and nothing is cached. Browsable-API (HTML)
    requests and runs without a version marker take the ordinary, uncached path.
    """
    renderer = request.accepted_renderer
    if version is None or renderer.format != "json":
        return Response(build())
    cache = caches[CACHE_ALIAS]
    key = _cache_key(
        request, scope=scope, organisation_id=organisation_id, run_id=run_id, version=version
    )
    entry = cache.get(key)
    if entry is not None:
        body, content_type, etag = entry
        return _respond(request, body, content_type, etag, "hit")
    body = renderer.render(
        build(),
        accepted_media_type=request.accepted_media_type,
        renderer_context=view.get_renderer_context(),
    )
    content_type = (
        f"{renderer.media_type}; charset={renderer.charset}"
        if renderer.charset
        else renderer.media_type
    )
    etag = _etag(body)
    cache.set(key, (body, content_type, etag), settings.SCA_API_CACHE_TIMEOUT_S)
    return _respond(request, body, content_type, etag, "miss")
