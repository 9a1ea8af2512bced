import base64
import re
from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django_otp.models import Device, ThrottlingMixin
from django_otp.oath import TOTP

from core import crypto
from core.db import JSONBTypeof, TimestampedModel, UUIDModel, timestamp_field


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields: object) -> "User":
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.update(is_staff=True, is_superuser=True, verified=True)
        return self._create(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        # Emails are unique without regard to case (users_email_ci_uniq), so logins are too.
        return self.get(email__iexact=username)


class User(AbstractBaseUser, TimestampedModel):
    """A person who signs in with an email address (table ``users``)."""

    email = models.EmailField(max_length=255, unique=True)
    # Django's hash string (argon2id) lives in the contract's password_hash column.
    password = models.CharField("password", max_length=255, db_column="password_hash")
    verified = models.BooleanField(null=True, default=False, db_default=False)
    totp_enabled = models.BooleanField(null=True, default=False, db_default=False)
    totp_secret = models.CharField(max_length=255, null=True, blank=True, editable=False)
    failed_login_attempts = models.IntegerField(null=True, default=0, db_default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    # How many lockouts in a row, so each one lasts longer (reset by a successful login).
    lockout_count = models.IntegerField(default=0, db_default=0, editable=False)
    # Added for Django's admin and auth (docs/schema.md).
    is_active = models.BooleanField(default=True, db_default=True)
    is_staff = models.BooleanField(default=False, db_default=False)
    is_superuser = models.BooleanField(default=False, db_default=False)

    roles: "models.ManyToManyField[Role, UserRole]" = models.ManyToManyField(
        "Role", through="UserRole", related_name="users", blank=True
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        db_table = "users"
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="%(app_label)s_%(class)s_email_ci_uniq",
                violation_error_message="A user with this email address already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(failed_login_attempts__gte=0),
                name="%(app_label)s_%(class)s_failed_logins_not_negative",
                violation_error_message="Failed login attempts cannot be negative.",
            ),
            models.CheckConstraint(
                condition=models.Q(lockout_count__gte=0),
                name="%(app_label)s_%(class)s_lockout_count_not_negative",
                violation_error_message="Lockout count cannot be negative.",
            ),
            models.CheckConstraint(
                condition=~models.Q(email=""),
                name="%(app_label)s_%(class)s_email_not_empty",
                violation_error_message="A user needs an email address.",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    # Django's admin and DRF ask the user object; like Django's PermissionsMixin it asks the
    # authentication backends, so accounts.backends.RoleBackend is the one authority.
    def get_all_permissions(self, obj=None) -> set[str]:
        names: set[str] = set()
        for backend in auth.get_backends():
            if hasattr(backend, "get_all_permissions"):
                names |= backend.get_all_permissions(self, obj)
        return names

    def has_perm(self, perm: str, obj=None) -> bool:
        if self.is_active and self.is_superuser:
            return True
        return any(
            hasattr(backend, "has_perm") and backend.has_perm(self, perm, obj)
            for backend in auth.get_backends()
        )

    def has_perms(self, perm_list, obj=None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        if self.is_active and self.is_superuser:
            return True
        prefix = f"{app_label}."
        return any(name.startswith(prefix) for name in self.get_all_permissions())


class UserProfile(models.Model):
    """What other people see of a user (table ``user_profiles``)."""

    user = models.OneToOneField(
        User, primary_key=True, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=255)
    avatar_url = models.URLField(max_length=1024, null=True, blank=True)
    bio = models.TextField(null=True, blank=True)
    created_at = timestamp_field()
    updated_at = timestamp_field()

    class Meta:
        db_table = "user_profiles"
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(display_name=""),
                name="%(app_label)s_%(class)s_display_name_not_empty",
                violation_error_message="A display name cannot be empty.",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class Permission(UUIDModel):
    """A named right, ``app_label.codename`` (table ``permissions``)."""

    name = models.CharField(max_length=255, unique=True)
    description = models.TextField(null=True, blank=True)
    created_at = timestamp_field()

    class Meta:
        db_table = "permissions"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(name__regex=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"),
                name="%(app_label)s_%(class)s_name_format",
                violation_error_message="A permission is named app_label.codename.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(UUIDModel):
    """A named bundle of permissions given to users (table ``roles``)."""

    name = models.CharField(max_length=255, unique=True)
    created_at = timestamp_field()

    permissions = models.ManyToManyField(
        Permission, through="RolePermission", related_name="roles", blank=True
    )

    class Meta:
        db_table = "roles"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(name=""),
                name="%(app_label)s_%(class)s_name_not_empty",
                violation_error_message="A role needs a name.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RolePermission(models.Model):
    """Grants a permission to a role (table ``role_permissions``)."""

    pk = models.CompositePrimaryKey("role_id", "permission_id")
    # The primary key's index already serves lookups by role.
    role = models.ForeignKey(Role, on_delete=models.CASCADE, db_index=False)
    permission = models.ForeignKey(Permission, on_delete=models.CASCADE)

    class Meta:
        db_table = "role_permissions"

    def __str__(self) -> str:
        return f"{self.role_id} → {self.permission_id}"


class UserRole(models.Model):
    """Gives a role to a user (table ``user_roles``)."""

    pk = models.CompositePrimaryKey("user_id", "role_id")
    user = models.ForeignKey(User, on_delete=models.CASCADE, db_index=False)
    role = models.ForeignKey(Role, on_delete=models.CASCADE)

    class Meta:
        db_table = "user_roles"

    def __str__(self) -> str:
        return f"{self.user_id} → {self.role_id}"


class ApiSession(UUIDModel):
    """A bearer-token session of an API client (table ``sessions``); ``token`` holds the
    SHA-256 digest of the token, never the token."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_sessions")
    token = models.CharField(max_length=255, unique=True)
    expires_at = models.DateTimeField()
    metadata = models.JSONField(null=True, default=dict, db_default={}, blank=True)
    created_at = timestamp_field()
    last_accessed_at = timestamp_field()

    class Meta:
        db_table = "sessions"
        ordering = ["-created_at"]
        verbose_name = "API session"
        indexes = [
            models.Index(fields=["user", "-last_accessed_at"], name="sessions_user_recent_idx"),
            models.Index(fields=["expires_at"], name="sessions_expires_idx"),
            # The staff console's list, newest first.
            models.Index(fields=["-created_at", "-id"], name="sessions_newest_idx"),
        ]

    # Set on the sessions accounts.selectors loads to authenticate a request: the user's
    # permission names, read in the same query. Absent on sessions loaded any other way.
    permission_names: list[str]

    def __str__(self) -> str:
        opened = (
            f"{self.created_at:%d %b %Y %H:%M}"
            if isinstance(self.created_at, datetime)
            else "(not saved)"
        )
        client = (self.metadata or {}).get("user_agent") or "unknown client"
        return f"Session opened {opened} from {client[:40]}"


class ApiKey(UUIDModel):
    """A long-lived credential for programs (table ``api_keys``); ``key`` holds the SHA-256
    digest of the key, never the key."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    key = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = timestamp_field()
    # The visible short id ("atr_Ab3dE9xQ…") that lets a person tell keys apart in a list.
    prefix = models.CharField(max_length=16, db_default="", editable=False)
    # Permission names the key is limited to; empty means all of the owner's permissions.
    scopes = models.JSONField(default=list, db_default=[], blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "api_keys"
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=Exact(JSONBTypeof("scopes"), "array"),
                name="%(app_label)s_%(class)s_scopes_is_array",
                violation_error_message="Scopes are a list of permission names.",
            ),
            models.CheckConstraint(
                condition=~models.Q(name=""),
                name="%(app_label)s_%(class)s_name_not_empty",
                violation_error_message="An API key needs a name.",
            ),
        ]

    is_api_key = True
    # Set on the keys accounts.selectors loads to authenticate a request: the owner's
    # permission names, read in the same query. Absent on keys loaded any other way.
    permission_names: list[str]

    def allows(self, perm: str) -> bool:
        """Whether the key's scopes admit ``perm`` (the owner's roles are checked apart)."""
        return not self.scopes or perm in self.scopes

    def __str__(self) -> str:
        return self.name


class AuthenticatorDevice(ThrottlingMixin, Device):
    """A user's authenticator app, as django-otp sees it (table ``totp_devices``). The secret it
    shares is the user's encrypted ``totp_secret``; the device keeps what verifying needs."""

    # django-otp names a device "<app>.<model>/<id>" in the admin's cookie session and parses
    # the id back as an integer, so this key stays an integer, unlike the contract's UUIDs.
    id = models.BigAutoField(primary_key=True)
    # One authenticator per user: two-factor state lives on the user (totp_enabled), and the
    # one-to-one key is also the index on user_id.
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="authenticator")
    # The time step of the last accepted code: each code works once, and never an older one.
    last_t = models.BigIntegerField(default=-1, db_default=-1, editable=False)

    STEP_SECONDS = 30
    DIGITS = 6
    # Steps accepted either side of now: slow clocks and codes typed as they change.
    TOLERANCE = 1
    TOKEN = re.compile(r"[0-9]{6}")

    class Meta:
        db_table = "totp_devices"
        verbose_name = "authenticator device"

    @classmethod
    def matching_step(cls, *, user: User, token: str) -> int | None:
        """The time step within ``TOLERANCE`` of now whose code for the user's secret is
        ``token``, or None. Says nothing of whether the code was used before."""
        if not user.totp_secret or not cls.TOKEN.fullmatch(token):
            return None
        key = base64.b32decode(crypto.decrypt(user.totp_secret))
        totp = TOTP(key, step=cls.STEP_SECONDS, digits=cls.DIGITS)
        if not totp.verify(int(token), tolerance=cls.TOLERANCE):
            return None
        return totp.t()

    def verify_token(self, token) -> bool:
        """Accepts a code of a step later than any accepted before, unless failures have
        throttled the device; every refusal counts as a failure."""
        if not self.verify_is_allowed()[0]:
            return False
        step = self.matching_step(user=self.user, token=str(token))
        # The condition sits in the UPDATE, so of two requests carrying one code only one moves
        # last_t, even for a caller that did not lock the row.
        if step is not None and (
            type(self).objects.filter(pk=self.pk, last_t__lt=step).update(last_t=step) == 1
        ):
            self.last_t = step
            self.throttle_reset()
            return True
        self.throttle_increment()
        return False

    def get_throttle_factor(self) -> int:
        # django-otp's own TOTP setting, so its documentation applies unchanged.
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    # ThrottlingMixin saves the whole row; saving only its own columns keeps a stale copy of the
    # device from writing back a last_t that a concurrent verification has moved on.
    _THROTTLE_FIELDS = ("throttling_failure_timestamp", "throttling_failure_count")

    def throttle_reset(self, commit: bool = True) -> None:
        super().throttle_reset(commit=False)
        if commit:
            self.save(update_fields=self._THROTTLE_FIELDS)

    def throttle_increment(self, commit: bool = True) -> None:
        super().throttle_increment(commit=False)
        if commit:
            self.save(update_fields=self._THROTTLE_FIELDS)


class RecoveryCode(UUIDModel):
    """A single-use code that stands in for the authenticator (table ``recovery_codes``);
    ``code_hash`` holds the SHA-256 digest of the code, never the code."""

    # The unique (user, code_hash) index leads with user_id and serves lookups by user.
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="recovery_codes", db_index=False
    )
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = timestamp_field()

    class Meta:
        db_table = "recovery_codes"
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "code_hash"],
                name="%(app_label)s_%(class)s_user_code_uniq",
                violation_error_message="The user already has this recovery code.",
            ),
        ]

    def __str__(self) -> str:
        return f"recovery code of {self.user_id}"


class SignInDevice(UUIDModel):
    """A kind of device and a network a user signed in from (table ``sign_in_devices``): a
    sign-in from one not seen for 30 days is emailed to them (accounts/devices.py)."""

    # The unique (user, family, network) index leads with user_id and serves lookups by user.
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="sign_in_devices", db_index=False
    )
    family = models.CharField(max_length=100)  # "Firefox on Linux"
    network = models.CharField(max_length=50)  # "203.0.113.0/24"
    first_seen_at = timestamp_field()
    last_seen_at = models.DateTimeField()

    class Meta:
        db_table = "sign_in_devices"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "family", "network"],
                name="%(app_label)s_%(class)s_once_per_user",
                violation_error_message="This device is already known for the user.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.family} from {self.network}"
