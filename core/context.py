"""What a service needs to know about where an action came from, without knowing HTTP.

The API and the admin build one ``ActionContext`` per request (core/api/context.py); a
management command or a job passes ``SYSTEM``. Services put it on the audit row and on the
announcements they publish, and never see the request itself.
"""

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionContext:
    ip_address: str | None = None
    user_agent: str = ""
    # Carried to audit rows and announcements so one action can be followed across them.
    request_id: str = ""
    # The credential the caller used, when it was one of ours.
    session_id: UUID | None = None
    api_key_id: UUID | None = None
    # Room for "staff acting as someone else": the staff member behind the actor.
    impersonator_id: UUID | None = None


# Actions nobody asked for over HTTP: commands, demo data, jobs.
SYSTEM = ActionContext()
