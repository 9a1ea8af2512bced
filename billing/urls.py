"""Billing's pages outside the API and the admin: the hosted invoice (billing/views.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("invoices/<str:token>/", views.hosted_invoice, name="billing-hosted-invoice"),
    path("invoices/<str:token>/pdf", views.hosted_invoice_pdf, name="billing-hosted-invoice-pdf"),
]
