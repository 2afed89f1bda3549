from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    verbose_name = "Accounts"


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin on ``ThrottledAdminSite``; INSTALLED_APPS names this instead of
    django.contrib.admin. Not this module's default config: that stays AccountsConfig."""

    default = False
    default_site = "apps.accounts.admin.ThrottledAdminSite"
