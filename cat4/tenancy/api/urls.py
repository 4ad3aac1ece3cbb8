from django.urls import path

from . import views

org_urlpatterns = [
    path("", views.OrganizationView.as_view(), name="api_organization"),
    path("members/", views.MemberListView.as_view(), name="api_member_list"),
    path("members/<int:member_id>/", views.MemberDetailView.as_view(), name="api_member_detail"),
    path("invitations/", views.InvitationListView.as_view(), name="api_invitation_list"),
    path("invitations/<int:invitation_id>/", views.InvitationDetailView.as_view(),
         name="api_invitation_detail"),
    path("membership-events/", views.MembershipEventListView.as_view(),
         name="api_membership_event_list"),
]

urlpatterns = [
    path("auth/token/", views.TokenCreateView.as_view(), name="api_token_create"),
    path("me/", views.MeView.as_view(), name="api_me"),
]
