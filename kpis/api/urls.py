from django.urls import path

from . import views

# Mounted under /api/v1/o/<slug:org_slug>/ by cat4/urls.py.
org_urlpatterns = [
    path("kpis/", views.KpiListView.as_view(), name="api_kpi_list"),
    path("kpis/<int:kpi_id>/", views.KpiDetailView.as_view(), name="api_kpi_detail"),
    path("kpis/<int:kpi_id>/readings/", views.ReadingListView.as_view(),
         name="api_reading_list"),
    path("kpis/<int:kpi_id>/links/", views.KpiLinkListView.as_view(), name="api_kpi_link_list"),
    path("kpi-links/<int:link_id>/", views.KpiLinkDetailView.as_view(),
         name="api_kpi_link_detail"),
    path("kpis/<int:kpi_id>/plan/", views.KpiPlanView.as_view(), name="api_kpi_plan"),
]
