"""Moderation URLs (namespace ``moderation``): console pages under /c/<slug>/moderation/, and the
public appeal page /appeal/<token>/."""

from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("appeal/<str:token>/", views.appeal_page, name="appeal"),
    path("c/<slug:slug>/moderation/", views.queue, name="queue"),
    path("c/<slug:slug>/moderation/cases/", views.case_list, name="cases"),
    path("c/<slug:slug>/moderation/cases/<int:number>/", views.case_detail, name="case"),
    path("c/<slug:slug>/moderation/cases/<int:number>/decide/", views.case_decide, name="case_decide"),
    path("c/<slug:slug>/moderation/appeals/", views.appeal_list, name="appeals"),
    path("c/<slug:slug>/moderation/appeals/<int:pk>/decide/", views.appeal_decide, name="appeal_decide"),
    path("c/<slug:slug>/moderation/policy/", views.policy_page, name="policy"),
    path("c/<slug:slug>/moderation/policy/groups/<int:group_id>/", views.group_policy_page, name="group_policy"),
    path("c/<slug:slug>/moderation/examples.jsonl", views.examples_export, name="examples"),
]
