from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from apps.accounts import throttle
from apps.accounts.forms import DeleteAccountForm, SignupForm


def _too_many(request: HttpRequest, template: str, form, limit: throttle.Limit) -> HttpResponse:
    form.add_error(
        None,
        f"Too many attempts from here. Wait {limit.minutes} minutes and try again, "
        "or reset your password if you have forgotten it.",
    )
    return render(request, template, {"form": form}, status=429)


class LoginView(auth_views.LoginView):
    """Django's login, refusing an address or account after repeated failures."""

    def post(self, request, *args, **kwargs):
        address = throttle.client_address(request)
        account = request.POST.get("username", "").strip().lower()
        for limit, who in (
            (throttle.LOGIN_FAILURES_PER_ADDRESS, address),
            (throttle.LOGIN_FAILURES_PER_ACCOUNT, account),
        ):
            if limit.exceeded(who):
                return _too_many(request, self.template_name, self.get_form(), limit)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            throttle.LOGIN_FAILURES_PER_ACCOUNT.reset(account)
        else:
            throttle.LOGIN_FAILURES_PER_ADDRESS.hit(address)
            throttle.LOGIN_FAILURES_PER_ACCOUNT.hit(account)
        return response


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account and sign in straight away."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = ""
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        address = throttle.client_address(request)
        if throttle.SIGNUPS_PER_ADDRESS.exceeded(address):
            return _too_many(
                request, "registration/signup.html", form, throttle.SIGNUPS_PER_ADDRESS
            )
        throttle.SIGNUPS_PER_ADDRESS.hit(address)
        if form.is_valid():
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    """Delete the account and everything in it, after the password is typed again."""
    form = DeleteAccountForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        user.delete()  # design docs, answers, revisions and search entries cascade
        messages.success(request, "Your account and all its documents are deleted.")
        return redirect("core:home")
    return render(request, "registration/delete_account.html", {"form": form})
