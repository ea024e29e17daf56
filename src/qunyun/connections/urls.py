"""Webhook endpoints (under /hooks/): the platforms call these.

* ``/hooks/telegram/<community>/`` — Telegram Bot API webhook (``X-Telegram-Bot-Api-Secret-Token``);
* ``/hooks/onebot/<community>/`` — OneBot v11 HTTP POST (``X-Signature``, access token);
  its reverse WebSocket is ``/hooks/onebot/<community>/ws`` (see :mod:`qunyun.asgi`);
* ``/hooks/generic/<community>/`` — qunyun's own signed JSON events.
"""

from django.urls import path

from . import views

app_name = "hooks"

urlpatterns = [
    path("telegram/<slug:slug>/", views.telegram_webhook, name="telegram"),
    path("onebot/<slug:slug>/", views.onebot_http, name="onebot"),
    path("generic/<slug:slug>/", views.generic_events, name="generic"),
]
