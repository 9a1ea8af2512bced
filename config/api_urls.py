"""Everything under /api/v1/. Each app adds one line, e.g.
``path("", include("accounts.api.urls"))``, whose module holds its router's URLs."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("chat.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("documents.api.urls")),
]
