"""``/shared/<token>/``: a doc through a read-only link (see apps.designdocs.sharing)."""

from django.urls import path

from apps.designdocs import sharing

app_name = "sharing"

urlpatterns = [path("<str:token>/", sharing.shared_doc, name="doc")]
