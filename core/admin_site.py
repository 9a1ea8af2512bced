"""The admin site: Django's, gated on a verified OTP device when ``ADMIN_REQUIRES_2FA`` is on.

Core knows no app, so the accounts app fills in two parts of the gate (accounts/admin.py):
the login form that also takes recovery codes, and the page where a staff member without a
device enrols one.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
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


@dataclass(frozen=True)
class Figure:
    """One number on the dashboard, linked to the list it counts."""

    label: str
    value: str
    url: str = ""


@dataclass(frozen=True)
class Bar:
    label: str
    value: str
    share: int  # percent of the panel's longest bar
    url: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    figures: list[Figure] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    bars_title: str = ""
    items: list[Figure] = field(default_factory=list)
    items_title: str = ""


# A panel maker returns None for people whose roles do not cover what it shows.
PanelMaker = Callable[[HttpRequest], Panel | None]


class AtriumAdminSite(admin.AdminSite):
    """The setting is read on every request, so production (on) and development (off) run the
    same code, and a test can flip it through ``settings`` alone."""

    site_header = "Atrium staff console"
    site_title = "Atrium staff console"
    index_title = "Run the company"
    site_url = "/"
    # Lists (audit events, messages) need the width; the front page lists every section.
    enable_nav_sidebar = False

    # Filled in by the accounts app: its login form (codes and recovery codes), and the view
    # where signed-in staff without a device enrol one, served at two-factor/enrol/.
    two_factor_login_form: type[OTPAdminLoginForm] = OTPAdminLoginForm
    two_factor_enrolment_view: Callable[[HttpRequest], HttpResponse] | None = None
    # The accounts app's, which changes one's own password through its service (audited,
    # ending one's other sessions).
    password_change_view: type[PasswordChangeView] = PasswordChangeView

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The apps add theirs in their admin.py (register_panel), in INSTALLED_APPS order.
        self.dashboard_panels: list[PanelMaker] = []

    def register_panel(self, maker: PanelMaker) -> PanelMaker:
        self.dashboard_panels.append(maker)
        return maker

    def index(self, request, extra_context=None):
        panels = [panel for maker in self.dashboard_panels if (panel := maker(request))]
        return super().index(request, {"panels": panels, **(extra_context or {})})

    # Without a token field on the login page a 2FA user could never become verified. Read per
    # request (a property where Django has a plain attribute), hence the overrides' ignores.
    @property
    def login_form(self):  # type: ignore[override]
        return self.two_factor_login_form if settings.ADMIN_REQUIRES_2FA else None

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

    def needs_enrolment(self, request) -> bool:
        """Signed in with the password, staff, 2FA required, and no device to verify with:
        the one way on is enrolling one."""
        user = request.user
        return (
            settings.ADMIN_REQUIRES_2FA
            and self.two_factor_enrolment_view is not None
            and user.is_authenticated
            and user.is_active
            and user.is_staff
            and not user.is_verified()
            and not any(devices_for_user(user))
        )

    def password_change(self, request, extra_context=None):
        # Django's own, with the view above in place of its PasswordChangeView.
        request.current_app = self.name
        return self.password_change_view.as_view(
            form_class=AdminPasswordChangeForm,
            success_url=reverse(f"{self.name}:password_change_done"),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)

    def login(self, request, extra_context=None):
        # Where a password-only sign-in lands (the index sends the unverified here).
        if self.needs_enrolment(request):
            return HttpResponseRedirect(reverse(f"{self.name}:two_factor_enrol"))
        return super().login(request, extra_context)

    def get_urls(self):
        urls = super().get_urls()
        if self.two_factor_enrolment_view is None:
            return urls
        # Not behind admin_view: the people it serves are not let into the admin yet.
        enrol = path("two-factor/enrol/", self.two_factor_enrolment_view, name="two_factor_enrol")
        return [enrol, *urls]


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
