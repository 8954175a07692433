"""The subject viewer: NiiVue over the visits of one synthetic patient."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from runs.selectors import assessment_list, subject_list

from .access import member_required, render_page
from .labels import RESPONSE_LABELS, SEQUENCE_LABELS


@member_required
def subject_viewer(request: HttpRequest, pk: int) -> HttpResponse:
    subject = get_object_or_404(
        subject_list(organisation=request.membership.organisation).select_related("run"), pk=pk
    )
    visits = list(
        assessment_list(subject=subject).values(
            "visit", "day", "enhancing_ml", "necrosis_ml", "edema_ml", "spd_mm2", "response"
        )
    )
    sequences = list(subject.run.spec.data.get("imaging", {}).get("sequences", SEQUENCE_LABELS))
    return render_page(
        request,
        "pages/viewer.html",
        {
            "subject": subject,
            "run": subject.run,
            "visits": visits,
            "viewer_config": {
                "subject": subject.pk,
                "subject_id": subject.subject_id,
                "visits": visits,
                "sequences": [{"key": s, "label": SEQUENCE_LABELS.get(s, s)} for s in sequences],
                "responses": RESPONSE_LABELS,
                "volume_url": f"/api/v1/subjects/{subject.pk}/visits/{{visit}}/volumes/{{sequence}}/",
            },
        },
    )
