"""The hosted invoice page: what a customer opens from a signed link, with no account
(docs/billing-documents.md). Plain Django views: a page for a person, not the API."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.exceptions import DomainError

from . import selectors
from .selectors import HostedInvoice


def _found(token: str) -> HostedInvoice:
    hosted = selectors.hosted_invoice(token)
    if hosted is None:
        # One answer for a malformed, tampered, expired or dead link: the same 404 page,
        # which says nothing of why.
        raise Http404
    return hosted


def _private(response: HttpResponse) -> HttpResponse:
    # The link is the credential: it must not leak to another site or land in a search index.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_safe
def hosted_invoice(request: HttpRequest, token: str) -> HttpResponse:
    hosted = _found(token)
    return _private(
        render(
            request,
            "billing/hosted_invoice.html",
            {
                "hosted": hosted,
                "invoice": hosted.invoice,
                "token": token,
                "company_name": settings.BILLING_COMPANY_NAME,
                "company_address": settings.BILLING_COMPANY_ADDRESS,
                "company_tax_id": settings.BILLING_COMPANY_TAX_ID,
                "payment_instructions": settings.BILLING_PAYMENT_INSTRUCTIONS,
            },
        )
    )


@never_cache
@require_safe
def hosted_invoice_pdf(request: HttpRequest, token: str) -> HttpResponse:
    invoice = _found(token).invoice
    try:
        content = selectors.invoice_pdf(invoice)
    except DomainError:
        # No PDF (an invoice from before PDFs), or one that cannot be served as issued.
        raise Http404 from None
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice}.pdf"'
    return _private(response)
