"""Security headers Django's own SecurityMiddleware does not set.

HSTS, nosniff and Referrer-Policy come from SecurityMiddleware settings and X-Frame-Options from
XFrameOptionsMiddleware; this adds the Content-Security-Policy.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# Every page we render (admin, Swagger UI, browsable API) loads scripts, styles, fonts and images
# from our own static files only; Swagger UI runs from drf-spectacular-sidecar through
# SpectacularSwaggerSplitView, so no inline script is needed. Inline *styles* stay allowed: the
# Swagger page, the admin change list and the browsable API carry small <style> blocks and style
# attributes, and a style cannot run code.
PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# JSON, static files and the rest are never documents a browser should run anything in; this
# also defuses an uploaded SVG or HTML opened directly.
RESOURCE_POLICY = "default-src 'none'; frame-ancestors 'none'"


class ContentSecurityPolicyMiddleware:
    """Adds a Content-Security-Policy unless the view set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            is_page = response.get("Content-Type", "").startswith("text/html")
            response["Content-Security-Policy"] = PAGE_POLICY if is_page else RESOURCE_POLICY
        return response
