"""The event types an endpoint may subscribe to: every type the services publish
(docs/webhooks.md lists them with their payloads)."""

EVENT_TYPES = frozenset(
    {
        # accounts
        "account.locked",
        "api_key.created",
        "api_key.revoked",
        "password.changed",
        "session.created",
        "two_factor.enabled",
        "two_factor.disabled",
        # chat
        "conversation.read",
        "conversation.renamed",
        "conversation.updated",
        "conversation.deleted",
        "conversation.restored",
        "message.created",
        "message.edited",
        "message.deleted",
        "message.restored",
        "participant.added",
        "participant.left",
        "participant.removed",
        "participant.role_changed",
        "reaction.added",
        "reaction.removed",
        # documents
        "document.created",
        "document.updated",
        "document.deleted",
        "document.restored",
        "share.granted",
        "share.changed",
        "share.revoked",
        # billing
        "invoice.finalized",
        "invoice.paid",
        "invoice.voided",
        "invoice.marked_uncollectible",
        "invoice.reopened",
        "invoice.sent",
        "invoice.reminder_sent",
        "payment.recorded",
        "payment.succeeded",
        "payment.failed",
        "payment.refunded",
        # webhooks
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.deleted",
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint.disabled",
    }
)
