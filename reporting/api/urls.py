from django.urls import path

from . import dashboard as dashboard_api
from . import exports as exports_api
from . import imports as imports_api

# Mounted under /api/v1/o/<slug:org_slug>/ by cat4/urls.py.
org_urlpatterns: list = []

# The portfolio dashboard's figures (the page /o/<slug>/dashboard/) and its drill-down
# (the page /o/<slug>/dashboard/initiatives/).

org_urlpatterns += [
    path("dashboard/", dashboard_api.DashboardView.as_view(), name="api_dashboard"),
    path("dashboard/initiatives/", dashboard_api.DashboardDrillListView.as_view(),
         name="api_dashboard_initiatives"),
]

# Exports and board packs (issue #5).

org_urlpatterns += [
    path("exports/initiatives.xlsx", exports_api.InitiativesXlsxView.as_view(),
         name="api_export_initiatives_xlsx"),
    path("exports/initiatives.csv", exports_api.InitiativesCsvView.as_view(),
         name="api_export_initiatives_csv"),
    path("board-packs/", exports_api.BoardPackListView.as_view(), name="api_board_pack_list"),
    path("board-packs/<int:pack_id>/", exports_api.BoardPackDetailView.as_view(),
         name="api_board_pack_detail"),
    path("board-packs/<int:pack_id>/download/", exports_api.BoardPackDownloadView.as_view(),
         name="api_board_pack_download"),
]

# Excel import (issue #5).

org_urlpatterns += [
    path("imports/", imports_api.ImportListView.as_view(), name="api_import_list"),
    path("imports/template/", imports_api.ImportTemplateView.as_view(),
         name="api_import_template"),
    path("imports/<int:import_id>/", imports_api.ImportDetailView.as_view(),
         name="api_import_detail"),
    path("imports/<int:import_id>/import/", imports_api.ImportRunView.as_view(),
         name="api_import_run"),
    path("imports/<int:import_id>/rejected/", imports_api.ImportRejectedView.as_view(),
         name="api_import_rejected"),
]
