"""Console URLs (namespace ``console``)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "console"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="console/login.html", redirect_authenticated_user=True),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("c/<slug:slug>/", views.community_detail, name="community"),
    path("c/<slug:slug>/members/", views.community_members, name="members"),
    path("c/<slug:slug>/members/<int:member_id>/", views.member_detail, name="member"),
    path("c/<slug:slug>/groups/", views.community_groups, name="groups"),
    path("c/<slug:slug>/groups/<int:group_id>/", views.group_detail, name="group"),
    path("c/<slug:slug>/audit/", views.community_audit, name="audit"),
    # Sections another area fills in; their nav items point here until then (see nav.py).
    path("c/<slug:slug>/soon/<slug:section>/", views.section_placeholder, name="placeholder"),
]
