"""The staff console's door: the login form, which also takes a recovery code; the page where
staff without an authenticator enrol one (reached from the login when ``ADMIN_REQUIRES_2FA``
is on); and changing one's own password. Each goes through the accounts services."""

from django import forms
from django.contrib import admin
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods
from django_otp import devices_for_user
from django_otp import login as otp_login

from core.admin_site import OTPAdminLoginForm
from core.api.context import action_context
from core.exceptions import DomainError

from .models import AuthenticatorDevice, User
from .services import two_factor, users


class AdminLoginForm(OTPAdminLoginForm):
    """Email, password and the authenticator's code, or one of the recovery codes given at
    enrolment (for a lost phone). Staff without a device sign in with the password alone and
    are sent to enrol one before anything else opens."""

    def clean_otp(self, user) -> None:
        if user is None:
            return
        devices = list(devices_for_user(user))
        if not devices:
            user.otp_device = None
            return
        device = next((d for d in devices if isinstance(d, AuthenticatorDevice)), None)
        token = (self.cleaned_data.get("otp_token") or "").strip()
        if device is None or not token or AuthenticatorDevice.TOKEN.fullmatch(token):
            super().clean_otp(user)
            return
        try:
            accepted = two_factor.two_factor_verify(
                user=user, code=token, context=action_context(self.request)
            )
        except DomainError as refusal:
            raise forms.ValidationError(refusal.detail, code="throttled") from refusal
        if not accepted:
            raise forms.ValidationError(
                self.otp_error_messages["invalid_token"], code="invalid_token"
            )
        # django-otp marks the session verified at login for the device set here.
        user.otp_device = device


class ConfirmCodeForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request: HttpRequest) -> HttpResponse:
    """Shows a new authenticator secret (QR code and text), confirms it with a code, then
    shows the recovery codes once and lets the person into the console."""
    if not admin.site.needs_enrolment(request):  # type: ignore[attr-defined]
        return HttpResponseRedirect(reverse("admin:index"))
    user = request.user
    form = ConfirmCodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            codes = two_factor.totp_confirm(
                user=user,  # type: ignore[arg-type]
                code=form.cleaned_data["code"],
                context=action_context(request),
            )
        except DomainError as refusal:
            form.add_error("code", refusal.detail)
        else:
            otp_login(request, AuthenticatorDevice.objects.get(user=user, confirmed=True))
            return render(
                request,
                "admin/two_factor_enrolled.html",
                {
                    **admin.site.each_context(request),
                    "title": "Keep your recovery codes",
                    "codes": codes,
                },
            )
    setup = two_factor.totp_pending(user=user) or two_factor.totp_setup(user=user)  # type: ignore[arg-type]
    return render(
        request,
        "admin/two_factor_enrol.html",
        {
            **admin.site.each_context(request),
            "title": "Set up two-factor authentication",
            "setup": setup,
            "form": form,
        },
    )


class OwnPasswordChangeView(PasswordChangeView):
    """The console's "Change password": the accounts service changes it, audits it and ends
    every other session of the person (this page's stays)."""

    def form_valid(self, form):
        try:
            users.password_change(
                user=form.user,
                current_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
                current_session=None,
                context=action_context(self.request),
            )
        except DomainError as refusal:
            form.add_error(None, refusal.detail)
            return self.form_invalid(form)
        update_session_auth_hash(self.request, User.objects.get(pk=form.user.pk))
        return HttpResponseRedirect(self.get_success_url())
