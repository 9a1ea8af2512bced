"""The default roles and what each may do, as ``fnmatch`` patterns over permission names.

``sync_permissions`` grants these; grants an operator adds by hand are left alone.
"""

DEFAULT_ROLES: dict[str, tuple[str, ...]] = {
    # Everything, including role and permission management.
    "admin": ("*",),
    # The back-office team: read everything, look after people's accounts and content.
    "staff": (
        "*.view_*",
        "accounts.change_user",
        "accounts.change_userprofile",
        "chat.change_conversation",
        "chat.change_message",
        "documents.change_document",
    ),
    # Billing: the whole billing app, and the customers' context around it.
    "billing_manager": ("billing.*", "accounts.view_userprofile"),
    # Every signed-up person: what the API lets a user do to their own things; object rules
    # (participant, owner, sharee) narrow it further.
    "member": (
        "accounts.view_userprofile",
        # Their own profile only: no endpoint edits another's.
        "accounts.change_userprofile",
        "chat.add_conversation",
        "chat.view_conversation",
        # Renaming, deleting, leaving and managing people: owners and admins, by the
        # participant rules.
        "chat.change_conversation",
        "chat.delete_conversation",
        "chat.add_message",
        "chat.view_message",
        "documents.add_document",
        "documents.view_document",
        # Editing, deleting and sharing are further limited to owners and editors.
        "documents.change_document",
        "documents.delete_document",
        "documents.share_document",
    ),
}
