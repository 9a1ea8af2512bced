"""The admin site: Django's, gated on a verified OTP device when ``ADMIN_REQUIRES_2FA`` is on."""

from django.conf import settings
from django.contrib import admin
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite


class AtriumAdminSite(admin.AdminSite):
    """The setting is read on every request, so production (on) and development (off) run the
    same code, and a test can flip it through ``settings`` alone."""

    site_header = "Atrium administration"
    site_title = "Atrium admin"

    # Without a token field on the login page a 2FA user could never become verified.
    @property
    def login_form(self):
        return OTPAdminAuthenticationForm if settings.ADMIN_REQUIRES_2FA else None

    @property
    def login_template(self):
        return OTPAdminSite.login_template if settings.ADMIN_REQUIRES_2FA else None

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        # OTPMiddleware installs is_verified() on every request's user.
        return not settings.ADMIN_REQUIRES_2FA or request.user.is_verified()
