from django.urls import path

from . import views

# Mounted under /o/<slug:org_slug>/ by cat4/urls.py. The initiative's own page
# (initiative_detail) and its gate actions are governance's: governance/urls.py.
org_urlpatterns = [
    path("initiatives/", views.initiative_list, name="initiative_list"),
    path("initiatives/new/", views.initiative_create, name="initiative_create"),
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
    path("initiatives/<int:initiative_id>/dependencies/new/", views.dependency_add,
         name="dependency_add"),
    path("dependencies/<int:dependency_id>/delete/", views.dependency_remove,
         name="dependency_remove"),
    path("initiatives/<int:initiative_id>/risks/new/", views.risk_add, name="risk_add"),
    path("risks/<int:risk_id>/edit/", views.risk_edit, name="risk_edit"),
]
