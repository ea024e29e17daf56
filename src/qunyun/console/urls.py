"""Console URLs (namespace ``console``)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "console"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="console/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("c/<slug:slug>/", views.community_detail, name="community"),
    path("c/<slug:slug>/members/", views.community_members, name="members"),
]
