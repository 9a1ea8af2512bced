"""Who may call which accounts endpoint, and what every accounts list costs.

The callers: a member, staff, an admin, a user without any role, and the member's API key
limited to reading profiles. Signing up, in and out and resetting a password are open to
anyone; everything under /me is the caller's own, and credentials (sessions, API keys, the
password, two-factor) are managed from a signed-in session only, so keys are refused there.
A session or key of someone else is 404 like one that does not exist. The user directory
needs accounts.view_userprofile; roles and permissions are for admins (staff may read them)."""

import pytest

from accounts.models import User
from tests.api_matrix import ANONYMOUS, Endpoint, Matrix, Scene, api_key, bearer
from tests.factories import (
    DEFAULT_PASSWORD,
    ApiKeyFactory,
    ApiSessionFactory,
    PermissionFactory,
    RoleFactory,
    RolePermissionFactory,
    UserFactory,
    UserProfileFactory,
)

pytestmark = pytest.mark.django_db

CALLERS = ("anonymous", "member", "staff", "admin", "no_role", "read_key")
SIGNED_IN = {"member", "staff", "admin", "no_role"}
PROFILE_READERS = {"member", "staff", "admin", "read_key"}
ROLE_READERS = {"staff", "admin"}


def public(name, path, body, *, status=202) -> Endpoint:
    """An endpoint for people not signed in: a credential changes nothing."""
    return Endpoint(name, "post", "/api/v1" + path, body, ok=CALLERS, status=status)


def mine(
    name, method, path, body=None, *, status=200, sessions_only=True, queries=None
) -> Endpoint:
    """The caller's own account: every signed-in caller; API keys refused where it manages
    credentials."""
    ok = SIGNED_IN if sessions_only else SIGNED_IN | {"read_key"}
    return Endpoint(
        name, method, "/api/v1" + path, body, ok=ok, status=status, others=403, queries=queries
    )


def by_role(name, method, path, body=None, *, ok, status=200, queries=None, grows=True) -> Endpoint:
    """An endpoint of accounts.* permissions, granted through roles."""
    return Endpoint(
        name,
        method,
        "/api/v1" + path,
        body,
        ok=ok,
        status=status,
        others=403,
        queries=queries,
        grows=grows,
    )


def credential(name, path, *, owner="member") -> Endpoint:
    """One of the member's own credentials: someone else's is 404; a key may not touch any."""
    return Endpoint(
        name, "delete", "/api/v1" + path, ok={owner}, status=204, forbidden={"read_key"}
    )


# Every list: the credential lookup (which brings the user and its permission names), then
# the page; roles bring their permissions with one more.
MATRIX = Matrix(
    callers=CALLERS,
    reader="admin",
    endpoints=[
        public(
            "register",
            "/auth/register",
            {
                "email": "new@example.com",
                "password": "a long enough passphrase",
                "display_name": "N",
            },
        ),
        public("resend verification", "/auth/verify-email/resend", {"email": "new@example.com"}),
        public("password reset", "/auth/password-reset", {"email": "member@example.com"}),
        public(
            "login",
            "/auth/login",
            {"email": "member@example.com", "password": DEFAULT_PASSWORD},
            status=200,
        ),
        # Wrong tokens: refused for what they are, never for who sends them.
        public("verify email", "/auth/verify-email", {"token": "wrong"}, status=400),
        public(
            "password reset confirm",
            "/auth/password-reset/confirm",
            {"token": "wrong", "password": "a long enough passphrase"},
            status=400,
        ),
        public(
            "second factor",
            "/auth/login/2fa",
            {"challenge": "wrong", "code": "123456"},
            status=400,
        ),
        # Ends the session that signed the request; a key has none to end.
        mine("logout", "post", "/auth/logout", status=204, sessions_only=False),
        mine("me", "get", "/me", sessions_only=False),
        mine("profile", "get", "/me/profile", sessions_only=False),
        Endpoint(
            "profile change",
            "patch",
            "/api/v1/me/profile",
            {"bio": "hi"},
            ok=SIGNED_IN - {"no_role"},
            # Editing one's profile is the member role's accounts.change_userprofile.
            forbidden={"read_key", "no_role"},
        ),
        mine(
            "password change",
            "post",
            "/me/password",
            {"current_password": DEFAULT_PASSWORD, "new_password": "a much better passphrase"},
            status=204,
        ),
        mine("session list", "get", "/me/sessions", queries=2),
        mine("revoke other sessions", "post", "/me/sessions/revoke-others"),
        credential("session revoke", "/me/sessions/{member_session}"),
        mine("api key list", "get", "/me/api-keys", queries=2),
        mine("api key create", "post", "/me/api-keys", {"name": "ci"}, status=201),
        credential("api key revoke", "/me/api-keys/{member_key}"),
        mine("two-factor status", "get", "/me/2fa"),
        mine("two-factor setup", "post", "/me/2fa/setup"),
        # Nobody here has started a setup or turned two-factor on: past every permission
        # check, the rule answers 409.
        mine("two-factor confirm", "post", "/me/2fa/confirm", {"code": "123456"}, status=409),
        mine(
            "recovery codes",
            "post",
            "/me/2fa/recovery-codes",
            {"password": DEFAULT_PASSWORD},
            status=409,
        ),
        mine(
            "two-factor disable",
            "post",
            "/me/2fa/disable",
            {"password": DEFAULT_PASSWORD},
            status=204,
        ),
        by_role("user directory", "get", "/users", ok=PROFILE_READERS, queries=2),
        by_role("directory entry", "get", "/users/{member_id}", ok=PROFILE_READERS),
        by_role(
            "assign roles", "put", "/users/{member_id}/roles", {"roles": ["staff"]}, ok={"admin"}
        ),
        by_role("role list", "get", "/roles", ok=ROLE_READERS, queries=3),
        by_role("role read", "get", "/roles/{role}", ok=ROLE_READERS),
        by_role(
            "role permissions",
            "put",
            "/roles/{role}/permissions",
            {"permissions": ["chat.view_conversation"]},
            ok={"admin"},
        ),
        # Every model's permissions fill the first page already.
        by_role("permission list", "get", "/permissions", ok=ROLE_READERS, queries=2, grows=False),
        by_role("permission read", "get", "/permissions/{permission}", ok=ROLE_READERS),
    ],
)


@pytest.fixture
def scene(synced_roles) -> Scene:
    member = UserFactory(email="member@example.com", roles=["member"])
    UserProfileFactory(user=member, display_name="Ana")
    admin = UserFactory(roles=["admin"])
    role = RoleFactory(name="auditor")
    return Scene(
        ids={
            "member_id": str(member.pk),
            "admin_id": str(admin.pk),
            "member_session": str(ApiSessionFactory(user=member).pk),
            "member_key": str(ApiKeyFactory(user=member).pk),
            "role": str(role.pk),
            "permission": str(PermissionFactory(name="chat.view_conversation").pk),
        },
        credentials={
            ANONYMOUS: None,
            "member": bearer(member),
            "staff": bearer(UserFactory(is_staff=True, roles=["staff"])),
            "admin": bearer(admin),
            "no_role": bearer(UserFactory()),
            "read_key": api_key(member, ["accounts.view_userprofile"]),
        },
    )


def _more_rows(scene: Scene) -> None:
    """Two more rows in every list the admin reads."""
    admin = User.objects.get(pk=scene.ids["admin_id"])
    ApiSessionFactory.create_batch(2, user=admin)
    ApiKeyFactory.create_batch(2, user=admin)
    UserProfileFactory.create_batch(2)
    for role in RoleFactory.create_batch(2):
        RolePermissionFactory.create_batch(2, role=role)


@pytest.mark.parametrize(("endpoint", "caller"), MATRIX.cases())
def test_permission_matrix(scene, endpoint, caller):
    MATRIX.check(scene, endpoint, caller)


@pytest.mark.parametrize("endpoint", MATRIX.lists())
def test_list_query_count_is_pinned_and_does_not_grow_with_rows(
    scene, endpoint, django_assert_num_queries
):
    MATRIX.check_queries(scene, endpoint, lambda: _more_rows(scene), django_assert_num_queries)


@pytest.mark.parametrize(("endpoint", "name", "kind"), MATRIX.probes())
def test_every_object_a_path_names_must_be_the_callers(scene, endpoint, name, kind):
    MATRIX.check_probe(scene, endpoint, name, kind)
