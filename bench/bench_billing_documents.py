"""What a billing document costs to render: billing.pdf.render of an invoice of 1, 10 and 100
lines, in process, no database (finalization pays this once, inside its transaction; see
docs/billing-documents.md). Prints the median and p90 CPU time per PDF and its size.

Run: .venv/bin/python bench/bench_billing_documents.py [--renders 30]
"""

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import bench_lock, percentile
from billing import pdf

ISSUER = pdf.Issuer(
    name="Atrium Demo Ltd",
    address="1 Example Street\n1000 Example City",
    tax_id="EX123456789",
    logo=None,
    payment_instructions="Pay by bank transfer, quoting the invoice number.",
)


def document(lines: int) -> pdf.Document:
    issued = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    return pdf.Document(
        title="Invoice",
        number="INV-2026-000123",
        issued_at=issued,
        due_date=issued + timedelta(days=30),
        customer=pdf.Customer("Zoë Åberg AB", "ap@example.com", "Storgatan 1\n111 22 Stockholm"),
        lines=[
            pdf.Line(n, f"Seat licence, plan {n}", Decimal("3"), Decimal("12.50"), Decimal("37.50"))
            for n in range(1, lines + 1)
        ],
        total=Decimal("37.50") * lines,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=30)
    args = parser.parse_args()
    with bench_lock():
        for lines in (1, 10, 100):
            doc = document(lines)
            first = pdf.render(doc, ISSUER)  # warm: imports, font parsing caches
            times = []
            for _ in range(args.renders):
                start = time.process_time()
                again = pdf.render(doc, ISSUER)
                times.append(time.process_time() - start)
                assert again == first, "renders differ"
            print(
                f"{lines:>3} lines: median {statistics.median(times) * 1000:.0f} ms, "
                f"p90 {percentile(times, 0.9) * 1000:.0f} ms CPU per PDF, "
                f"{len(first):,} bytes, identical across {args.renders} renders"
            )


if __name__ == "__main__":
    main()
