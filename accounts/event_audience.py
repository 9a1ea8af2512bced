"""Who reads the events addressed to holders of a permission (staff notices such as
"invoice.marked_uncollectible" to "billing.view_invoice"): whoever holds it now.

Registered with core.events from AccountsConfig.ready(). The names are the ones
``user.has_perm`` answers from (accounts.authorization: the user's roles, all for a
superuser), which authentication already loaded with the credential, so they cost the page no
query; ``may`` narrows them to what an API key's scopes allow."""

from .authorization import user_permission_names


def permissions_of(user, may) -> list[str]:
    return [name for name in user_permission_names(user) if may(name)]
