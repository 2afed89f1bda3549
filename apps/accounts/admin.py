from django.contrib import admin
from django.contrib.auth.decorators import login_not_required

from apps.accounts.forms import AdminSignInForm
from apps.accounts.views import sign_in_response


class ThrottledAdminSite(admin.AdminSite):
    """The admin, whose sign-in shares the front door's throttle and budgets: a guess spent at
    /admin/login/ is one fewer at /accounts/login/. Installed by ``apps.AdminConfig``."""

    login_form = AdminSignInForm

    @login_not_required
    def login(self, request, extra_context=None):
        return sign_in_response(super().login(request, extra_context))
