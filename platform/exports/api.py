"""Exports API: request an export of a succeeded run, follow its progress, download the zip."""

from pathlib import Path

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_support import OrganisationScopedMixin, service_errors
from imaging.streaming import file_response
from runs.models import SimulationRun
from runs.selectors import run_list

from .models import Export, ExportStatus
from .selectors import export_list
from .services import export_request


class ExportSerializer(serializers.ModelSerializer):
    run_id = serializers.IntegerField(read_only=True)
    progress = serializers.FloatField(read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "run_id",
            "status",
            "options",
            "progress",
            "steps_done",
            "steps_total",
            "attempts",
            "sha256",
            "size_bytes",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, export: Export) -> str | None:
        if export.status != ExportStatus.SUCCEEDED:
            return None
        return f"/api/v1/exports/{export.pk}/download/"


class ExportDetailSerializer(ExportSerializer):
    class Meta(ExportSerializer.Meta):
        fields = [*ExportSerializer.Meta.fields, "manifest", "timings_s"]
        read_only_fields = fields


class ExportRequestSerializer(serializers.Serializer):
    run = serializers.PrimaryKeyRelatedField(queryset=SimulationRun.objects.none())
    options = serializers.JSONField(required=False, default=dict)

    def __init__(self, *args, organisation=None, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        super().__init__(*args, **kwargs)
        if organisation is not None:
            self.fields["run"].queryset = run_list(organisation=organisation)


class ExportViewSet(
    OrganisationScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Export.objects.none()  # for the schema; get_queryset scopes
    serializer_class = ExportSerializer
    filterset_fields = ["run", "status"]

    def get_queryset(self):  # noqa: ANN201
        return export_list(organisation=self.organisation)

    def get_serializer_class(self):  # noqa: ANN201
        return ExportDetailSerializer if self.action == "retrieve" else ExportSerializer

    @extend_schema(request=ExportRequestSerializer, responses={201: ExportSerializer})
    def create(self, request: Request) -> Response:
        """Queue an export of a succeeded run (datasets, visits, sequences, resolution, layout)."""
        data = ExportRequestSerializer(data=request.data, organisation=self.organisation)
        data.is_valid(raise_exception=True)
        with service_errors():
            export = export_request(
                run=data.validated_data["run"],
                actor=request.user,
                options=data.validated_data.get("options") or {},
                client=self.client,
            )
        return Response(ExportSerializer(export).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str | None = None):  # noqa: ANN201
        """The archive (HTTP Range supported), once the export has succeeded."""
        export = self.get_object()
        if export.status != ExportStatus.SUCCEEDED:
            raise NotFound(f"The export is {export.status}: its archive exists once it succeeded.")
        path = Path(settings.MEDIA_ROOT) / export.archive_path
        if not path.is_file():
            raise NotFound("The archive file is missing from storage.")
        return file_response(
            path,
            range_header=request.headers.get("Range"),
            content_type="application/zip",
            filename=export.filename,
            sha256=export.sha256,
        )
