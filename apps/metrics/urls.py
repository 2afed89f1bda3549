from django.urls import path

from apps.metrics import views

app_name = "metrics"

urlpatterns = [
    path("", views.metric_list, name="list"),
    path("choose/", views.metric_chooser, name="choose"),
    path("<slug:slug>/", views.metric_detail, name="detail"),
    path("<slug:slug>/calculate/", views.metric_calculate, name="calculate"),
]
