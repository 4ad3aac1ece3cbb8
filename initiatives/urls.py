from django.urls import path

from governance import settings_views
from governance import views as governance_views

from . import views

# Mounted under /o/<slug:org_slug>/ by cat4/urls.py.
org_urlpatterns = [
    path("initiatives/", views.initiative_list, name="initiative_list"),
    path("initiatives/new/", views.initiative_create, name="initiative_create"),
    path("initiatives/<int:initiative_id>/", views.initiative_detail, name="initiative_detail"),
    path("initiatives/<int:initiative_id>/edit/", views.initiative_edit, name="initiative_edit"),
    path("initiatives/<int:initiative_id>/milestones/new/", views.milestone_add,
         name="milestone_add"),
    path("milestones/<int:milestone_id>/edit/", views.milestone_edit, name="milestone_edit"),
    path("milestones/<int:milestone_id>/delete/", views.milestone_delete,
         name="milestone_delete"),
    path("initiatives/<int:initiative_id>/lines/new/", views.impact_line_add,
         name="impact_line_add"),
    path("initiatives/<int:initiative_id>/values/<str:kind>/", views.values_edit,
         name="values_edit"),
    path("initiatives/<int:initiative_id>/updates/new/", views.status_update_add,
         name="status_update_add"),
    path("initiatives/<int:initiative_id>/gate/submit/", governance_views.gate_submit,
         name="gate_submit"),
    path("initiatives/<int:initiative_id>/hold/", governance_views.initiative_hold,
         name="initiative_hold"),
    path("initiatives/<int:initiative_id>/resume/", governance_views.initiative_resume,
         name="initiative_resume"),
    path("initiatives/<int:initiative_id>/cancel/", governance_views.initiative_cancel,
         name="initiative_cancel"),
    path("initiatives/<int:initiative_id>/validate-value/", governance_views.value_validate,
         name="value_validate"),
    path("approvals/<int:approval_id>/decide/", governance_views.approval_decide,
         name="approval_decide"),
    path("reviews/", governance_views.my_reviews, name="my_reviews"),
    path("inbox/", governance_views.inbox, name="inbox"),
    path("inbox/read/", governance_views.inbox_mark_read, name="inbox_mark_read"),
    path("decisions/", governance_views.decision_log, name="decision_log"),
    path("settings/governance/", settings_views.governance_settings,
         name="governance_settings"),
    path("settings/governance/values/", settings_views.value_settings_save,
         name="value_settings_save"),
    path("settings/governance/checklist/", settings_views.checklist_add, name="checklist_add"),
    path("settings/governance/criteria/<int:criterion_id>/toggle/",
         settings_views.criterion_toggle, name="criterion_toggle"),
    path("settings/governance/gates/<str:gate>/approvers/", settings_views.approvers_save,
         name="approvers_save"),
    path("settings/governance/lists/<str:kind>/", settings_views.list_item_add,
         name="list_item_add"),
    path("settings/governance/lists/<str:kind>/<int:item_id>/delete/",
         settings_views.list_item_remove, name="list_item_remove"),
]
