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
from apps.accounts.forms import DeleteAccountForm, PasswordResetForm, SignInForm, SignupForm


def _too_many(request: HttpRequest, template: str, form, refusal: throttle.Refusal) -> HttpResponse:
    form.add_error(None, refusal.message)
    return with_refusal(render(request, template, {"form": form}), refusal)


def with_refusal(response: HttpResponse, refusal: throttle.Refusal | None) -> HttpResponse:
    """Mark ``response`` as the refusal it shows: 429, and when to try again."""
    if refusal is not None:
        response.status_code = 429
        response["Retry-After"] = str(refusal.retry_after)
    return response


def sign_in_response(response: HttpResponse) -> HttpResponse:
    """A sign-in page re-rendered because the throttle refused the attempt, answered as such."""
    form = (getattr(response, "context_data", None) or {}).get("form")
    return with_refusal(response, getattr(form, "refusal", None))


class LoginView(auth_views.LoginView):
    """Django's login, throttled per address and account (see apps.accounts.throttle)."""

    authentication_form = SignInForm

    def form_invalid(self, form):
        return sign_in_response(super().form_invalid(form))


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset view, limited per address (429) and per account (silently)."""

    form_class = PasswordResetForm

    def post(self, request, *args, **kwargs):
        address = throttle.client_address(request)
        refusal = throttle.RESET_REQUESTS_PER_ADDRESS.refusal(
            address, "Too many reset requests from here. Wait {wait} and try again."
        )
        if refusal:
            return _too_many(request, self.template_name, self.get_form(), refusal)
        throttle.RESET_REQUESTS_PER_ADDRESS.hit(address)
        return super().post(request, *args, **kwargs)


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
        refusal = throttle.SIGNUPS_PER_ADDRESS.refusal(
            address, "Too many attempts from here. Wait {wait} and try again."
        )
        if refusal:
            return _too_many(request, "registration/signup.html", form, refusal)
        throttle.SIGNUPS_PER_ADDRESS.hit(address)
        if form.is_valid():
            user = form.save()
            login(request, user, backend="apps.accounts.backends.UserBackend")
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
