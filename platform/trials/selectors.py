from django.db.models import QuerySet

from accounts.models import Organisation

from .models import CohortSpec, Trial


def trial_list(*, organisation: Organisation) -> QuerySet[Trial]:
    return Trial.objects.filter(organisation=organisation).order_by("-created_at", "-id")


def spec_list(*, organisation: Organisation) -> QuerySet[CohortSpec]:
    return (
        CohortSpec.objects.filter(trial__organisation=organisation)
        .select_related("trial")
        .order_by("trial_id", "-version")
    )
