from django.urls import include, path

from apps.accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    # login, logout (POST), password_change, password_reset and their confirmations.
    path("", include("django.contrib.auth.urls")),
]
