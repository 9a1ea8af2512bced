"""The "stock" contender for the documents endpoints of bench/bench_documents.py: what most
Django projects ship. A ``ModelViewSet`` with ``ModelSerializer``s, DRF's
``PageNumberPagination`` (a COUNT and an OFFSET per page), the readable documents as an ORM
filter, PostgreSQL's full-text search through ``django.contrib.postgres``, and an update that
saves the document and writes its version row in one transaction (no If-Match, no audit, no
event). Settings: bench/stock_me_settings.py. Not part of the product.

  GET   /stock/documents, /stock/documents/search?q=, /stock/documents/<id>
  PATCH /stock/documents/<id>
"""

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import transaction
from django.db.models import F, FloatField, Q
from django.db.models.functions import Cast, Now
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination

from documents.models import Document, DocumentShare, DocumentVersion


class StockPagination(PageNumberPagination):
    page_size = 50


class DocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = ["id", "title", "version", "owner", "created_at", "updated_at", "content"]
        read_only_fields = ["version", "owner"]


class DocumentSummarySerializer(DocumentSerializer):
    class Meta(DocumentSerializer.Meta):
        fields = DocumentSerializer.Meta.fields[:-1]


class SearchResultSerializer(DocumentSummarySerializer):
    rank = serializers.FloatField()

    class Meta(DocumentSummarySerializer.Meta):
        fields = [*DocumentSummarySerializer.Meta.fields, "rank"]


class DocumentViewSet(viewsets.ModelViewSet):
    pagination_class = StockPagination

    def get_queryset(self):
        user = self.request.user
        shared = DocumentShare.objects.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=Now()), user=user
        ).values("document_id")
        return Document.objects.filter(Q(owner=user) | Q(pk__in=shared)).order_by(
            "-updated_at", "-id"
        )

    def get_serializer_class(self):
        if self.action == "list":
            return DocumentSummarySerializer
        return SearchResultSerializer if self.action == "search" else DocumentSerializer

    @action(detail=False)
    def search(self, request):
        query = SearchQuery(request.query_params.get("q", ""), search_type="websearch")
        matches = (
            self.get_queryset()
            .filter(search_vector=query)
            .annotate(rank=Cast(SearchRank(F("search_vector"), query), FloatField()))
            .order_by("-rank", "-id")
        )
        page = self.paginate_queryset(matches)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def perform_update(self, serializer):
        with transaction.atomic():
            document = serializer.save(version=serializer.instance.version + 1)
            DocumentVersion.objects.create(
                document=document,
                version=document.version,
                title=document.title,
                content=document.content,
                created_by=self.request.user,
            )
