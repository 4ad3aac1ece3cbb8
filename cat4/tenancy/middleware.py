"""Resolve the tenant from the URL and run the request inside its scope.

Pages:  /o/<slug>/...         the member's Membership is resolved here; a
                              stranger (or an unknown slug) gets 404, so the
                              existence of an organisation is never revealed.
API:    /api/v1/o/<slug>/...  the scope is opened here; membership is
                              checked by the API's permission classes, after
                              DRF has authenticated the token.
Admin:  /admin/...            staff work across tenants, explicitly unscoped.

Pages and API run in the organisation's time zone (``Organization.time_zone``): times
are shown in it and "today" (due dates, staleness, the current fiscal year) is its date,
as in the organisation's jobs.
"""

import re

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from .selectors import membership_for, organization_by_slug

PAGE_PATH = re.compile(r"^/o/(?P<slug>[-\w]+)/")
API_PATH = re.compile(r"^/api/v1/o/(?P<slug>[-\w]+)/")
LAST_ORG_SESSION_KEY = "cat4_last_org"


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.membership = None
        path = request.path_info

        if path.startswith("/admin/"):
            with scopes_disabled():
                return self.get_response(request)

        match = PAGE_PATH.match(path)
        if match:
            return self._page(request, match["slug"])

        match = API_PATH.match(path)
        if match:
            org = organization_by_slug(match["slug"])
            if org is None:
                return self.get_response(request)  # the API view answers 404
            request.organization = org
            with scope(organization=org), timezone.override(org.zone):
                return self.get_response(request)

        return self.get_response(request)

    def _page(self, request, slug):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        org = organization_by_slug(slug)
        membership = membership_for(user=request.user, organization=org) if org else None
        if membership is None:
            raise Http404("No such organisation.")
        request.organization = org
        request.membership = membership
        if request.session.get(LAST_ORG_SESSION_KEY) != org.slug:
            request.session[LAST_ORG_SESSION_KEY] = org.slug
        with scope(organization=org), timezone.override(org.zone):
            return self.get_response(request)
