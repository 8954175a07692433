"""Volumes: list what is cached, and stream one (rendering it first if needed) with Range."""

from pathlib import Path

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_support import IsOrganisationMember, OrganisationScopedMixin, request_organisation
from runs.models import Assessment
from runs.selectors import subject_list

from .models import Engine, Sequence, Volume, VolumeStatus
from .services import volume_request
from .streaming import file_response

RENDER_RETRY_AFTER_S = 5


class NiftiRenderer(BaseRenderer):
    """Lets clients ask for `application/gzip`; the view returns the file itself."""

    media_type = "application/gzip"
    format = "nii.gz"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):  # noqa: ANN001, ANN201
        return data


class VolumeSerializer(serializers.ModelSerializer):
    subject_id = serializers.CharField(source="subject.subject_id", read_only=True)

    class Meta:
        model = Volume
        fields = (
            "id",
            "subject",
            "subject_id",
            "visit",
            "sequence",
            "engine",
            "status",
            "sha256",
            "size_bytes",
            "error",
            "requested_at",
            "rendered_at",
        )


class VolumeViewSet(
    OrganisationScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Volume.objects.none()  # for the schema; get_queryset scopes
    serializer_class = VolumeSerializer
    filterset_fields = ["subject", "visit", "sequence", "engine", "status"]

    def get_queryset(self):  # noqa: ANN201
        return (
            Volume.objects.filter(subject__run__organisation=self.organisation)
            .select_related("subject")
            .order_by("subject_id", "visit", "sequence", "engine")
        )


class VolumeFileApi(APIView):
    """GET a visit's volume as .nii.gz: 200/206 when cached, 202 while it renders."""

    permission_classes = [IsOrganisationMember]
    renderer_classes = [JSONRenderer, NiftiRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("engine", str, enum=[e.value for e in Engine]),
            OpenApiParameter("Range", str, OpenApiParameter.HEADER),
        ],
        responses={
            (200, "application/gzip"): OpenApiTypes.BINARY,
            (206, "application/gzip"): OpenApiTypes.BINARY,
            202: VolumeSerializer,
            416: OpenApiResponse(description="Range not satisfiable"),
        },
        operation_id="volume_file",
    )
    def get(self, request: Request, subject_pk: int, visit: int, sequence: str):  # noqa: ANN201
        subject = (
            subject_list(organisation=request_organisation(request))
            .filter(pk=subject_pk)
            .select_related("run")
            .first()
        )
        if subject is None:
            raise NotFound("No such subject.")
        if sequence not in Sequence.values:
            raise NotFound(f"Unknown sequence {sequence!r}; one of {', '.join(Sequence.values)}.")
        engine = request.query_params.get("engine", Engine.PHYSICS)
        if engine not in Engine.values:
            raise ValidationError({"engine": [f"One of {', '.join(Engine.values)}."]})
        if not Assessment.objects.filter(subject=subject, visit=visit).exists():
            raise NotFound(f"Subject {subject.subject_id} has no visit {visit}.")
        volume = volume_request(subject=subject, visit=visit, sequence=sequence, engine=engine)
        if volume.status == VolumeStatus.FAILED:
            return Response(
                {
                    "error": {
                        "code": "render_failed",
                        "message": f"Rendering failed: {volume.error}",
                    }
                },
                status=status.HTTP_409_CONFLICT,
            )
        if volume.status != VolumeStatus.READY:
            response = Response(VolumeSerializer(volume).data, status=status.HTTP_202_ACCEPTED)
            response["Retry-After"] = str(RENDER_RETRY_AFTER_S)
            return response
        path = Path(settings.MEDIA_ROOT) / volume.path
        return file_response(
            path,
            range_header=request.headers.get("Range"),
            content_type="application/gzip",
            filename=path.name,
            sha256=volume.sha256,
        )
