"""Everything under /api/v1/. Each app adds one line, e.g.
``path("accounts/", include("accounts.api.urls"))``, whose module holds its router's URLs."""

urlpatterns: list = []
