"""Runs (launch, status with progress, cancel, statistics, comparison) and their subjects."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_support import OrganisationScopedMixin, service_errors
from trials.models import CohortSpec
from trials.selectors import spec_list

from .models import Assessment, RunStatistics, RunStatus, SimulationRun, Subject
from .selectors import run_list, subject_list, subjects_frame
from .services import SUBJECT_COLUMNS, run_cancel, run_launch
from .statistics import compare_cohorts


class RunSerializer(serializers.ModelSerializer):
    spec_version = serializers.IntegerField(source="spec.version", read_only=True)
    progress = serializers.FloatField(read_only=True)
    duration_s = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = SimulationRun
        fields = (
            "id",
            "trial",
            "spec",
            "spec_version",
            "name",
            "status",
            "progress",
            "size",
            "seed",
            "chunk_size",
            "chunks_total",
            "chunks_done",
            "device",
            "software_version",
            "calibration_version",
            "checkpoint_version",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "duration_s",
        )
        read_only_fields = fields


class RunLaunchSerializer(serializers.Serializer):
    spec = serializers.PrimaryKeyRelatedField(queryset=CohortSpec.objects.none())
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)

    def __init__(self, *args, organisation=None, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        super().__init__(*args, **kwargs)
        if organisation is not None:
            self.fields["spec"].queryset = spec_list(organisation=organisation)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class RunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)

    class Meta:
        model = SimulationRun
        fields = ["trial", "spec", "status"]


class RunViewSet(
    OrganisationScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = SimulationRun.objects.none()  # for the schema; get_queryset scopes
    serializer_class = RunSerializer
    filterset_class = RunFilter

    def get_queryset(self):  # noqa: ANN201
        return run_list(organisation=self.organisation)

    @extend_schema(request=RunLaunchSerializer, responses={201: RunSerializer})
    def create(self, request: Request) -> Response:
        """Launch a run of a spec version (which becomes frozen); chunks queue after commit."""
        data = RunLaunchSerializer(data=request.data, organisation=self.organisation)
        data.is_valid(raise_exception=True)
        with service_errors():
            run = run_launch(
                spec=data.validated_data["spec"],
                actor=request.user,
                name=data.validated_data.get("name", ""),
                client=self.client,
            )
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses={200: RunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            run = run_cancel(
                run=run,
                actor=request.user,
                reason=data.validated_data.get("reason", ""),
                client=self.client,
            )
        return Response(RunSerializer(run).data)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def statistics(self, request: Request, pk: str | None = None) -> Response:
        """Table 1, Kaplan-Meier, response, trajectories, bias and subgroups (once succeeded)."""
        run = self.get_object()
        stats = RunStatistics.objects.filter(run=run).values("data", "computed_at").first()
        if stats is None:
            raise NotFound(f"The run is {run.status}: statistics exist once it has succeeded.")
        return Response({"run": run.pk, "computed_at": stats["computed_at"], **stats["data"]})

    @extend_schema(
        parameters=[
            OpenApiParameter("a", int, required=True),
            OpenApiParameter("b", int, required=True),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"])
    def compare(self, request: Request) -> Response:
        """Two succeeded runs side by side (medians, response, log-rank p)."""
        params = CompareSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        runs = {
            key: self.get_queryset().filter(pk=params.validated_data[key]).first()
            for key in ("a", "b")
        }
        for key, run in runs.items():
            if run is None:
                raise NotFound(f"Run {key} was not found.")
            if run.status != RunStatus.SUCCEEDED:
                raise serializers.ValidationError(
                    {key: [f"The run is {run.status}, not succeeded."]}
                )
        comparison = compare_cohorts(subjects_frame(run=runs["a"]), subjects_frame(run=runs["b"]))
        return Response(
            {
                "a": RunSerializer(runs["a"]).data,
                "b": RunSerializer(runs["b"]).data,
                "comparison": comparison,
            }
        )


class CompareSerializer(serializers.Serializer):
    a = serializers.IntegerField(min_value=1)
    b = serializers.IntegerField(min_value=1)


# --- Subjects ------------------------------------------------------------------------------------


class AssessmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Assessment
        fields = ("visit", "day", "enhancing_ml", "necrosis_ml", "edema_ml", "spd_mm2", "response")


class SubjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Subject
        fields = ("id", "run", *SUBJECT_COLUMNS)


class SubjectDetailSerializer(SubjectSerializer):
    visits = AssessmentSerializer(source="assessments", many=True, read_only=True)

    class Meta(SubjectSerializer.Meta):
        fields = (*SubjectSerializer.Meta.fields, "visits")


class SubjectFilter(django_filters.FilterSet):
    """Every covariate and outcome: exact values, and ranges for the numeric ones."""

    subject_id = django_filters.CharFilter()
    age_min = django_filters.NumberFilter(field_name="age", lookup_expr="gte")
    age_max = django_filters.NumberFilter(field_name="age", lookup_expr="lte")
    kps_min = django_filters.NumberFilter(field_name="kps", lookup_expr="gte")
    kps_max = django_filters.NumberFilter(field_name="kps", lookup_expr="lte")
    os_months_min = django_filters.NumberFilter(field_name="os_months", lookup_expr="gte")
    os_months_max = django_filters.NumberFilter(field_name="os_months", lookup_expr="lte")
    pfs_months_min = django_filters.NumberFilter(field_name="pfs_months", lookup_expr="gte")
    pfs_months_max = django_filters.NumberFilter(field_name="pfs_months", lookup_expr="lte")

    class Meta:
        model = Subject
        fields = [
            "run",
            "sex",
            "race",
            "ethnicity",
            "kps",
            "mgmt_methylated",
            "idh_mutant",
            "resection",
            "regimen",
            "os_event",
            "pfs_event",
            "best_response",
        ]


class SubjectViewSet(
    OrganisationScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Subject.objects.none()  # for the schema; get_queryset scopes
    filterset_class = SubjectFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["subject_index", "age", "kps", "os_months", "pfs_months"]

    def get_serializer_class(self):  # noqa: ANN201
        return SubjectDetailSerializer if self.action == "retrieve" else SubjectSerializer

    def get_queryset(self):  # noqa: ANN201
        queryset = subject_list(organisation=self.organisation)
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("assessments")
        return queryset

    @extend_schema(responses=AssessmentSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def visits(self, request: Request, pk: str | None = None) -> Response:
        subject = self.get_object()
        return Response(AssessmentSerializer(subject.assessments.order_by("visit"), many=True).data)
