from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_pages
from core import views

urlpatterns = [
    path("", views.home, name="home"),
    # The links the accounts emails carry (accounts/emails.py).
    path("verify-email", account_pages.verify_email, name="verify-email"),
    path("reset-password", account_pages.reset_password, name="reset-password"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    # The hosted invoice page customers open from a signed link (docs/billing-documents.md).
    path("billing/", include("billing.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so the page's CSP needs no
    # inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]

# Under /api/ these answer with problem details; elsewhere with Django's pages.
handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error
