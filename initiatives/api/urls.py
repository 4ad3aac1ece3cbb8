from django.urls import path

from . import views

# Mounted under /api/v1/o/<slug:org_slug>/ by cat4/urls.py; gates, evidence, re-baselines
# and the other governance operations on initiatives are in governance/api/urls.py.
org_urlpatterns = [
    path("programs/", views.ProgramListView.as_view(), name="api_program_list"),
    path("initiatives/", views.InitiativeListView.as_view(), name="api_initiative_list"),
    path("initiatives/<int:initiative_id>/", views.InitiativeDetailView.as_view(),
         name="api_initiative_detail"),
    path("initiatives/<int:initiative_id>/milestones/", views.MilestoneListView.as_view(),
         name="api_milestone_list"),
    path("milestones/<int:milestone_id>/", views.MilestoneDetailView.as_view(),
         name="api_milestone_detail"),
    path("initiatives/<int:initiative_id>/lines/", views.ImpactLineListView.as_view(),
         name="api_impact_line_list"),
    path("lines/<int:line_id>/values/", views.LineValuesView.as_view(), name="api_line_values"),
    path("initiatives/<int:initiative_id>/status-updates/",
         views.StatusUpdateListView.as_view(), name="api_status_update_list"),
    path("initiatives/<int:initiative_id>/dependencies/", views.DependencyListView.as_view(),
         name="api_dependency_list"),
    path("dependencies/<int:dependency_id>/", views.DependencyDetailView.as_view(),
         name="api_dependency_detail"),
    path("initiatives/<int:initiative_id>/risks/", views.RiskListView.as_view(),
         name="api_risk_list"),
    path("risks/<int:risk_id>/", views.RiskDetailView.as_view(), name="api_risk_detail"),
]
