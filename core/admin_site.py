"""The admin site: Django's, gated on a verified OTP device when ``ADMIN_REQUIRES_2FA`` is on."""

import functools

from django.conf import settings
from django.contrib import admin
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from core.routing import read_tolerantly


class OTPAdminLoginForm(OTPAdminAuthenticationForm):
    """django-otp's admin login asks for the device before it checks a code (so a code tried on
    the wrong device cannot count as a failure there). A user with one device, as every Atrium
    account with 2FA has (its authenticator app), gets it chosen: email, password and code go
    in one step."""

    def clean_otp(self, user) -> None:
        if user is not None and not self.cleaned_data.get("otp_device"):
            devices = list(devices_for_user(user))
            if len(devices) == 1:
                self.cleaned_data["otp_device"] = devices[0].persistent_id
        super().clean_otp(user)


class AtriumAdminSite(admin.AdminSite):
    """The setting is read on every request, so production (on) and development (off) run the
    same code, and a test can flip it through ``settings`` alone."""

    site_header = "Atrium administration"
    site_title = "Atrium admin"

    # Without a token field on the login page a 2FA user could never become verified. Read per
    # request (a property where Django has a plain attribute), hence the overrides' ignores.
    @property
    def login_form(self):  # type: ignore[override]
        return OTPAdminLoginForm if settings.ADMIN_REQUIRES_2FA else None

    @property
    def login_template(self):  # type: ignore[override]
        return OTPAdminSite.login_template if settings.ADMIN_REQUIRES_2FA else None

    def admin_view(self, view, cacheable=False):
        # Changelists are the admin's tolerant reads: shown from the replica when it may be
        # (core/routing.py). Their actions (POST) stay on the primary.
        if getattr(view, "__name__", "") == "changelist_view":
            view = _changelist_from_replica(view)
        return super().admin_view(view, cacheable)

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        # OTPMiddleware installs is_verified() on every request's user.
        return not settings.ADMIN_REQUIRES_2FA or request.user.is_verified()


def _changelist_from_replica(changelist_view):
    @functools.wraps(changelist_view)
    def view(request, *args, **kwargs):
        if request.method != "GET":
            return changelist_view(request, *args, **kwargs)
        # The permissions are read (and kept on the user for the request) from the primary
        # before the page's queries go to the replica.
        request.user.get_all_permissions()

        def rendered():
            # The page's rows are fetched while its template renders: inside the read too.
            response = changelist_view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
            return response

        return read_tolerantly(rendered, user_id=request.user.pk)()

    return view
