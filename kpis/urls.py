from django.urls import path

from . import views

# Mounted under /o/<slug:org_slug>/ by cat4/urls.py.
org_urlpatterns = [
    path("kpis/", views.kpi_list, name="kpi_list"),
    path("kpis/new/", views.kpi_create, name="kpi_create"),
    path("kpis/<int:kpi_id>/", views.kpi_detail, name="kpi_detail"),
    path("kpis/<int:kpi_id>/readings/", views.reading_add, name="reading_add"),
    path("kpis/<int:kpi_id>/readings/upload/", views.readings_upload, name="readings_upload"),
    path("kpis/<int:kpi_id>/edit/", views.kpi_edit, name="kpi_edit"),
    path("kpis/<int:kpi_id>/plan/", views.kpi_plan, name="kpi_plan"),
    path("kpis/<int:kpi_id>/links/", views.kpi_link_add, name="kpi_link_add"),
    path("kpi-links/<int:link_id>/delete/", views.kpi_link_remove, name="kpi_link_remove"),
]
