from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from apps.accounts import throttle


class SignupForm(auth_forms.UserCreationForm):
    email = forms.EmailField(
        required=True,
        help_text="For password resets, and review notices if you share docs (you can turn "
        "those off); nothing else.",
    )

    class Meta(auth_forms.UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def validate_password_for_user(self, user, **kwargs):
        # Django puts what is wrong with the password under its confirmation; it belongs to
        # the field where the password is chosen.
        super().validate_password_for_user(user, password_field_name="password1")

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email exists; sign in instead.")
        return email


class ThrottledSignInMixin:
    """Checks and counts each sign-in with ``throttle.SignIn``; a refused attempt never reaches
    the password check, and its reason is the form's error (and ``self.refusal``)."""

    refusal: throttle.Refusal | None = None

    def clean(self):
        # The cleaned username is exactly what the backend receives: stripped, NFKC-normalised.
        attempt = throttle.SignIn(
            throttle.client_address(self.request), self.cleaned_data.get("username")
        )
        self.refusal = attempt.refusal()
        if self.refusal:
            raise ValidationError(self.refusal.message, code="throttled")
        try:
            cleaned_data = super().clean()
        except ValidationError:
            attempt.failed()
            raise
        if self.get_user() is not None:
            attempt.succeeded()
        return cleaned_data


# Django's message says both fields "may be case-sensitive"; here the username is not
# (apps.accounts.backends.stored_username), and the message says so.
CASE = "The password is case-sensitive; the username is not."


class SignInForm(ThrottledSignInMixin, auth_forms.AuthenticationForm):
    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": f"Please enter a correct %(username)s and password. {CASE}",
    }


class AdminSignInForm(ThrottledSignInMixin, AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": "Please enter the correct %(username)s and password for a staff "
        f"account. {CASE}",
    }


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, mailing each account at most a few links an hour. The page after it
    says the same whether or not a mail went, so the limit tells nobody that an account exists."""

    def get_users(self, email):
        limit = throttle.RESET_MAILS_PER_ACCOUNT
        for user in super().get_users(email):
            if limit.hit(str(user.pk)) <= limit.limit:
                yield user


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Type it to confirm. Deleting cannot be undone.",
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password; nothing was deleted.")
        return password
