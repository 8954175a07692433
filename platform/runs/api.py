"""Runs (launch, status with progress, cancel, statistics, comparison) and their subjects."""

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_support import OrganisationScopedMixin, service_errors
from trials.models import CohortSpec
from trials.selectors import spec_list

from .api_cache import cached_json_response, run_cache_version
from .models import Assessment, RunStatistics, RunStatus, SimulationRun, Subject
from .selectors import (
    run_cache_row,
    run_detail,
    run_list,
    run_subject_list,
    subject_dicts,
    subject_list,
    subject_rows,
    subjects_frame,
)
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

    def get_object(self) -> SimulationRun:
        """The organisation's run by id (404 otherwise), in one query: without the list's
        filters and without the spec's JSON, which no detail answer shows."""
        run = run_detail(organisation=self.organisation, run_id=self.kwargs["pk"])
        if run is None:
            raise NotFound("No run with this id in your organisation.")
        self.check_object_permissions(self.request, run)
        return run

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

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        """Status and progress; a succeeded run's answer comes from the cache (with an ETag)."""
        run = self.get_object()
        return cached_json_response(
            self,
            request,
            scope="run",
            organisation_id=run.organisation_id,
            run_id=run.pk,
            version=run_cache_version(status=run.status, finished_at=run.finished_at),
            build=lambda: RunSerializer(run).data,
        )

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

        def build() -> dict:
            stats = RunStatistics.objects.filter(run=run).values("data", "computed_at").first()
            if stats is None:
                raise NotFound(f"The run is {run.status}: statistics exist once it has succeeded.")
            return {"run": run.pk, "computed_at": stats["computed_at"], **stats["data"]}

        return cached_json_response(
            self,
            request,
            scope="statistics",
            organisation_id=run.organisation_id,
            run_id=run.pk,
            version=run_cache_version(status=run.status, finished_at=run.finished_at),
            build=build,
        )

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


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class SubjectFilter(django_filters.FilterSet):
    """Every covariate and outcome: exact values, and ranges for the numeric ones."""

    # By id, not a ModelChoiceFilter: no query to validate it (the queryset is already scoped
    # to the organisation, so another organisation's run id simply matches nothing).
    run = IdFilter(field_name="run_id")
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

    #: Set by `list` once ``?run=`` named one of the organisation's runs: the queryset is then
    #: that run's subjects (no join to check the organisation again).
    _run_id: int | None = None

    def get_queryset(self):  # noqa: ANN201
        if self._run_id is not None:
            return run_subject_list(run_id=self._run_id)
        queryset = subject_list(organisation=self.organisation)
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("assessments")
        return queryset

    def list(self, request: Request) -> Response:
        """A page of subjects. Filtered to one succeeded run, the page comes from the cache."""
        organisation = self.organisation
        row = run_cache_row(organisation=organisation, run_id=request.query_params.get("run"))
        self._run_id = row["id"] if row else None
        return cached_json_response(
            self,
            request,
            scope="subjects",
            organisation_id=organisation.pk,
            run_id=row["id"] if row else 0,
            version=run_cache_version(status=row["status"], finished_at=row["finished_at"])
            if row
            else None,
            build=self._page,
        )

    def _page(self) -> dict:
        """What ListModelMixin answers, serialised from `values()` rows (same JSON, without
        a model instance and serializer fields per subject)."""
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(subject_rows(queryset))
        return self.get_paginated_response(subject_dicts(page)).data

    @extend_schema(responses=AssessmentSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def visits(self, request: Request, pk: str | None = None) -> Response:
        subject = self.get_object()
        return Response(AssessmentSerializer(subject.assessments.order_by("visit"), many=True).data)
