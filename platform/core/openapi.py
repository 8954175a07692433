"""The project's OpenAPI schema generator: drf-spectacular's, plus what every view shares."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from accounts.current import HEADER as ORGANISATION_HEADER

ORGANISATION_PARAMETER = OpenApiParameter(
    name=ORGANISATION_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Organisation to act within (slug or id), for users who belong to several. "
        "Optional for a user with one membership; a missing or unknown choice is a 400 naming "
        "this header."
    ),
)


class ScaAutoSchema(AutoSchema):
    def get_override_parameters(self) -> list:
        return [*super().get_override_parameters(), ORGANISATION_PARAMETER]
