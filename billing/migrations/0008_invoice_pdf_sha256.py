"""The digest of the PDF an invoice was finalized with (docs/billing-documents.md), and a
trigger keeping it: once set it never changes, whoever writes, so the stored document it names
is the invoice's for good."""

from django.db import migrations, models

PDF_FROZEN_SQL = """
CREATE FUNCTION billing_refuse_invoice_pdf_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.pdf_sha256 IS NOT NULL AND NEW.pdf_sha256 IS DISTINCT FROM OLD.pdf_sha256 THEN
        RAISE EXCEPTION 'the PDF of invoice % is final', OLD.id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'billing_invoice_pdf_final';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER billing_invoice_pdf_final
    BEFORE UPDATE OF pdf_sha256 ON invoices
    FOR EACH ROW EXECUTE FUNCTION billing_refuse_invoice_pdf_change();
"""

PDF_FROZEN_REVERSE_SQL = """
DROP TRIGGER billing_invoice_pdf_final ON invoices;
DROP FUNCTION billing_refuse_invoice_pdf_change();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_changelist_indexes")]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="pdf_sha256",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("pdf_sha256__isnull", True),
                    models.Q(
                        models.Q(("status", "draft"), _negated=True),
                        ("pdf_sha256__regex", "^[0-9a-f]{64}$"),
                    ),
                    _connector="OR",
                ),
                name="billing_invoice_pdf_sha256_when_finalized",
                violation_error_message="Only a finalized invoice has a PDF, named by its "
                "SHA-256 in lowercase hex.",
            ),
        ),
        migrations.RunSQL(PDF_FROZEN_SQL, PDF_FROZEN_REVERSE_SQL),
    ]
