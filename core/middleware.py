"""Atrium's middleware: the Content-Security-Policy, and the browser middleware kept out of
the path of API requests that carry no cookie.

HSTS, nosniff and Referrer-Policy come from SecurityMiddleware settings and X-Frame-Options from
XFrameOptionsMiddleware; ``ContentSecurityPolicyMiddleware`` adds the Content-Security-Policy.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

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


API_PREFIX = "/api/"


def is_cookieless_api_request(request: HttpRequest) -> bool:
    """An API request authenticated, if at all, by its Authorization header: nothing a
    browser's session, CSRF cookie or messages could be about."""
    return request.path_info.startswith(API_PREFIX) and "HTTP_COOKIE" not in request.META


class BrowserMiddleware:
    """Runs ``settings.BROWSER_MIDDLEWARE`` (sessions, the session user, OTP, messages, static
    files, CommonMiddleware) around pages, the admin and API requests with cookies (the
    browsable API, staff signed in to the admin); API requests without a cookie, which are
    what API clients send, skip them. For those they only build objects nobody reads, a
    measurable part of a light request (docs/performance.md).

    The list runs as Django's handler would run it at this place in ``MIDDLEWARE`` (last), its
    ``process_view``, ``process_template_response`` and ``process_exception`` hooks included.
    The security middleware (headers, HTTPS redirect, CSRF, framing) stays in ``MIDDLEWARE``
    itself: it applies to every request and ``check --deploy`` looks for it there.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.view_hooks: list[Callable[..., Any]] = []
        self.template_response_hooks: list[Callable[..., Any]] = []
        self.exception_hooks: list[Callable[..., Any]] = []
        handler: Callable[[HttpRequest], Any] = get_response
        for path in reversed(settings.BROWSER_MIDDLEWARE):
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(instance, "process_view"):
                self.view_hooks.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self.template_response_hooks.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self.exception_hooks.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self.browser_chain: Callable[[HttpRequest], HttpResponse] = handler

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_cookieless_api_request(request):
            return self.browser_chain(request)
        response = self.get_response(request)
        # What CommonMiddleware would add: with a length, the server need not chunk the body.
        if not response.streaming and "Content-Length" not in response:
            response["Content-Length"] = str(len(response.content))
        return response

    def process_view(self, request: HttpRequest, view: Callable, args: Any, kwargs: Any) -> Any:
        if is_cookieless_api_request(request):
            return None
        for hook in self.view_hooks:
            if (response := hook(request, view, args, kwargs)) is not None:
                return response
        return None

    def process_template_response(self, request: HttpRequest, response: Any) -> Any:
        if not is_cookieless_api_request(request):
            for hook in self.template_response_hooks:
                response = hook(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        if is_cookieless_api_request(request):
            return None
        for hook in self.exception_hooks:
            if (response := hook(request, exception)) is not None:
                return response
        return None
