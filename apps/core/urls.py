from django.urls import path

from apps.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("internal/metrics", views.prometheus_metrics, name="prometheus"),
    path("robots.txt", views.robots_txt, name="robots"),
    path("preview/markdown/", views.markdown_preview, name="markdown_preview"),
]
