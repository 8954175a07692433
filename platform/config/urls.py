from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.api import MeApi, TokenApi
from audit.api import AuditEventViewSet
from core import views as core_views
from exports.api import ExportViewSet
from imaging.api import VolumeFileApi, VolumeViewSet
from runs.api import RunViewSet, SubjectViewSet
from trials.api import SpecViewSet, TrialViewSet

# --- REST API, version 1 -----------------------------------------------------------------------
api_router = DefaultRouter()
api_router.register("trials", TrialViewSet, basename="trial")
api_router.register("specs", SpecViewSet, basename="spec")
api_router.register("runs", RunViewSet, basename="run")
api_router.register("subjects", SubjectViewSet, basename="subject")
api_router.register("volumes", VolumeViewSet, basename="volume")
api_router.register("audit", AuditEventViewSet, basename="audit")
api_router.register("exports", ExportViewSet, basename="export")

api_v1_patterns = [
    path("me/", MeApi.as_view(), name="me"),
    path("auth/token/", TokenApi.as_view(), name="auth-token"),
    path(
        "subjects/<int:subject_pk>/visits/<int:visit>/volumes/<str:sequence>/",
        VolumeFileApi.as_view(),
        name="volume-file",
    ),
    *api_router.urls,
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("", include("pages.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1_patterns, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
