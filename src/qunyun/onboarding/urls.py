"""Public onboarding URLs: /j/<community>/<channel>/ (活码) and /r/<community>/ (rules)."""

from django.urls import path

from . import views

app_name = "onboarding"

urlpatterns = [
    path("j/<slug:slug>/<slug:code>/", views.channel_join, name="join"),
    path("r/<slug:slug>/", views.rules_page, name="rules"),
]
