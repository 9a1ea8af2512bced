"""Lets a viewset's reads that tolerate a little lag go to the read replica (core/routing.py)."""

from typing import Any

from core.routing import read_tolerantly


class ReplicaReadsMixin:
    """Put first in a viewset's bases. The actions named in ``replica_read_actions`` (read-only
    ones: lists, searches, reports) run their handler through ``read_tolerantly``; everything
    before the handler (authentication, permissions, throttles) stays on the primary."""

    replica_read_actions: frozenset[str] = frozenset({"list"})

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if getattr(self, "action", None) in self.replica_read_actions:
            # APIView.dispatch looks the handler up by method name after initial(), as the
            # viewset's own view function bound it there.
            method = request.method.lower()
            user = request.user
            user_id = user.pk if user.is_authenticated else None
            setattr(self, method, read_tolerantly(getattr(self, method), user_id=user_id))
