"""Everything under /api/v1/. Each app adds one line, e.g.
``path("", include("accounts.api.urls"))``, whose module holds its router's URLs.

No two apps share a path, so the order only decides how many patterns a request tries before
its own: chat, which carries most of the traffic, goes first (resolving a chat page behind
accounts' 29 patterns was ~7% of its instructions)."""

from django.urls import include, path

urlpatterns = [
    path("", include("chat.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("documents.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("core.api.urls")),
]
