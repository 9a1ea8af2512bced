"""Filters of the document list: whose documents, title words and the time of the last
change."""

import django_filters
from django.db.models import QuerySet

from .models import Document


class DocumentFilter(django_filters.FilterSet):
    scope = django_filters.ChoiceFilter(
        choices=[("mine", "Documents I own"), ("shared", "Documents shared with me")],
        method="filter_scope",
        label="Only documents I own (mine) or only those shared with me (shared).",
    )
    title = django_filters.CharFilter(lookup_expr="icontains")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")

    class Meta:
        model = Document
        fields = ["scope", "title", "updated_after", "updated_before"]

    def filter_scope(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The list holds only documents the user owns or has a live share of, so "shared"
        # is every one the user does not own.
        owner = self.request.user
        return queryset.filter(owner=owner) if value == "mine" else queryset.exclude(owner=owner)
