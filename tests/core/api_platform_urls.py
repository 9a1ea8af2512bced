"""A URLconf for tests/core/test_api_platform.py: the project's URLs plus small views that raise
each kind of error the API platform must turn into problem details."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import include, path
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, generics, serializers
from rest_framework.authentication import BasicAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import Customer
from config import urls as project_urls
from core import exceptions as domain
from core.api.schema import problem_responses

# Basic authentication keeps these views independent of the project's credential classes
# while still giving 401s a WWW-Authenticate challenge.
AUTHENTICATION = [BasicAuthentication]

OK = inline_serializer("Ok", {"ok": serializers.BooleanField()})


class LineSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1)


class EchoSerializer(serializers.Serializer):
    email = serializers.EmailField()
    count = serializers.IntegerField(required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=5), required=False)
    lines = LineSerializer(many=True, required=False)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("count") == 13:
            raise serializers.ValidationError("Thirteen is not accepted.")
        return attrs


class EchoView(APIView):
    """Validates a body and echoes it."""

    authentication_classes = AUTHENTICATION
    permission_classes = [AllowAny]

    @extend_schema(request=EchoSerializer, responses={201: EchoSerializer})
    def post(self, request: Request) -> Response:
        serializer = EchoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=201)


DOMAIN_ERRORS = {
    "conflict": lambda: domain.Conflict("Email taken.", code="email_taken"),
    "locked": lambda: domain.Locked(
        "Locked for 90 seconds.", retry_after=90, extensions={"locked_until": "2026-01-01T00:00Z"}
    ),
    "precondition_failed": lambda: domain.PreconditionFailed(),
    "precondition_required": lambda: domain.PreconditionRequired(),
    "not_found": lambda: domain.NotFound(),
    "permission_denied": lambda: domain.PermissionDenied(),
    "unprocessable": lambda: domain.ValidationFailed(
        fields={"due_date": ["Must follow the issue date."]}, status=422
    ),
}

FRAMEWORK_ERRORS = {
    "http404": lambda: Http404("No Customer matches the given query."),
    "django_permission_denied": lambda: DjangoPermissionDenied(),
    "django_validation": lambda: DjangoValidationError(
        {"name": ["Too short."], "__all__": ["Inconsistent."]}
    ),
    "drf_permission_denied": lambda: exceptions.PermissionDenied(),
    "crash": lambda: RuntimeError("secret internals: password=hunter2"),
}


class RaiseView(APIView):
    """Raises the exception named in the URL."""

    authentication_classes = AUTHENTICATION
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: OK,
            **problem_responses(409, 412, 422, 423, 428),
            (500, "application/problem+json"): OpenApiResponse(description="Raised on purpose."),
        }
    )
    def get(self, request: Request, kind: str) -> Response:
        make = DOMAIN_ERRORS.get(kind) or FRAMEWORK_ERRORS.get(kind)
        if make is None:
            return Response({"ok": True})
        raise make()


class PrivateView(APIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OK})
    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class LoginLikeView(APIView):
    """Stands in for a sensitive endpoint: throttled per IP and per account."""

    authentication_classes = AUTHENTICATION
    permission_classes = [AllowAny]
    throttle_scope = "login"

    @extend_schema(
        request=inline_serializer("LoginLike", {"email": serializers.EmailField()}),
        responses={200: OK},
    )
    def post(self, request: Request) -> Response:
        return Response({"ok": True})


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name"]


class CustomerList(generics.ListAPIView):
    """A paginated list over a table keyed and timestamped like every other."""

    authentication_classes = AUTHENTICATION
    permission_classes = [AllowAny]
    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer


class CustomersByName(CustomerList):
    ordering = ("name",)


def plain_crash(request: HttpRequest) -> HttpResponse:
    """A view outside DRF, where Django's own handlers answer."""
    raise RuntimeError("secret internals")


def plain_body(request: HttpRequest) -> HttpResponse:
    return HttpResponse(len(request.body))


test_patterns = [
    path("echo/", EchoView.as_view()),
    path("raise/<str:kind>/", RaiseView.as_view()),
    path("private/", PrivateView.as_view()),
    path("login-like/", LoginLikeView.as_view()),
    path("customers/", CustomerList.as_view()),
    path("customers-by-name/", CustomersByName.as_view()),
    path("plain-crash/", plain_crash),
    path("plain-body/", plain_body),
]

platform_patterns = [path("api/v1/platform/", include(test_patterns))]
urlpatterns = [*platform_patterns, *project_urls.urlpatterns]

handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500
