"""Writes for accounts, one module per sub-domain; callers import the module they need
(``from accounts.services import credentials``).

- ``login``: signing in (password, second factor), the failure counter and lockouts.
- ``two_factor``: the authenticator app and recovery codes.
- ``credentials``: API sessions and API keys.
- ``users``: registration, email verification, passwords, profiles, staff-made accounts.
- ``roles``: the permission catalogue, roles and who holds them.

Every public function is its own transaction (``transaction.atomic(durable=True)``), takes
keyword-only arguments with the ``context: ActionContext`` of the action, writes its audit
row and announces what happened through ``core.events.publish``. In a self-service action
the ``user`` is also the actor; ``actor`` is named where someone (staff, or nobody: None for
the system) may act on another user's account.
"""
