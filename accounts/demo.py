"""The demo's people: staff and members with their roles, signing in with a public password."""

from dataclasses import dataclass

from accounts.models import Permission, Role, User, UserProfile
from accounts.services import permissions_sync, user_set_roles
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
    """Creates the demo account or puts back what its printed login depends on."""
    wanted = {"is_staff": spec.is_staff, "is_active": True, "verified": True}
    user = User.objects.filter(email__iexact=spec.email).first()
    if user is None:
        user = User.objects.create_user(spec.email, DEMO_PASSWORD, **wanted)
        summary.add(User)
    else:
        changed = [name for name, value in wanted.items() if getattr(user, name) != value]
        for name in changed:
            setattr(user, name, wanted[name])
        # Comparing first keeps a re-run from rewriting every hash (a fresh salt each time).
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            changed.append("password")
        if changed:
            user.save(update_fields=changed)

    _, created = UserProfile.objects.get_or_create(
        user=user, defaults={"display_name": spec.display_name, "bio": spec.bio}
    )
    summary.add(UserProfile, created)
    user_set_roles(user=user, roles=[roles[spec.role]])
    summary.logins.append((user.email, spec.role))
    return user


def seed_people(*, summary: DemoSummary) -> dict[str, User]:
    """The roles and every demo account, by handle."""
    synced = permissions_sync()
    summary.add(Permission, synced.permissions_created)
    summary.add(Role, synced.roles_created)
    roles = {role.name: role for role in Role.objects.all()}
    return {
        spec.handle: _ensure_user(spec=spec, roles=roles, summary=summary) for spec in DEMO_USERS
    }
