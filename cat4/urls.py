from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cat4.common.health import healthz
from cat4.tenancy import urls as tenancy_urls
from cat4.tenancy.api import urls as tenancy_api_urls
from cat4.tenancy.forms import EmailAuthenticationForm
from governance import urls as governance_urls
from governance.api import urls as governance_api_urls
from initiatives import urls as initiatives_urls
from initiatives.api import urls as initiatives_api_urls
from kpis import urls as kpis_urls
from kpis.api import urls as kpis_api_urls
from reporting import urls as reporting_urls
from reporting.api import urls as reporting_api_urls

# Every organisation-scoped page lives under /o/<slug>/ and every org-scoped API
# operation under /api/v1/o/<slug>/; tests/tenancy/test_isolation_matrix.py
# fails when one of them is missing from the isolation matrix.
org_pages = [
    *tenancy_urls.org_urlpatterns,
    *initiatives_urls.org_urlpatterns,
    *governance_urls.org_urlpatterns,
    *kpis_urls.org_urlpatterns,
    *reporting_urls.org_urlpatterns,
]
org_api = [
    *tenancy_api_urls.org_urlpatterns,
    *initiatives_api_urls.org_urlpatterns,
    *governance_api_urls.org_urlpatterns,
    *kpis_api_urls.org_urlpatterns,
    *reporting_api_urls.org_urlpatterns,
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(
        authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True),
        name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("o/<slug:org_slug>/", include(org_pages)),
    path("api/v1/o/<slug:org_slug>/", include(org_api)),
    path("api/v1/", include(tenancy_api_urls.urlpatterns)),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"),
         name="api_docs"),
    path("", include(tenancy_urls.urlpatterns)),
]

handler403 = "cat4.common.errors.permission_denied"
handler404 = "cat4.common.errors.page_not_found"
