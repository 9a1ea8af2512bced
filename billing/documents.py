"""The PDFs customers receive: what goes on them, where they are kept, and the check that a
stored one is the one that was issued (docs/billing-documents.md).

A document is rendered once, inside the transaction that issues it (invoice finalization,
credit-note issue), and stored under a name holding its SHA-256; the digest is written on the
row and in the audit event. The services call ``issue``; reads go through ``read``, which
hands out the stored bytes only when they still hash to the recorded digest.

The file is written before the transaction commits, so a committed invoice always has its
PDF. A transaction that rolls back after the write leaves an unreferenced file behind (its
name holds a digest no row records); that is harmless and is the price of never committing
an invoice whose PDF was not stored.
"""

import hashlib
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from . import pdf
from .models import CreditNote, CreditNoteLine, Invoice


class DocumentMismatch(Exception):
    """A stored PDF (or a new render of it) no longer hashes to the recorded digest."""


def storage() -> Storage:
    return storages["billing_documents"]


def issuer() -> pdf.Issuer:
    logo = settings.BILLING_COMPANY_LOGO
    return pdf.Issuer(
        name=settings.BILLING_COMPANY_NAME,
        address=settings.BILLING_COMPANY_ADDRESS,
        tax_id=settings.BILLING_COMPANY_TAX_ID,
        logo=Path(logo) if logo else None,
        payment_instructions=settings.BILLING_PAYMENT_INSTRUCTIONS,
    )


def _customer(invoice: Invoice) -> pdf.Customer:
    customer = invoice.customer
    return pdf.Customer(name=customer.name, email=customer.email, address=customer.address or "")


def invoice_document(invoice: Invoice) -> pdf.Document:
    """The invoice as its PDF shows it, once finalized (numbered and stamped)."""
    if invoice.number is None or invoice.finalized_at is None:
        raise ValueError(f"{invoice} is a draft: it has no document yet")
    return pdf.Document(
        title="Invoice",
        number=invoice.number,
        issued_at=invoice.finalized_at,
        due_date=invoice.due_date,
        customer=_customer(invoice),
        lines=[
            pdf.Line(
                position=line.position,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                total=line.total,
            )
            for line in invoice.lines.order_by("position")
        ],
        total=invoice.amount,
    )


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _name(kind: str, owner: object, sha256: str) -> str:
    return f"{kind}/{owner}/{sha256}.pdf"


def issue(kind: str, owner: object, document: pdf.Document) -> str:
    """Renders ``document``, stores it as ``<kind>/<owner>/<sha256>.pdf`` and returns the
    digest. A file already there under that name has these very bytes (the name is their
    digest), so it is kept as it is."""
    content = pdf.render(document, issuer())
    sha256 = digest(content)
    name = _name(kind, owner, sha256)
    if not storage().exists(name):
        stored = storage().save(name, ContentFile(content))
        # FileSystemStorage renames rather than overwrites; the name must be the digest's.
        if stored != name:
            raise DocumentMismatch(f"{name} was stored as {stored}")
    return sha256


def read(kind: str, owner: object, sha256: str, document: Callable[[], pdf.Document]) -> bytes:
    """The stored PDF, checked against ``sha256``. When the file is gone, ``document()`` is
    rendered again and served only if it gives the very same bytes (it then is stored again);
    otherwise ``DocumentMismatch``: a document is never silently replaced by another."""
    name = _name(kind, owner, sha256)
    if storage().exists(name):
        with storage().open(name, "rb") as stored:
            content = stored.read()
        if digest(content) != sha256:
            raise DocumentMismatch(f"{name} does not hash to its recorded digest")
        return content
    content = pdf.render(document(), issuer())
    if digest(content) != sha256:
        raise DocumentMismatch(f"{name} is missing and rendering it again gives other bytes")
    storage().save(name, ContentFile(content))
    return content


INVOICES = "invoices"


def invoice_pdf_issue(invoice: Invoice) -> str:
    """Precondition: inside the finalizing transaction, the invoice numbered and stamped."""
    return issue(INVOICES, invoice.pk, invoice_document(invoice))


def invoice_pdf_read(invoice: Invoice, sha256: str) -> bytes:
    """The invoice's PDF, ``sha256`` being its recorded ``pdf_sha256``."""
    return read(INVOICES, invoice.pk, sha256, lambda: invoice_document(invoice))


CREDIT_NOTES = "credit-notes"


def credit_note_document(credit_note: CreditNote, lines: Sequence[CreditNoteLine]) -> pdf.Document:
    """A credit note as its PDF shows it: each line an amount taken off the invoice."""
    invoice = credit_note.invoice
    return pdf.Document(
        title="Credit note",
        number=credit_note.number,
        issued_at=credit_note.issued_at,
        customer=_customer(invoice),
        lines=[
            pdf.Line(
                position=line.position,
                description=line.description,
                quantity=Decimal("1"),
                unit_price=line.amount,
                total=line.amount,
            )
            for line in lines
        ],
        total=credit_note.amount,
        notes=[("Credits invoice", str(invoice)), ("Reason", credit_note.reason)],
        payable=False,
    )


def credit_note_pdf_issue(credit_note: CreditNote, lines: Sequence[CreditNoteLine]) -> str:
    """Precondition: inside the issuing transaction, before the credit note is written (its
    row holds the digest and is never changed afterwards)."""
    return issue(CREDIT_NOTES, credit_note.pk, credit_note_document(credit_note, lines))


def credit_note_pdf_read(credit_note: CreditNote) -> bytes:
    return read(
        CREDIT_NOTES,
        credit_note.pk,
        credit_note.pdf_sha256,
        lambda: credit_note_document(credit_note, list(credit_note.lines.all())),
    )
