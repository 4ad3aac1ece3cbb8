from django.urls import path

from . import views

# Mounted under /o/<slug:org_slug>/ by cat4/urls.py.
org_urlpatterns = [
    path("", views.org_home, name="org_home"),
    path("members/", views.member_list, name="member_list"),
    path("members/invite/", views.member_invite, name="member_invite"),
    path("members/<int:member_id>/role/", views.member_role, name="member_role"),
    path("members/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path("invitations/<int:invitation_id>/revoke/", views.invitation_revoke,
         name="invitation_revoke"),
    path("settings/", views.org_settings, name="org_settings"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("account/", views.profile, name="profile"),
    path("account/tokens/", views.api_token_create, name="api_token_create_page"),
    path("account/tokens/<str:token_key>/revoke/", views.api_token_revoke,
         name="api_token_revoke_page"),
]
