"""The filter backend of every list: django-filter, strict about booleans.

django-filter reads a ``BooleanFilter``'s value with Django's ``NullBooleanSelect``, which
takes any spelling it does not know (``yes``, ``1``, ``null``) as "not given", so
``?active=yes`` quietly returned every row. Here such a value is a 400 naming the parameter.
"""

from typing import Any

from django_filters import BooleanFilter
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

# What NullBooleanSelect reads as true or false (an empty value means not given).
BOOLEAN_SPELLINGS = frozenset({"", "true", "false", "True", "False"})


class FilterBackend(DjangoFilterBackend):
    def get_filterset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            for name, declared in filterset.filters.items():
                if isinstance(declared, BooleanFilter) and any(
                    value not in BOOLEAN_SPELLINGS for value in request.query_params.getlist(name)
                ):
                    raise ValidationError({name: ["Must be true or false."]})
        return filterset
