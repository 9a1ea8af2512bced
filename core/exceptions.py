"""Domain exceptions: what services raise when they refuse a request.

Services know nothing of HTTP frameworks, but each refusal carries the status, a stable
machine-readable ``code`` and the invalid fields, so ``core.api.problems`` can turn any of them
into an RFC 9457 problem response without per-view code.
"""

from collections.abc import Mapping, Sequence
from typing import Any


class DomainError(Exception):
    """Base of every refusal a service can make.

    ``code`` names the problem type (it ends the problem's ``type`` URL) and may be narrowed per
    raise (``Conflict("…", code="email_taken")``); ``fields`` maps field names to messages;
    ``headers`` go on the HTTP response; ``extensions`` become extra members of the problem body
    (RFC 9457 section 3.2), e.g. ``{"locked_until": "…"}``.
    """

    status: int = 400
    default_code: str = "bad_request"
    default_title: str = "Bad request"
    default_detail: str = "The request cannot be carried out."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        title: str | None = None,
        fields: Mapping[str, Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.code = code or self.default_code
        self.title = title or self.default_title
        self.fields = {name: list(messages) for name, messages in (fields or {}).items()}
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})
        super().__init__(self.detail)


class ValidationFailed(DomainError):
    """Input a service rejects after the serializer accepted it (uniqueness, cross-field rules
    only the service can check). 400 by default; pass ``status=422`` for well-formed input the
    service cannot process."""

    default_code = "invalid"
    default_title = "Invalid input"
    default_detail = "One or more fields are invalid."

    def __init__(self, detail: str | None = None, *, status: int = 400, **kwargs: Any) -> None:
        if status not in (400, 422):
            raise ValueError("ValidationFailed is a 400 or a 422.")
        self.status = status
        super().__init__(detail, **kwargs)


class PermissionDenied(DomainError):
    status = 403
    default_code = "permission_denied"
    default_title = "Forbidden"
    default_detail = "You do not have permission to perform this action."


class NotFound(DomainError):
    """Also the answer for objects the caller may not see, so identifiers cannot be probed."""

    status = 404
    default_code = "not_found"
    default_title = "Not found"
    default_detail = "Not found."


class Conflict(DomainError):
    status = 409
    default_code = "conflict"
    default_title = "Conflict"
    default_detail = "The request conflicts with the current state of the resource."


class PreconditionFailed(DomainError):
    """An ``If-Match`` that no longer matches: someone else changed the resource first."""

    status = 412
    default_code = "precondition_failed"
    default_title = "Precondition failed"
    default_detail = "The resource has changed since you read it."


class Locked(DomainError):
    """A resource (typically an account) refused until a known time."""

    status = 423
    default_code = "locked"
    default_title = "Locked"
    default_detail = "The resource is locked."

    def __init__(self, detail: str | None = None, *, retry_after: int, **kwargs: Any) -> None:
        self.retry_after = retry_after
        headers = {"Retry-After": str(retry_after), **kwargs.pop("headers", {})}
        super().__init__(detail, headers=headers, **kwargs)


class PreconditionRequired(DomainError):
    """A write that must name the version it changes (``If-Match``) did not."""

    status = 428
    default_code = "precondition_required"
    default_title = "Precondition required"
    default_detail = "This request must be conditional; send If-Match with the ETag you read."
