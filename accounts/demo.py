"""The demo's people: staff and members with their roles, signing in with a public password."""

from dataclasses import dataclass

from accounts import selectors
from accounts.models import Permission, Role, User, UserProfile
from accounts.services import roles as role_service
from accounts.services import users
from core.context import SYSTEM
from core.demo import DemoSummary

# Published on purpose (README, command output): these accounts exist to be signed into.
DEMO_PASSWORD = "atrium-demo-password"  # noqa: S105
DEMO_EMAIL_DOMAIN = "atrium.local"


@dataclass(frozen=True)
class DemoUser:
    handle: str
    display_name: str
    bio: str
    role: str
    is_staff: bool = False

    @property
    def email(self) -> str:
        return f"{self.handle}@{DEMO_EMAIL_DOMAIN}"

    @property
    def first_name(self) -> str:
        return self.display_name.split()[0]


DEMO_USERS: tuple[DemoUser, ...] = (
    # Not a superuser: the admin's rights come from the admin role, as a real admin's would.
    DemoUser("admin", "Alex Morgan", "Runs the back office. Ask me for access.", "admin", True),
    DemoUser(
        "billing",
        "Priya Natarajan",
        "Invoices, payments and the odd refund.",
        "billing_manager",
        True,
    ),
    DemoUser("staff", "Sam Okafor", "Support lead; I read every ticket.", "staff", True),
    DemoUser("ana", "Ana Souza", "Product manager. Coffee first, roadmap second.", "member"),
    DemoUser("ben", "Ben Carter", "Backend engineer, fond of boring technology.", "member"),
    DemoUser(
        "chloe", "Chloé Martin", "Designer. Pixels, type and the occasional font war.", "member"
    ),
    DemoUser("dev", "Dev Patel", "Keeps the servers up and the pager quiet.", "member"),
    DemoUser("elena", "Elena Petrova", "Customer support, fluent in four languages.", "member"),
    DemoUser(
        "farid", "Farid Haddad", "Support engineer; writes the macros nobody else will.", "member"
    ),
    DemoUser("grace", "Grace Kim", "Office manager and keeper of the snack budget.", "member"),
    DemoUser("hugo", "Hugo Lindqvist", "Frontend engineer, part-time illustrator.", "member"),
)
DEMO_USERS_BY_HANDLE: dict[str, DemoUser] = {user.handle: user for user in DEMO_USERS}


def _ensure_user(*, spec: DemoUser, roles: dict[str, Role], summary: DemoSummary) -> User:
    """Creates the demo account or puts back what its printed login depends on, through the
    accounts services (as the system: no actor). In a dry run it only counts, and an account
    still to be made stands in unsaved."""
    summary.logins.append((spec.email, spec.role))
    user = selectors.user_by_email(email=spec.email)
    if user is None:
        summary.add(User)
        summary.add(UserProfile)
        if summary.dry_run:
            return User(email=spec.email, is_staff=spec.is_staff, verified=True)
        return users.user_create(
            email=spec.email,
            password=DEMO_PASSWORD,
            display_name=spec.display_name,
            bio=spec.bio,
            is_staff=spec.is_staff,
            verified=True,
            roles=[roles[spec.role]],
            actor=None,
            context=SYSTEM,
        )
    if summary.dry_run:
        return user
    user = users.user_set_status(
        user=user, actor=None, context=SYSTEM, is_staff=spec.is_staff, is_active=True, verified=True
    )
    # Comparing first keeps a re-run from rewriting every hash (a fresh salt each time).
    if not user.check_password(DEMO_PASSWORD):
        users.password_set(user=user, new_password=DEMO_PASSWORD, actor=None, context=SYSTEM)
    if not UserProfile.objects.filter(user=user).exists():
        users.profile_update(user=user, display_name=spec.display_name, bio=spec.bio)
        summary.add(UserProfile)
    role_service.user_set_roles(user=user, roles=[roles[spec.role]], actor=None, context=SYSTEM)
    return user


def seed_people(*, summary: DemoSummary) -> dict[str, User]:
    """The roles and every demo account, by handle. Each service call is its own transaction,
    so a failure leaves the accounts made before it in place; a re-run completes the set."""
    synced = role_service.permissions_sync(dry_run=summary.dry_run)
    summary.add(Permission, synced.permissions_created)
    summary.add(Role, synced.roles_created)
    roles = {role.name: role for role in Role.objects.all()}
    return {
        spec.handle: _ensure_user(spec=spec, roles=roles, summary=summary) for spec in DEMO_USERS
    }
