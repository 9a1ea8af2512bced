"""The pages the emailed links open: confirming an address and choosing a new password. Plain
forms (no JavaScript), each calling the same service as the API."""

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from core.api.context import action_context
from core.exceptions import DomainError

from .services import users


class NewPasswordForm(forms.Form):
    new_password = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label="New password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", "The two passwords differ.")
        return data


def _add_refusal(form: forms.Form, refusal: DomainError) -> None:
    """A service's refusal on the form: each named field that the form has, the rest on top."""
    placed = False
    for name, messages in refusal.fields.items():
        if name in form.fields:
            for message in messages:
                form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, refusal.detail)


@never_cache
@require_http_methods(["GET", "POST"])
def verify_email(request: HttpRequest) -> HttpResponse:
    """GET shows a button (mail scanners that open links must not confirm an address); the
    POST confirms it."""
    token = request.POST.get("token") or request.GET.get("token", "")
    context = {"title": "Confirm your email address", "token": token}
    if request.method == "POST":
        try:
            user = users.user_verify_email(token=token)
        except DomainError as refusal:
            context["error"] = refusal.detail
        else:
            context["verified_email"] = user.email
    return render(request, "accounts/verify_email.html", context)


@never_cache
@sensitive_post_parameters("new_password", "new_password_again")
@require_http_methods(["GET", "POST"])
def reset_password(request: HttpRequest) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    uid, token = params.get("uid", ""), params.get("token", "")
    form = NewPasswordForm(request.POST if request.method == "POST" else None)
    context = {"title": "Choose a new password", "uid": uid, "token": token, "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            users.password_reset_confirm(
                uid=uid,
                token=token,
                new_password=form.cleaned_data["new_password"],
                context=action_context(request),
            )
        except DomainError as refusal:
            _add_refusal(form, refusal)
        else:
            context["done"] = True
    return render(request, "accounts/reset_password.html", context)
