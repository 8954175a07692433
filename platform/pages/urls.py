from django.urls import path

from . import (
    account_views,
    audit_views,
    export_views,
    run_views,
    trial_views,
    viewer_views,
)

app_name = "pages"

urlpatterns = [
    path("accounts/login/", account_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", account_views.SignOutView.as_view(), name="logout"),
    path("organisations/", account_views.organisation_switcher, name="organisations"),
    path("trials/", trial_views.trials_index, name="trials"),
    path("trials/<int:pk>/", trial_views.trial_detail, name="trial"),
    path("trials/<int:pk>/design/", trial_views.designer, name="designer"),
    path("runs/<int:pk>/", run_views.run_detail, name="run"),
    path("runs/<int:pk>/dashboard/", run_views.dashboard, name="dashboard"),
    path("runs/<int:pk>/dashboard/series.json", run_views.dashboard_series, name="series"),
    path("runs/<int:pk>/dashboard/subgroup.json", run_views.dashboard_subgroup, name="subgroup"),
    path("runs/<int:pk>/bias/", run_views.bias, name="bias"),
    path("runs/<int:pk>/subjects/", run_views.subjects, name="subjects"),
    path("runs/<int:pk>/subjects/<str:subject_id>/", run_views.subject_by_id, name="run-subject"),
    path("subjects/<int:pk>/", viewer_views.subject_viewer, name="viewer"),
    path("audit/", audit_views.audit_log, name="audit"),
    path("exports/", export_views.exports_index, name="exports"),
]
