from django.contrib import auth
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower

from core.db import TimestampedModel, UUIDModel, timestamp_field


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields) -> "User":
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True, verified=True)
        return self._create(email, password, **fields)

    def get_by_natural_key(self, username: str) -> "User":
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
    # Added for Django's admin and auth (docs/schema.md).
    is_active = models.BooleanField(default=True, db_default=True)
    is_staff = models.BooleanField(default=False, db_default=False)
    is_superuser = models.BooleanField(default=False, db_default=False)

    roles = models.ManyToManyField("Role", through="UserRole", related_name="users", blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

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
        ]

    def __str__(self) -> str:
        return f"session {self.pk} of {self.user_id}"


class ApiKey(UUIDModel):
    """A long-lived credential for programs (table ``api_keys``); ``key`` holds the SHA-256
    digest of the key, never the key."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    key = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = timestamp_field()

    class Meta:
        db_table = "api_keys"
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(name=""),
                name="%(app_label)s_%(class)s_name_not_empty",
                violation_error_message="An API key needs a name.",
            ),
        ]

    def __str__(self) -> str:
        return self.name
