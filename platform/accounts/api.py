"""Who am I (and in which organisations), and token login for scripts (throttled by
django-axes and a DRF rate)."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from .api_support import IsOrganisationMember, request_membership


class MembershipOutputSerializer(serializers.Serializer):
    organisation = serializers.CharField(source="organisation.name")
    organisation_id = serializers.IntegerField()
    slug = serializers.CharField(source="organisation.slug")
    role = serializers.CharField()


class MeOutputSerializer(serializers.Serializer):
    """The current organisation and role, and every membership (pick one with the
    ``X-Organisation`` header: slug or id)."""

    username = serializers.CharField()
    organisation = serializers.CharField()
    organisation_id = serializers.IntegerField()
    organisation_slug = serializers.CharField()
    role = serializers.CharField()
    can_write = serializers.BooleanField()
    memberships = MembershipOutputSerializer(many=True)


class MeApi(APIView):
    permission_classes = [IsOrganisationMember]

    @extend_schema(responses=MeOutputSerializer, operation_id="me")
    def get(self, request: Request) -> Response:
        membership = request_membership(request)
        return Response(
            MeOutputSerializer(
                {
                    "username": request.user.username,
                    "organisation": membership.organisation.name,
                    "organisation_id": membership.organisation_id,
                    "organisation_slug": membership.organisation.slug,
                    "role": membership.role,
                    "can_write": membership.can_write,
                    "memberships": request.memberships,
                }
            ).data
        )


class TokenInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=200, style={"input_type": "password"})


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenApi(APIView):
    """Exchange a username and password for an API token (`Authorization: Token <key>`)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=TokenInputSerializer,
        responses={200: TokenOutputSerializer},
        operation_id="auth_token_create",
    )
    def post(self, request: Request) -> Response:
        serializer = TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        django_request = request._request
        user = authenticate(request=django_request, **serializer.validated_data)
        if getattr(django_request, "axes_locked_out", False):
            raise Throttled(detail="Too many failed logins: this account is locked for a while.")
        if user is None or not user.is_active:
            raise AuthenticationFailed("Unknown username or wrong password.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response(TokenOutputSerializer({"token": token.key}).data, status=status.HTTP_200_OK)
