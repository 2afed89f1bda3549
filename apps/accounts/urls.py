from django.urls import include, path

from apps.accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("delete/", views.delete_account, name="delete_account"),
    # logout (POST), password_change, password_reset and their confirmations.
    path("", include("django.contrib.auth.urls")),
]
