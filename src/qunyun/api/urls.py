"""API URLs: ``/api/…`` (OpenAPI at ``/api/openapi.json``, docs at ``/api/docs``)."""

from django.urls import path

from .main import api

urlpatterns = [path("", api.urls)]
