"""Filters of the document list: whose documents, title words and the time of the last
change."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField

from .models import Document


class UTCIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 accepts offsets up to ±23:59 where PostgreSQL stops at ±15:59, so times go to
    the database in UTC."""

    def to_python(self, value):
        value = super().to_python(value)
        try:
            return value if value is None else value.astimezone(UTC)
        except OverflowError:
            raise ValidationError("This time is out of range.", code="invalid") from None


class UTCIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


class DocumentFilter(django_filters.FilterSet):
    scope = django_filters.ChoiceFilter(
        choices=[("mine", "Documents I own"), ("shared", "Documents shared with me")],
        method="filter_scope",
        label="Only documents I own (mine) or only those shared with me (shared).",
    )
    title = django_filters.CharFilter(lookup_expr="icontains")
    updated_after = UTCIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = UTCIsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")

    class Meta:
        model = Document
        fields = ["scope", "title", "updated_after", "updated_before"]

    def filter_scope(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The list holds only documents the user owns or has a live share of, so "shared"
        # is every one the user does not own.
        owner = self.request.user
        return queryset.filter(owner=owner) if value == "mine" else queryset.exclude(owner=owner)
