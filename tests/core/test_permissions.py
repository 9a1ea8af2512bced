"""HasActionPermission: each action needs the permission its view names, and an action the
view does not name is closed."""

import pytest
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from core.api.permissions import HasActionPermission
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class ProbeViewSet(viewsets.ViewSet):
    permission_classes = [HasActionPermission]
    action_permissions = {"list": None, "create": "billing.add_invoice"}

    def list(self, request):
        return Response([])

    def create(self, request):
        return Response({}, status=201)

    @action(detail=False, methods=["post"])
    def forgotten(self, request):
        return Response({})


def _call(method: str, action_name: str, user) -> int:
    request = getattr(APIRequestFactory(), method)("/probe")
    force_authenticate(request, user=user)
    view = ProbeViewSet.as_view({method: action_name})
    return view(request).status_code


def test_an_action_mapped_to_none_is_open_to_any_signed_in_user():
    assert _call("get", "list", UserFactory()) == 200


def test_an_action_needs_the_permission_it_is_mapped_to(synced_roles):
    assert _call("post", "create", UserFactory(roles=["member"])) == 403
    assert _call("post", "create", UserFactory(roles=["billing_manager"])) == 201


def test_an_action_missing_from_the_mapping_is_refused_even_to_a_superuser():
    assert _call("post", "forgotten", UserFactory(is_superuser=True)) == 403
