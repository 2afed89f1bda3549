from django.urls import include, path

from apps.accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("delete/", views.delete_account, name="delete_account"),
    path("password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    # logout (POST), password_change, the reset confirmations.
    path("", include("django.contrib.auth.urls")),
]
