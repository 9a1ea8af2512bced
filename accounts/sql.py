"""The credential lookup every API request runs, as SQL text free of Django.

accounts/selectors.py runs these statements through Django's connection and builds the model
instances from the row; bench/floor_me.py sends the very same text through a bare psycopg pool,
so the benchmark's floor measures Atrium's SQL and nothing else.

One statement brings the credential, its user, the user's profile and the permission names the
user holds through roles. It is written out rather than built by the ORM because building and
compiling the ORM's version (a three-table ``select_related`` with an array subquery) cost more
on every request than PostgreSQL took to answer it (README, Performance: 10.9M instructions
per chat page before, 6.8M after).

The column lists follow the models' concrete fields in order, which is what
``Model.from_db`` expects; a test holds them to the models.
"""

SESSION_COLUMNS = (
    "id",
    "user_id",
    "token",
    "expires_at",
    "metadata",
    "created_at",
    "last_accessed_at",
)
API_KEY_COLUMNS = (
    "id",
    "user_id",
    "key",
    "name",
    "expires_at",
    "created_at",
    "prefix",
    "scopes",
    "last_used_at",
)
USER_COLUMNS = (
    "last_login",
    "id",
    "created_at",
    "updated_at",
    "email",
    "password_hash",
    "verified",
    "totp_enabled",
    "totp_secret",
    "failed_login_attempts",
    "locked_until",
    "lockout_count",
    "is_active",
    "is_staff",
    "is_superuser",
)
PROFILE_COLUMNS = ("user_id", "display_name", "avatar_url", "bio", "created_at", "updated_at")

# The names of the permissions the credential's user holds through roles
# (accounts.authorization.user_permission_names is the same rule for one user object).
_GRANTED_NAMES = (
    "ARRAY(SELECT p.name FROM permissions p"
    " JOIN role_permissions rp ON rp.permission_id = p.id"
    " JOIN user_roles ur ON ur.role_id = rp.role_id"
    " WHERE ur.user_id = c.user_id)"
)


def _select(alias: str, columns: tuple[str, ...]) -> str:
    return ", ".join(f'{alias}."{column}"' for column in columns)


def _credential_lookup(table: str, columns: tuple[str, ...], condition: str) -> str:
    """The credential row of ``table`` (aliased ``c``) that ``condition`` picks, if its user
    is active, followed by the user's, the profile's (NULLs without one) and the names."""
    return (
        f"SELECT {_select('c', columns)}, {_select('u', USER_COLUMNS)},"
        f" {_select('p', PROFILE_COLUMNS)}, {_GRANTED_NAMES}"
        f' FROM "{table}" c'
        ' JOIN "users" u ON u."id" = c."user_id"'
        ' LEFT JOIN "user_profiles" p ON p."user_id" = u."id"'
        f' WHERE {condition} AND u."is_active"'
    )


# Parameters: digest (of the presented secret), now, idle_since (now less the idle timeout).
SESSION_LOOKUP = _credential_lookup(
    "sessions",
    SESSION_COLUMNS,
    'c."token" = %(digest)s AND c."expires_at" > %(now)s AND c."last_accessed_at" > %(idle_since)s',
)
# Parameters: digest, now.
API_KEY_LOOKUP = _credential_lookup(
    "api_keys",
    API_KEY_COLUMNS,
    'c."key" = %(digest)s AND (c."expires_at" IS NULL OR c."expires_at" > %(now)s)',
)
