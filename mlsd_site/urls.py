from django.contrib import admin
from django.urls import include, path

from apps.metrics.api import api

urlpatterns = [
    path("", include("apps.core.urls")),
    path("concepts/", include("apps.concepts.urls")),
    path("metrics/", include("apps.metrics.urls")),
    path("estimates/", include("apps.estimates.urls")),
    path("docs/", include("apps.designdocs.urls")),
    path("shared/", include("apps.designdocs.sharing_urls")),
    path("search/", include("apps.search.urls")),
    path("practice/", include("apps.practice.urls")),
    path("", include("apps.reviews.urls")),
    path("api/", api.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "apps.core.views.page_not_found"
