from django.urls import path  # noqa: F401 (the operations below are added issue by issue)

# Mounted under /api/v1/o/<slug:org_slug>/ by cat4/urls.py.
org_urlpatterns: list = []
