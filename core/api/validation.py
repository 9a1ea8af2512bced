"""Request input in, validated data out, through the views' serializers; invalid input raises
DRF's ValidationError, which core.api.problems turns into a 400 naming each field."""

import threading
from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

_bound_fields = threading.local()


def validated(serializer_class: type[serializers.Serializer], data: Any, **kwargs) -> dict:
    """A request body's validated data."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def validated_query(serializer_class: type[serializers.Serializer], params: Mapping) -> dict:
    """The validated query parameters (``request.query_params``) of a list.

    DRF deep-copies a serializer's declared fields for every instance, which was most of what
    validating a hot list's query cost (callgrind: ~7% of a chat page's instructions). The
    fields of a query serializer are parsers that keep nothing of a request, so each thread
    binds them once per class and lends them to the later instances: such serializers must
    not reach ``context`` from a field.
    """
    serializer = _with_bound_fields(serializer_class(data=params))
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def represented(
    serializer_class: type[serializers.Serializer], instance: Any, *, many: bool = False
) -> Any:
    """What ``serializer_class(instance, many=many).data`` is, for a hot endpoint's output.

    Building a ``ModelSerializer``'s fields (from the model's fields, nested serializers
    included) is most of what representing one object costs; as for query serializers (see
    ``validated_query``), each thread binds them once and lends them to later instances, so
    the serializer's fields must not read ``context`` (no request, no hyperlinks).
    """
    if many:
        serializer = serializer_class(instance, many=True)
        _with_bound_fields(serializer.child)  # type: ignore[attr-defined]
        return serializer.data
    return _with_bound_fields(serializer_class(instance)).data


def _with_bound_fields(serializer: serializers.Serializer) -> serializers.Serializer:
    bound = _bound_fields.__dict__.setdefault("by_class", {})
    serializer_class = type(serializer)
    if serializer_class in bound:
        # ``fields`` is a cached_property: filling the instance's slot skips building it.
        serializer.__dict__["fields"] = bound[serializer_class]
    else:
        bound[serializer_class] = serializer.fields
    return serializer
