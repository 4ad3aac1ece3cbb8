from django.urls import path

from . import boardpack_views, export_views, history_views, import_views, views

# Mounted under /o/<slug:org_slug>/ by cat4/urls.py.
org_urlpatterns: list = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/initiatives/", views.dashboard_initiatives, name="dashboard_initiatives"),
]

# Exports and board packs (issue #5).

org_urlpatterns += [
    path("exports/initiatives.xlsx", export_views.export_initiatives_xlsx,
         name="export_initiatives_xlsx"),
    path("exports/initiatives.csv", export_views.export_initiatives_csv,
         name="export_initiatives_csv"),
    path("board-packs/", boardpack_views.board_pack_list, name="board_pack_list"),
    path("board-packs/<int:pack_id>/row/", boardpack_views.board_pack_row,
         name="board_pack_row"),
    path("board-packs/<int:pack_id>/download/", boardpack_views.board_pack_download,
         name="board_pack_download"),
]

# Excel import (issue #5).

org_urlpatterns += [
    path("imports/", import_views.import_list, name="import_list"),
    path("imports/template.xlsx", import_views.import_template, name="import_template"),
    path("imports/<int:import_id>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:import_id>/import/", import_views.import_run, name="import_run"),
    path("imports/<int:import_id>/rejected.xlsx", import_views.import_rejected,
         name="import_rejected"),
]

# What changed since a date and the portfolio as of a date (issue #5).

org_urlpatterns += [
    path("changes/", history_views.changes, name="changes"),
]
