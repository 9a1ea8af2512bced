"""Keyset (cursor) pagination for every list endpoint."""

# DRF's stubs describe its own cursor: an integer position, a two-field ordering, an optional
# page. Ours keeps the whole ordering tuple as JSON text, so those checks do not apply here.
# mypy: disable-error-code="arg-type, assignment, index, override"

from __future__ import annotations

import json
import operator
from functools import reduce
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.db.models import Model, Q, QuerySet
from django.http import HttpResponse
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request

from core.sql import RowJSON, json_page

if TYPE_CHECKING:
    from rest_framework.views import APIView


PAGE_SIZE_MESSAGE = "Must be a whole number from 1."


class CursorPagination(pagination.CursorPagination):
    """Pages of ``page_size`` rows (``?page_size=`` up to 200), newest first, linked by
    opaque ``next``/``previous`` cursors. It never counts rows and never uses OFFSET.

    DRF's own cursor keys on the first ordering field and falls back to an OFFSET for rows
    that tie on it; rows written in one transaction share ``created_at`` (PostgreSQL's
    transaction timestamp), so a bulk load would turn that into a deep OFFSET. Here the cursor
    holds the whole ordering tuple, which ends with the primary key and so is unique, and each
    page is one range query.

    Precondition: the ordering fields are never NULL. A view (or a subclass) may state its
    ``ordering``; the primary key is appended when it names no tie-breaker.
    """

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")

    def get_ordering(self, request: Request, queryset: QuerySet, view: APIView) -> tuple[str, ...]:
        # A view may state its own order (``ordering = ("display_name", "user_id")``). With an
        # OrderingFilter, DRF's lookup already takes the client's choice or that default.
        view_ordering = getattr(view, "ordering", None)
        filters_order = any(
            hasattr(b, "get_ordering") for b in getattr(view, "filter_backends", [])
        )
        if view_ordering and not filters_order:
            ordering = (view_ordering,) if isinstance(view_ordering, str) else tuple(view_ordering)
        else:
            ordering = super().get_ordering(request, queryset, view)
        pk = queryset.model._meta.pk
        if {pk.name, pk.attname} & {field.lstrip("-") for field in ordering}:
            return ordering
        # Same direction as the last field, so an index ending in the key serves the scan.
        return (*ordering, f"-{pk.attname}" if ordering[-1].startswith("-") else pk.attname)

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        walked = self._walked(queryset, request, view)
        if walked is None:
            return None
        # One row more than a page tells whether another page follows, without counting.
        rows = list(walked[: self.page_size + 1])
        self.page = rows[: self.page_size]
        if self._backwards:
            self.page.reverse()
        ends = None
        if self.page:
            ends = (self._position(self.page[0]), self._position(self.page[-1]))
        self._settle(more_beyond=len(rows) > self.page_size, ends=ends)
        return self.page

    def json_page(
        self, queryset: QuerySet, request: Request, view: APIView, row: RowJSON
    ) -> HttpResponse:
        """The page ``paginate_queryset`` would give, answered as the JSON body
        ``get_paginated_response`` would write, with each row written by PostgreSQL as
        ``row`` says (core.sql.json_page): one statement, and no model instance or serializer
        field per row. The body is what the row's output serializer would give."""
        walked = self._walked(queryset, request, view)
        if walked is None:  # get_page_size falls back to page_size, which is never 0 here
            raise ImproperlyConfigured("A JSON page needs a page size.")
        names = [field.lstrip("-") for field in self.ordering]
        rows = walked.values(*dict.fromkeys([*row.columns, *names]))[: self.page_size + 1]
        inner, params = rows.query.get_compiler(rows.db).as_sql()
        walk = pagination._reverse_ordering(self.ordering) if self._backwards else self.ordering
        statement = json_page(inner, row, tuple(walk), self._backwards)
        with connections[rows.db].cursor() as cursor:
            cursor.execute(statement, (*params, self.page_size))
            results, found, *ends = cursor.fetchone()
        positions = None
        if found:
            walk_first, walk_last = (
                self._position_of(ends[: len(names)]),
                self._position_of(ends[len(names) :]),
            )
            positions = (walk_last, walk_first) if self._backwards else (walk_first, walk_last)
        self._settle(more_beyond=found > self.page_size, ends=positions)
        links = json.dumps(self.get_next_link()), json.dumps(self.get_previous_link())
        return HttpResponse(
            f'{{"next":{links[0]},"previous":{links[1]},"results":{results}}}',
            content_type="application/json",
        )

    def _walked(
        self, queryset: QuerySet, request: Request, view: APIView | None
    ) -> QuerySet | None:
        """The queryset in the order the page is walked, from the cursor on; None without a
        page size."""
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.cursor = self.decode_cursor(request)

        # A "previous" cursor walks backwards from the first row of the page it came from.
        self._backwards = self.cursor is not None and self.cursor.reverse
        ordering = pagination._reverse_ordering(self.ordering) if self._backwards else self.ordering
        queryset = queryset.order_by(*ordering)
        if self.cursor is not None:
            queryset = self._after(queryset, ordering, self.cursor.position)
        return queryset

    def _settle(self, *, more_beyond: bool, ends: tuple[str, str] | None) -> None:
        """The links of a page whose first and last rows have the cursor positions ``ends``
        (None for an empty page), ``more_beyond`` when rows follow it in the walk."""
        self._ends = ends
        # Links point from the page's first and last rows, so an empty page has none; a page
        # reached through a cursor has rows on the side the cursor came from.
        came_through_cursor = self.cursor is not None and ends is not None
        self.has_next = came_through_cursor if self._backwards else more_beyond
        self.has_previous = more_beyond if self._backwards else came_through_cursor
        self.display_page_controls = self.template is not None and (
            self.has_next or self.has_previous
        )

    def get_page_size(self, request: Request) -> int:
        """``?page_size=``: a whole number from 1, more than ``max_page_size`` giving that
        many; anything else is a 400 naming it (DRF's own quietly falls back to the default).
        """
        value = request.query_params.get(self.page_size_query_param)
        if not value:
            return self.page_size
        try:
            return pagination._positive_int(value, strict=True, cutoff=self.max_page_size)
        except ValueError:
            raise ValidationError({self.page_size_query_param: [PAGE_SIZE_MESSAGE]}) from None

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (
                    f"Rows per page, {self.page_size} if not given; at most {self.max_page_size}."
                )
        return parameters

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        # An empty cursor is no cursor, as an empty value is for every optional query
        # parameter (the schema says so: core.api.schema).
        if not request.query_params.get(self.cursor_query_param):
            return None
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise self._invalid_cursor() from exc

    def _invalid_cursor(self) -> ValidationError:
        # A bad cursor is bad input (400, naming the parameter), not a missing page.
        return ValidationError({"cursor": [self.invalid_cursor_message]})

    def get_next_link(self) -> str | None:
        if not self.has_next or self._ends is None:
            return None
        position = self._ends[1]
        return self.encode_cursor(pagination.Cursor(offset=0, reverse=False, position=position))

    def get_previous_link(self) -> str | None:
        if not self.has_previous or self._ends is None:
            return None
        position = self._ends[0]
        return self.encode_cursor(pagination.Cursor(offset=0, reverse=True, position=position))

    def _position(self, row: Model | dict[str, Any]) -> str:
        names = [field.lstrip("-") for field in self.ordering]
        return self._position_of(
            [row[name] if isinstance(row, dict) else getattr(row, name) for name in names]
        )

    @staticmethod
    def _position_of(values: list[Any]) -> str:
        """A cursor's position: the row's ordering values as the ORM gives them, as text."""
        return json.dumps([str(value) for value in values])

    def _after(
        self, queryset: QuerySet, ordering: tuple[str, ...], position: str | None
    ) -> QuerySet:
        """Rows strictly after ``position`` in ``ordering``: for (a desc, b desc) that is
        ``a < x OR (a = x AND b < y)``."""
        try:
            values = json.loads(position or "")
        except ValueError:
            values = None
        if not isinstance(values, list) or len(values) != len(ordering):
            raise self._invalid_cursor()

        names = [field.lstrip("-") for field in ordering]
        lookups = ["lt" if field.startswith("-") else "gt" for field in ordering]
        branches = [
            Q(
                **dict(zip(names[:i], values[:i], strict=True)),
                **{f"{names[i]}__{lookups[i]}": value},
            )
            for i, value in enumerate(values)
        ]
        # The redundant bound on the first field is what lets PostgreSQL start an index scan
        # at the cursor instead of filtering the OR row by row.
        bound = Q(**{f"{names[0]}__{lookups[0]}e": values[0]})
        try:
            # The ORM converts each string back to its field's type here, so a tampered
            # cursor fails now rather than in the database.
            return queryset.filter(bound, reduce(operator.or_, branches))
        except (DjangoValidationError, ValueError, TypeError) as exc:
            raise self._invalid_cursor() from exc
