"""Rules across rows that a CHECK cannot hold, as triggers:

- an invoice's ``amount`` equals the sum of its lines' totals, checked at commit (a deferred
  constraint trigger), so a service may write the lines and the amount in any order within
  its transaction. An invoice without lines is exempt: the schema contract has no lines, and
  a writer that knows only the contract's columns must still be able to insert an invoice
  (Atrium never finalizes one without lines);
- the lines of an invoice that is no longer a draft never change.
"""

from django.db import migrations

AMOUNT_SQL = """
CREATE FUNCTION billing_check_invoice_amount() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target uuid;
    actual numeric;
    expected numeric;
BEGIN
    IF TG_TABLE_NAME = 'invoices' THEN
        target := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        target := OLD.invoice_id;
    ELSE
        target := NEW.invoice_id;
    END IF;
    SELECT amount INTO actual FROM invoices WHERE id = target;
    -- The invoice went in the same transaction (only drafts are deleted, with their lines).
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT sum(total) INTO expected FROM invoice_lines WHERE invoice_id = target;
    -- No lines: a row from a writer that knows only the contract's columns (docs/schema.md).
    IF expected IS NOT NULL AND actual <> expected THEN
        RAISE EXCEPTION 'invoice % has amount % but its lines add up to %',
            target, actual, expected
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'billing_invoice_amount_matches_lines';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER billing_invoice_amount_matches_lines
    AFTER INSERT OR UPDATE OF amount ON invoices
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_check_invoice_amount();
CREATE CONSTRAINT TRIGGER billing_invoice_lines_sum_to_amount
    AFTER INSERT OR UPDATE OR DELETE ON invoice_lines
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_check_invoice_amount();
"""

AMOUNT_REVERSE_SQL = """
DROP TRIGGER billing_invoice_lines_sum_to_amount ON invoice_lines;
DROP TRIGGER billing_invoice_amount_matches_lines ON invoices;
DROP FUNCTION billing_check_invoice_amount();
"""

FROZEN_SQL = """
CREATE FUNCTION billing_refuse_frozen_line_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target uuid;
BEGIN
    target := CASE WHEN TG_OP = 'DELETE' THEN OLD.invoice_id ELSE NEW.invoice_id END;
    IF EXISTS (SELECT 1 FROM invoices WHERE id = target AND status <> 'draft') THEN
        RAISE EXCEPTION 'the lines of invoice % are frozen: it is no longer a draft', target
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'billing_invoiceline_frozen_after_draft';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER billing_invoiceline_frozen_after_draft
    BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION billing_refuse_frozen_line_change();
"""

FROZEN_REVERSE_SQL = """
DROP TRIGGER billing_invoiceline_frozen_after_draft ON invoice_lines;
DROP FUNCTION billing_refuse_frozen_line_change();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_lines_numbers_refunds_idempotency_webhooks")]

    operations = [
        migrations.RunSQL(AMOUNT_SQL, AMOUNT_REVERSE_SQL),
        migrations.RunSQL(FROZEN_SQL, FROZEN_REVERSE_SQL),
    ]
