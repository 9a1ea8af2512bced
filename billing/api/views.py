"""Billing API. Views parse input, call one service or selector, and shape the answer."""

import json
import logging
from types import ModuleType
from typing import cast

from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import selectors, sql, webhooks
from billing.filters import InvoiceFilter, PaymentFilter, ProductFilter
from billing.models import CreditNote, Invoice, Payment
from billing.services import credit_notes, customers, invoices, payments, products, sending
from billing.services import webhooks as webhook_events
from core.api.context import action_context
from core.api.idempotency import IDEMPOTENCY_PARAMETER, respond_once
from core.api.pagination import CursorPagination
from core.api.parsers import refuse_unstorable_strings
from core.api.permissions import HasActionPermission, request_has_perm
from core.api.renderers import JSONRenderer
from core.api.routing import ReplicaReadsMixin
from core.api.schema import problem_responses
from core.api.validation import require_json_types, validated, validated_query
from core.exceptions import PermissionDenied, ValidationFailed
from core.services.idempotency import Answer

from . import serializers as s

logger = logging.getLogger(__name__)


class PDFRenderer(JSONRenderer):
    """Sends a PDF's bytes as they are; a refusal is still a problem+json body."""

    media_type = "application/pdf"
    format = "pdf"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return super().render(data, accepted_media_type, renderer_context)


def pdf_response(content: bytes, filename: str) -> Response:
    return Response(
        content,
        content_type=PDFRenderer.media_type,
        headers={"Content-Disposition": f'inline; filename="{filename}.pdf"'},
    )


PDF_RESPONSES = {(200, PDFRenderer.media_type): OpenApiTypes.BINARY}


def _crud(model: str) -> dict[str, str]:
    view, add = f"billing.view_{model}", f"billing.add_{model}"
    change, delete = f"billing.change_{model}", f"billing.delete_{model}"
    return {
        "list": view,
        "retrieve": view,
        "create": add,
        "update": change,
        "partial_update": change,
        "destroy": delete,
    }


class _ServiceCrudViewSet(
    ReplicaReadsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """CRUD whose writes are the services of ``service_module`` named by ``service_prefix``
    (``customer`` → ``customer_create``, ``customer_update``, ``customer_delete``)."""

    permission_classes = [HasActionPermission]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    service_module: ModuleType
    service_prefix: str

    def _service(self, verb: str):
        return getattr(self.service_module, f"{self.service_prefix}_{verb}")

    def _acting(self) -> dict:
        return {"actor": self.request.user, "context": action_context(self.request)}

    @extend_schema(parameters=[IDEMPOTENCY_PARAMETER])
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        require_json_types(serializer)
        serializer.is_valid(raise_exception=True)
        acting = self._acting()

        def write() -> Answer:
            created = self._service("create")(**serializer.validated_data, **acting)
            return Answer(status=status.HTTP_201_CREATED, body=self.get_serializer(created).data)

        return respond_once(request, write)

    def perform_update(self, serializer):
        # DRF's update validated it already; a number for a string is refused all the same.
        require_json_types(serializer)
        serializer.instance = self._service("update")(
            **{self.service_prefix: serializer.instance},
            **serializer.validated_data,
            **self._acting(),
        )

    def perform_destroy(self, instance):
        self._service("delete")(**{self.service_prefix: instance}, **self._acting())


class CustomerViewSet(_ServiceCrudViewSet):
    """Customers we invoice. Deleting one hides it; its invoices stay."""

    serializer_class = s.CustomerSerializer
    action_permissions = {**_crud("customer"), "statement": "billing.view_customer"}
    replica_read_actions = frozenset({"list", "statement"})
    service_module = customers
    service_prefix = "customer"
    ordering = ("name", "id")

    def get_queryset(self):
        return selectors.customer_list()

    @extend_schema(
        parameters=[s.StatementQuery],
        responses={200: s.StatementOutput, **problem_responses(400, 403, 404)},
    )
    @action(detail=True, methods=["get"])
    def statement(self, request, pk=None):
        """The customer's account from `from` to `to` (whole UTC days, both included; by
        default the first of the month to today): the opening balance (every movement before
        `from`), each movement in order with the running balance, and the closing balance.
        An invoice counts when finalized, a credit note when issued, a succeeded payment when
        recorded, a refund when given, a void (what the invoice still asked for after its
        credit notes) when voided; credits are negative. A reversed period is a 400."""
        if not all(request_has_perm(request, p) for p in selectors.STATEMENT_PERMISSIONS):
            raise PermissionDenied
        query = validated_query(s.StatementQuery, request.query_params)
        start, end = selectors.statement_period(query.get("from"), query.get("to"))
        statement = selectors.customer_statement(self.get_object(), start=start, end=end)
        return Response(s.StatementOutput(statement).data)


class ProductViewSet(_ServiceCrudViewSet):
    """Products and their prices; `active=false` keeps a product off new invoice lines."""

    serializer_class = s.ProductSerializer
    action_permissions = _crud("product")
    service_module = products
    service_prefix = "product"
    filterset_class = ProductFilter
    ordering = ("name", "id")

    def get_queryset(self):
        return selectors.product_list()


class InvoiceViewSet(
    ReplicaReadsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Invoices and their lines. A draft is edited freely and deleted; finalizing numbers it
    and freezes its lines; after that only the status moves: open → paid (payments) | void |
    uncollectible, uncollectible → paid | void. Any other move is a 409 naming the status."""

    permission_classes = [HasActionPermission]
    action_permissions = {
        **_crud("invoice"),
        "finalize": "billing.finalize_invoice",
        "void": "billing.void_invoice",
        "mark_uncollectible": "billing.mark_uncollectible_invoice",
        "pdf": "billing.view_invoice",
        "hosted_link": "billing.view_invoice",
        "credit_notes": "billing.view_creditnote",
        "issue_credit_note": "billing.add_creditnote",
        "sends": "billing.view_invoicesend",
        "send": "billing.send_invoice",
    }
    filterset_class = InvoiceFilter

    @cached_property
    def ordering(self) -> tuple[str, ...]:
        if self.action == "credit_notes":
            return ("-issued_at", "-id")
        if self.action == "sends":
            return ("-requested_at", "-id")
        # Past-due lists walk the (status, due_date) index, oldest due first.
        if self.request.query_params.get("past_due", "").lower() in ("true", "1"):
            return ("due_date", "id")
        return ("-created_at", "-id")

    def get_queryset(self):
        if self.action == "list":
            return selectors.invoice_list()
        if self.action in ("credit_notes", "issue_credit_note", "sends", "send"):
            return Invoice.objects.all()
        return selectors.invoice_detail()

    def get_serializer_class(self):
        return s.InvoiceOutput if self.action == "list" else s.InvoiceDetailOutput

    def list(self, request):
        # The paginator is the platform's CursorPagination (settings): PostgreSQL writes the
        # page's JSON, each invoice as InvoiceOutput would.
        paginator = cast(CursorPagination, self.paginator)
        invoices = self.filter_queryset(self.get_queryset())
        return paginator.json_page(invoices, request, self, sql.INVOICE_SUMMARY)

    def _detail(self, invoice: Invoice) -> dict:
        return s.invoice_representation(invoice)

    def _answer(self, invoice: Invoice, code: int = status.HTTP_200_OK) -> Response:
        return Response(self._detail(invoice), status=code)

    @extend_schema(
        request=s.InvoiceInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.InvoiceDetailOutput},
    )
    def create(self, request):
        """A draft invoice; its amount is the sum of its lines."""
        data = validated(s.InvoiceInput, request.data)
        context = action_context(request)

        def write() -> Answer:
            invoice = invoices.invoice_create(**data, actor=request.user, context=context)
            return Answer(status=status.HTTP_201_CREATED, body=self._detail(invoice))

        return respond_once(request, write)

    @extend_schema(
        request=s.InvoiceUpdateInput,
        responses={200: s.InvoiceDetailOutput, **problem_responses(409)},
    )
    def partial_update(self, request, pk=None):
        """Edits a draft; `lines`, when sent, replace all its lines."""
        invoice = invoices.invoice_update(
            invoice=self.get_object(),
            **validated(s.InvoiceUpdateInput, request.data, partial=True),
            actor=request.user,
            context=action_context(request),
        )
        return self._answer(invoice)

    @extend_schema(responses={204: None, **problem_responses(409)})
    def destroy(self, request, pk=None):
        """Deletes a draft; any other invoice is a 409."""
        invoices.invoice_delete(
            invoice=self.get_object(), actor=request.user, context=action_context(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _transition(self, service) -> Response:
        invoice = service(
            invoice=self.get_object(),
            actor=self.request.user,
            context=action_context(self.request),
        )
        return self._answer(invoice)

    @extend_schema(
        request=None, responses={200: s.InvoiceDetailOutput, **problem_responses(409, 422)}
    )
    @action(detail=True, methods=["post"])
    def finalize(self, request, pk=None):
        """draft → open: gives the next number of the year and freezes the lines."""
        return self._transition(invoices.invoice_finalize)

    @extend_schema(request=None, responses={200: s.InvoiceDetailOutput, **problem_responses(409)})
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        """open | uncollectible → void."""
        return self._transition(invoices.invoice_void)

    @extend_schema(request=None, responses={200: s.InvoiceDetailOutput, **problem_responses(409)})
    @action(detail=True, methods=["post"], url_path="mark-uncollectible")
    def mark_uncollectible(self, request, pk=None):
        """open → uncollectible (still payable)."""
        return self._transition(invoices.invoice_mark_uncollectible)

    @extend_schema(responses={**PDF_RESPONSES, **problem_responses(404, 409)})
    @action(detail=True, methods=["get"], renderer_classes=[PDFRenderer])
    def pdf(self, request, pk=None):
        """The PDF the invoice was finalized with, byte for byte (its SHA-256 is the detail's
        `pdf_sha256`). 404 `no_pdf` for a draft; 409 `pdf_mismatch` if the stored file was
        lost or altered and cannot be rendered again identically."""
        invoice: Invoice = self.get_object()
        return pdf_response(selectors.invoice_pdf(invoice), str(invoice))

    @extend_schema(responses={200: s.HostedLinkOutput, **problem_responses(409)})
    @action(detail=True, methods=["get"], url_path="hosted-link")
    def hosted_link(self, request, pk=None):
        """A new signed link to the invoice's hosted page (and one to its PDF) for its
        customer, no account needed, valid until `expires_at`. 409 for a draft."""
        link = selectors.invoice_hosted_link(self.get_object())
        return Response(s.HostedLinkOutput(link).data)

    @extend_schema(responses={200: s.CreditNoteOutput(many=True)})
    @action(detail=True, methods=["get"], url_path="credit-notes")
    def credit_notes(self, request, pk=None):
        """The invoice's credit notes, newest first."""
        page = self.paginate_queryset(selectors.credit_note_list(invoice=self.get_object()))
        return self.get_paginated_response(s.CreditNoteOutput(page, many=True).data)

    @extend_schema(
        request=s.CreditNoteInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.CreditNoteOutput, **problem_responses(409)},
    )
    @credit_notes.mapping.post
    def issue_credit_note(self, request, pk=None):
        """Credits `amount` of the invoice, or parts of its `lines`, with a `reason`: what the
        customer owes drops by it. The invoice must be open, paid or uncollectible; crediting
        more than is left uncredited is a 409 `over_credit`."""
        invoice = self.get_object()
        data = validated(s.CreditNoteInput, request.data)
        context = action_context(request)

        def write() -> Answer:
            credit_note = credit_notes.credit_note_issue(
                invoice=invoice, **data, actor=request.user, context=context
            )
            return Answer(
                status=status.HTTP_201_CREATED, body=s.credit_note_representation(credit_note)
            )

        return respond_once(request, write)

    @extend_schema(
        request=s.InvoiceSendInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={202: s.InvoiceSendOutput, **problem_responses(409)},
    )
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Emails the invoice, its PDF attached and a link to its hosted page, to `to` or its
        customer; 202 with the send, queued: its `status` becomes `sent`, or `failed` with
        `last_error` (retried), in `GET .../sends`. Drafts and void invoices are a 409."""
        invoice = self.get_object()
        data = validated(s.InvoiceSendInput, request.data or {})
        context = action_context(request)

        def write() -> Answer:
            send = sending.invoice_send(
                invoice=invoice, **data, actor=request.user, context=context
            )
            return Answer(status=status.HTTP_202_ACCEPTED, body=s.InvoiceSendOutput(send).data)

        return respond_once(request, write)

    @extend_schema(responses={200: s.InvoiceSendOutput(many=True)})
    @action(detail=True, methods=["get"])
    def sends(self, request, pk=None):
        """The invoice's emails, sends and reminders (`reminder_step`), newest first, with
        their status and the last error."""
        page = self.paginate_queryset(selectors.invoice_send_list(invoice=self.get_object()))
        return self.get_paginated_response(s.InvoiceSendOutput(page, many=True).data)


class CreditNoteViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A credit note and its PDF; an invoice lists its own at /invoices/{id}/credit-notes."""

    serializer_class = s.CreditNoteOutput
    permission_classes = [HasActionPermission]
    action_permissions = {"retrieve": "billing.view_creditnote", "pdf": "billing.view_creditnote"}

    def get_queryset(self):
        return selectors.credit_note_list()

    @extend_schema(responses={**PDF_RESPONSES, **problem_responses(404, 409)})
    @action(detail=True, methods=["get"], renderer_classes=[PDFRenderer])
    def pdf(self, request, pk=None):
        """The PDF the credit note was issued with, byte for byte."""
        credit_note: CreditNote = self.get_object()
        return pdf_response(selectors.credit_note_pdf(credit_note), credit_note.number)


class PaymentViewSet(
    ReplicaReadsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Payments against open or uncollectible invoices, and their refunds."""

    serializer_class = s.PaymentOutput
    permission_classes = [HasActionPermission]
    action_permissions = {
        "list": "billing.view_payment",
        "retrieve": "billing.view_payment",
        "create": "billing.add_payment",
        "refund": "billing.refund_payment",
    }
    filterset_class = PaymentFilter
    ordering = ("-created_at", "-id")

    def get_queryset(self):
        return selectors.payment_list()

    @extend_schema(
        request=s.PaymentInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.PaymentOutput, **problem_responses(409, 422)},
    )
    def create(self, request):
        """Records a payment; the invoice becomes paid once covered. A payment larger than
        what remains due is a 409."""
        data = validated(s.PaymentInput, request.data)
        context = action_context(request)

        def write() -> Answer:
            payment = payments.payment_record(**data, actor=request.user, context=context)
            return Answer(status=status.HTTP_201_CREATED, body=s.payment_representation(payment))

        return respond_once(request, write)

    @extend_schema(
        request=s.RefundInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.RefundOutput, **problem_responses(409, 422)},
    )
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None):
        """Refunds part or (without `amount`) all that is left of a succeeded payment; never
        more than was paid. A paid invoice no longer covered goes back to open."""
        payment: Payment = self.get_object()
        data = validated(s.RefundInput, request.data)
        context = action_context(request)

        def write() -> Answer:
            refund = payments.payment_refund(
                payment=payment, **data, actor=request.user, context=context
            )
            return Answer(status=status.HTTP_201_CREATED, body=s.RefundOutput(refund).data)

        return respond_once(request, write)


class RevenueQuery(serializers.Serializer):
    months = serializers.IntegerField(min_value=1, max_value=120, default=12)


class OutstandingQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)


class ReportViewSet(ReplicaReadsMixin, viewsets.ViewSet):
    """Figures PostgreSQL sums up: revenue per month, what customers owe."""

    permission_classes = [HasActionPermission]
    action_permissions = {
        "revenue": "billing.view_billing_report",
        "outstanding": "billing.view_billing_report",
    }
    replica_read_actions = frozenset({"revenue", "outstanding"})

    @extend_schema(parameters=[RevenueQuery], responses={200: s.MonthlyRevenueOutput(many=True)})
    @action(detail=False, methods=["get"])
    def revenue(self, request):
        """Money received less refunds, per calendar month (UTC), for the last `months`."""
        query = validated_query(RevenueQuery, request.query_params)
        rows = selectors.revenue_by_month(**query)
        return Response(s.MonthlyRevenueOutput(rows, many=True).data)

    @extend_schema(
        parameters=[OutstandingQuery], responses={200: s.CustomerBalanceOutput(many=True)}
    )
    @action(detail=False, methods=["get"])
    def outstanding(self, request):
        """What each customer owes on open invoices and how much of it is past due, largest
        first."""
        query = validated_query(OutstandingQuery, request.query_params)
        rows = selectors.outstanding_by_customer(**query)
        return Response(s.CustomerBalanceOutput(rows, many=True).data)


class WebhookView(APIView):
    """A payment provider's event, signed with HMAC-SHA256 (header `Atrium-Signature:
    t=<unix>,v1=<hex>`). A bad or stale signature is a 400 and changes nothing; an event id
    seen before is answered `duplicate` and changes nothing."""

    # The signature is the credential; a provider's bursts must not be throttled away.
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(request=None, responses={200: s.WebhookOutput, **problem_responses(400, 422)})
    def post(self, request, provider: str):
        body = request.body  # the exact bytes that were signed, read before any parsing
        try:
            webhooks.verify(
                provider=provider,
                header=request.headers.get(webhooks.SIGNATURE_HEADER, ""),
                body=body,
            )
        except webhooks.InvalidSignature as reason:
            logger.warning("Refused a %s webhook: %s", provider, reason)
            raise ValidationFailed(
                "The webhook signature is invalid.",
                code="invalid_signature",
                fields={webhooks.SIGNATURE_HEADER: ["Missing, stale or not matching."]},
            ) from None
        try:
            event = json.loads(body)
        except ValueError:
            raise ValidationFailed(fields={"body": ["Not a JSON document."]}) from None
        refuse_unstorable_strings(body, event)
        event_id = event.get("id") if isinstance(event, dict) else None
        if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
            raise ValidationFailed(fields={"id": ["Every event needs a string id."]})
        outcome = webhook_events.webhook_event_process(
            provider=provider, event=event, context=action_context(request)
        )
        return Response({"outcome": outcome})
