"""Query validation lends each thread's bound fields to later serializers: one request's
parameters or errors must never reach another's answer."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from core.api.validation import validated_query


class ListQuery(serializers.Serializer):
    page_size = serializers.IntegerField(min_value=1, max_value=200, default=50)
    q = serializers.CharField(required=False, max_length=5)


def _errors(params: str) -> dict:
    with pytest.raises(ValidationError) as raised:
        validated_query(ListQuery, QueryDict(params))
    return raised.value.detail


def test_each_query_gets_its_own_values_and_errors_in_turn():
    assert validated_query(ListQuery, QueryDict("page_size=7&q=abc")) == {
        "page_size": 7,
        "q": "abc",
    }
    assert set(_errors("page_size=0&q=toolong")) == {"page_size", "q"}
    assert validated_query(ListQuery, QueryDict("")) == {"page_size": 50}
    assert set(_errors("page_size=x")) == {"page_size"}


def test_threads_validating_at_once_each_get_their_own_answer():
    def validate(size: int):
        try:
            return validated_query(ListQuery, QueryDict(f"page_size={size}"))["page_size"]
        except ValidationError as error:
            return sorted(error.detail)

    sizes = [(n % 250) for n in range(400)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(validate, sizes))

    assert answers == [size if 1 <= size <= 200 else ["page_size"] for size in sizes]
