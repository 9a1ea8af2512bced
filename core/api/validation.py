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
    require_json_types(serializer)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def require_json_types(serializer: serializers.BaseSerializer) -> None:
    """A 400 naming each field whose JSON value is a number where the schema documents a
    string (a text, a choice, a UUID). DRF's fields would turn ``123`` into ``"123"`` and an
    integer into a UUID; a client sending them has misread the contract, and the answer says
    so instead of storing a guess. Run before ``is_valid`` on every body serializer."""
    fields = getattr(serializer, "fields", {})
    errors = _loose_types(fields, getattr(serializer, "initial_data", None))
    if errors:
        raise serializers.ValidationError(errors)


_STRING_FIELDS = (serializers.CharField, serializers.UUIDField)
_NOT_A_STRING = "Must be a JSON string."


def _loose_types(fields: Mapping[str, serializers.Field], data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        return {}
    errors: dict[str, Any] = {}
    for name, field in fields.items():
        if field.read_only or name not in data:
            continue
        found = _loose_value(field, data[name])
        if found:
            errors[name] = found
    return errors


def _loose_value(field: serializers.Field, value: Any) -> Any:
    if isinstance(field, serializers.ListSerializer | serializers.ListField):
        if not isinstance(value, list):
            return None
        child = field.child
        if child is None:
            return None
        found = {str(i): e for i, item in enumerate(value) if (e := _loose_value(child, item))}
        return found or None
    if isinstance(field, serializers.Serializer):
        return _loose_types(field.fields, value) or None
    if _documents_a_string(field) and isinstance(value, int | float):
        return [_NOT_A_STRING]
    return None


def _documents_a_string(field: serializers.Field) -> bool:
    if isinstance(field, serializers.ChoiceField):
        return all(isinstance(choice, str) for choice in field.choices)
    return isinstance(field, _STRING_FIELDS)


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
