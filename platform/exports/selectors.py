from django.db.models import QuerySet

from accounts.models import Organisation

from .models import Export


def export_list(*, organisation: Organisation) -> QuerySet[Export]:
    return Export.objects.filter(organisation=organisation).select_related("run", "created_by")
