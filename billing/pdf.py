"""Invoice and credit-note PDFs, drawn with fpdf2 (docs/billing-documents.md).

Free of Django and of the models: ``render`` turns a ``Document`` into bytes and nothing else,
so the same document always gives the same bytes. That is what lets a stored PDF be checked
against its SHA-256 by rendering it again. Everything that could vary between two renders is
pinned: the creation date is the document's issue time, the producer is a constant, the file
id is fpdf2's hash of the content and that date, and the fonts are the copies in
``billing/fonts`` (DejaVu Sans: every script a customer's name may be written in, unlike the
PDF core fonts), never whatever the machine has installed.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"
PRODUCER = "Atrium"


@dataclass(frozen=True)
class Issuer:
    """Who issues the document (the BILLING_COMPANY_* settings)."""

    name: str
    address: str
    tax_id: str
    logo: Path | None
    payment_instructions: str


@dataclass(frozen=True)
class Customer:
    name: str
    email: str
    address: str


@dataclass(frozen=True)
class Line:
    position: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    total: Decimal


@dataclass(frozen=True)
class Document:
    """What a PDF shows: an invoice, or a credit note against one."""

    title: str  # "Invoice", "Credit note"
    number: str
    issued_at: datetime
    customer: Customer
    lines: Sequence[Line]
    total: Decimal
    due_date: datetime | None = None
    # (label, text) pairs printed under the totals: the invoice a credit note corrects, why.
    notes: Sequence[tuple[str, str]] = ()
    # Credit notes are not paid, so they carry no payment instructions.
    payable: bool = True


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _day(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def render(document: Document, issuer: Issuer) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(document.issued_at)
    pdf.set_producer(PRODUCER)
    pdf.set_creator(PRODUCER)
    pdf.set_title(f"{document.title} {document.number}")
    pdf.set_author(issuer.name)
    pdf.add_font(FAMILY, "", FONTS / "DejaVuSans.ttf")
    pdf.add_font(FAMILY, "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    width = pdf.epw

    # The issuer, right-aligned, beside the logo when there is one.
    if issuer.logo is not None:
        pdf.image(str(issuer.logo), x=pdf.l_margin, y=pdf.t_margin, h=20)
    pdf.set_font(FAMILY, "B", 13)
    pdf.cell(width, 7, issuer.name, align=Align.R, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 9)
    pdf.multi_cell(width, 4.5, issuer.address, align=Align.R, new_x="LMARGIN", new_y="NEXT")
    if issuer.tax_id:
        pdf.cell(
            width, 4.5, f"Tax ID: {issuer.tax_id}", align=Align.R, new_x="LMARGIN", new_y="NEXT"
        )
    pdf.set_y(max(pdf.get_y(), pdf.t_margin + 22) + 6)

    pdf.set_font(FAMILY, "B", 18)
    pdf.cell(width, 10, f"{document.title} {document.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 10)
    pdf.cell(width, 5, f"Issued: {_day(document.issued_at)}", new_x="LMARGIN", new_y="NEXT")
    if document.due_date is not None:
        pdf.cell(width, 5, f"Due: {_day(document.due_date)}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font(FAMILY, "B", 10)
    pdf.cell(width, 5, "Bill to", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 10)
    customer = "\n".join(
        part
        for part in (document.customer.name, document.customer.address, document.customer.email)
        if part
    )
    pdf.multi_cell(width, 5, customer, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font(FAMILY, "", 9)
    with pdf.table(
        col_widths=(8, 92, 20, 30, 30),
        text_align=("RIGHT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
        first_row_as_headings=True,
    ) as table:
        table.row(("#", "Description", "Quantity", "Unit price", "Amount"))
        for line in document.lines:
            table.row(
                (
                    str(line.position),
                    line.description,
                    _quantity(line.quantity),
                    str(line.unit_price),
                    str(line.total),
                )
            )
    pdf.ln(3)
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(width, 7, f"Total: {document.total}", align=Align.R, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    pdf.set_font(FAMILY, "", 10)
    for label, text in document.notes:
        pdf.multi_cell(width, 5, f"{label}: {text}", new_x="LMARGIN", new_y="NEXT")
    if document.payable and issuer.payment_instructions:
        pdf.ln(2)
        pdf.set_font(FAMILY, "B", 10)
        pdf.cell(width, 5, "Payment instructions", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, "", 10)
        pdf.multi_cell(width, 5, issuer.payment_instructions, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
