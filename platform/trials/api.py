"""Trials and cohort specs: CRUD through the services, the spec JSON Schema for the form."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_support import OrganisationScopedMixin, service_errors

from .models import CohortSpec, Phase, Trial
from .selectors import spec_list, trial_list
from .services import spec_create, spec_update, trial_create, trial_delete, trial_update
from .spec_validation import spec_json_schema, spec_normalise


class TrialSerializer(serializers.ModelSerializer):
    latest_spec_version = serializers.SerializerMethodField()

    class Meta:
        model = Trial
        fields = (
            "id",
            "name",
            "indication",
            "phase",
            "description",
            "created_at",
            "updated_at",
            "latest_spec_version",
        )
        read_only_fields = ("id", "created_at", "updated_at", "latest_spec_version")

    def get_latest_spec_version(self, trial: Trial) -> int | None:
        latest = max((spec.version for spec in trial.specs.all()), default=None)
        return latest


class TrialInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    indication = serializers.CharField(max_length=200, required=False)
    phase = serializers.ChoiceField(choices=Phase.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, write_only=True
    )


class TrialViewSet(OrganisationScopedMixin, viewsets.ModelViewSet):
    queryset = Trial.objects.none()  # for the schema; get_queryset scopes
    serializer_class = TrialSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_fields = ["phase"]

    def get_queryset(self):  # noqa: ANN201
        return trial_list(organisation=self.organisation).prefetch_related("specs")

    @extend_schema(request=TrialInputSerializer, responses={201: TrialSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:  # noqa: ANN002, ANN003
        data = TrialInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "reason"}
        with service_errors():
            trial = trial_create(
                organisation=self.organisation, actor=request.user, client=self.client, **fields
            )
        return Response(TrialSerializer(trial).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TrialInputSerializer(partial=True), responses=TrialSerializer)
    def partial_update(self, request: Request, *args, **kwargs) -> Response:  # noqa: ANN002, ANN003
        trial = self.get_object()
        data = TrialInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        reason = changes.pop("reason", "")
        with service_errors():
            trial = trial_update(
                trial=trial, actor=request.user, changes=changes, reason=reason, client=self.client
            )
        return Response(TrialSerializer(trial).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:  # noqa: ANN002, ANN003
        trial = self.get_object()
        with service_errors():
            trial_delete(
                trial=trial,
                actor=request.user,
                client=self.client,
                reason=str(request.query_params.get("reason", ""))[:2000],
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SpecSerializer(serializers.ModelSerializer):
    is_frozen = serializers.BooleanField(read_only=True)

    class Meta:
        model = CohortSpec
        fields = (
            "id",
            "trial",
            "version",
            "data",
            "reason",
            "is_frozen",
            "frozen_at",
            "created_at",
        )
        read_only_fields = fields


class SpecCreateSerializer(serializers.Serializer):
    trial = serializers.PrimaryKeyRelatedField(queryset=Trial.objects.none())
    data = serializers.JSONField(help_text="The cohort spec; see /api/v1/specs/schema/.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def __init__(self, *args, organisation=None, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        super().__init__(*args, **kwargs)
        if organisation is not None:
            self.fields["trial"].queryset = trial_list(organisation=organisation)


class SpecUpdateSerializer(serializers.Serializer):
    data = serializers.JSONField()
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Required when the version is frozen (a run used it).",
    )


class SpecValidateSerializer(serializers.Serializer):
    data = serializers.JSONField()


class SpecFilter(django_filters.FilterSet):
    class Meta:
        model = CohortSpec
        fields = ["trial", "version"]


class SpecViewSet(
    OrganisationScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Cohort specs. An edit of a frozen version creates the next version (201)."""

    queryset = CohortSpec.objects.none()  # for the schema; get_queryset scopes
    serializer_class = SpecSerializer
    filterset_class = SpecFilter

    def get_queryset(self):  # noqa: ANN201
        return spec_list(organisation=self.organisation)

    @extend_schema(request=SpecCreateSerializer, responses={201: SpecSerializer})
    def create(self, request: Request) -> Response:
        data = SpecCreateSerializer(data=request.data, organisation=self.organisation)
        data.is_valid(raise_exception=True)
        with service_errors():
            spec = spec_create(
                trial=data.validated_data["trial"],
                actor=request.user,
                data=data.validated_data["data"],
                reason=data.validated_data.get("reason", ""),
                client=self.client,
            )
        return Response(SpecSerializer(spec).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=SpecUpdateSerializer, responses={200: SpecSerializer, 201: SpecSerializer}
    )
    def update(self, request: Request, pk: str | None = None) -> Response:
        spec = self.get_object()
        data = SpecUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            result = spec_update(
                spec=spec,
                actor=request.user,
                data=data.validated_data["data"],
                reason=data.validated_data.get("reason", ""),
                client=self.client,
            )
        created = result.pk != spec.pk
        return Response(
            SpecSerializer(result).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["get"], url_path="schema", url_name="schema")
    def json_schema(self, request: Request) -> Response:
        """The JSON Schema of a cohort spec (draft 2020-12), for the design form."""
        return Response(spec_json_schema())

    @extend_schema(request=SpecValidateSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"], url_path="validate", url_name="validate")
    def validate_spec(self, request: Request) -> Response:
        """Check a spec without saving it: 200 with its normalised form, or 400 per field."""
        data = SpecValidateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            normalised = spec_normalise(data.validated_data["data"])
        return Response({"valid": True, "data": normalised})
