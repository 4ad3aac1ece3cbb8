from django.urls import path  # noqa: F401 (the pages below are added issue by issue)

# Mounted under /o/<slug:org_slug>/ by cat4/urls.py.
org_urlpatterns: list = []
