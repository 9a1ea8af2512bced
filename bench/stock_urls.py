"""The URLs of the stock DRF contenders (bench/stock_me_settings.py serves them): /me,
documents and billing. Not part of the product."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from bench import stock_billing, stock_documents, stock_me

router = SimpleRouter(trailing_slash=False)
router.register("stock/documents", stock_documents.DocumentViewSet, basename="stock-documents")
router.register("stock/billing/invoices", stock_billing.InvoiceViewSet, basename="stock-invoices")
router.register("stock/billing/payments", stock_billing.PaymentViewSet, basename="stock-payments")

urlpatterns = [*stock_me.urlpatterns, path("", include(router.urls))]
