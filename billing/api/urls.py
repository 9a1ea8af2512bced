from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("billing/customers", views.CustomerViewSet, basename="customer")
router.register("billing/products", views.ProductViewSet, basename="product")
router.register("billing/invoices", views.InvoiceViewSet, basename="invoice")
router.register("billing/credit-notes", views.CreditNoteViewSet, basename="credit-note")
router.register("billing/payments", views.PaymentViewSet, basename="payment")
router.register("billing/reports", views.ReportViewSet, basename="billing-report")

urlpatterns = [
    # The path docs/product.md §5 gives providers, trailing slash included.
    path("billing/webhooks/<slug:provider>/", views.WebhookView.as_view(), name="billing-webhook"),
    *router.urls,
]
