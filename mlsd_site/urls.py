from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("apps.core.urls")),
    path("concepts/", include("apps.concepts.urls")),
    path("admin/", admin.site.urls),
]
