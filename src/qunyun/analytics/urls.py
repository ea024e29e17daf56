"""Analytics pages of the console (namespace ``analytics``)."""

from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("analytics/definitions/", views.definitions, name="definitions"),
    path("c/<slug:slug>/analytics/", views.dashboard, name="dashboard"),
    path("c/<slug:slug>/analytics/layers/<slug:layer>/", views.layer_list, name="layer"),
    path("c/<slug:slug>/analytics/thresholds/", views.thresholds, name="thresholds"),
]
