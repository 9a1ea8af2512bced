"""The API platform every endpoint stands on: one error shape (RFC 9457 problem details),
keyset pagination, shared-cache throttling, the OpenAPI schema and docs, security headers and
health checks."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from django.core.cache import cache, caches
from django.core.management import call_command
from django.test import Client
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from core.api.throttling import count_hit
from tests.accounts.conftest import session_token_for
from tests.core.api_platform_urls import platform_patterns
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.urls("tests.core.api_platform_urls")

PROBLEM = "application/problem+json"
BASE = "/api/v1/platform"


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def problem_of(response) -> dict:
    """The problem body, after checking it is served as one."""
    assert response["Content-Type"] == PROBLEM, response.content
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"] == f"https://atrium.example/problems/{body['code']}"
    assert {"title", "detail", "instance", "errors"} <= body.keys()
    return body


def throttle_rates(settings, **rates: str | None) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


# Validation and request bodies


def test_invalid_fields_are_listed_with_their_messages(api):
    response = api.post(
        f"{BASE}/echo/",
        {"email": "not-an-email", "count": {"a": 1}, "tags": ["ok", "toolong"]},
        format="json",
    )

    assert response.status_code == 400
    body = problem_of(response)
    assert body["code"] == "invalid"
    assert body["instance"] == f"{BASE}/echo/"
    fields = {error["field"]: error for error in body["errors"]}
    assert fields.keys() == {"email", "count", "tags.1"}
    assert fields["email"]["message"] == "Enter a valid email address."
    assert fields["count"]["code"] == "invalid"
    assert fields["tags.1"]["code"] == "max_length"


def test_missing_and_nested_fields_are_named_by_their_path(api):
    response = api.post(f"{BASE}/echo/", {"lines": [{"quantity": 2}, {}]}, format="json")

    fields = {(e["field"], e["code"]) for e in problem_of(response)["errors"]}
    assert fields == {("email", "required"), ("lines.1.quantity", "required")}


def test_an_error_about_the_whole_input_is_a_non_field_error(api):
    response = api.post(f"{BASE}/echo/", {"email": "a@example.com", "count": 13}, format="json")

    assert problem_of(response)["errors"] == [
        {"field": "non_field_errors", "message": "Thirteen is not accepted.", "code": "invalid"}
    ]


def test_a_body_of_the_wrong_json_type_is_a_400(api):
    response = api.post(f"{BASE}/echo/", [1, 2], format="json")

    assert response.status_code == 400
    assert problem_of(response)["errors"][0]["field"] == "non_field_errors"


def test_malformed_json_is_a_400_that_says_why(api):
    response = api.post(f"{BASE}/echo/", '{"email": ', content_type="application/json")

    assert response.status_code == 400
    body = problem_of(response)
    assert body["code"] == "parse_error"
    assert body["detail"].startswith("JSON parse error")


def test_json_nested_beyond_the_recursion_limit_is_a_400(api):
    response = api.post(f"{BASE}/echo/", "[" * 100_000, content_type="application/json")

    assert response.status_code == 400
    assert problem_of(response)["code"] == "parse_error"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"email": "a\\u0000b@example.com"}', "email"),
        (
            '{"email": "a@example.com", "lines": [{"quantity": 1}, {"note": "x\\ud800"}]}',
            "lines.1.note",
        ),
        ('{"email": "a@example.com", "meta": {"payload": {"k": "\\uDFFF"}}}', "meta.payload.k"),
        ('{"email": "a@example.com", "meta": {"bad\\u0000key": 1}}', "meta.bad\\x00key"),
    ],
)
def test_a_string_postgresql_cannot_store_is_a_400_naming_its_field(api, body, field):
    response = api.post(f"{BASE}/echo/", body, content_type="application/json")

    assert response.status_code == 400
    (error,) = problem_of(response)["errors"]
    assert error["field"] == field
    assert "Null characters" in error["message"]


def test_escaped_characters_postgresql_can_store_pass(api):
    # An emoji spelled as a surrogate pair is one ordinary character once decoded.
    body = '{"email": "a@example.com", "tags": ["\\ud83d\\ude00"]}'

    response = api.post(f"{BASE}/echo/", body, content_type="application/json")

    assert response.status_code == 201
    assert response.json()["tags"] == ["\N{GRINNING FACE}"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_that_is_not_json_is_a_415(api, content_type):
    response = api.post(f"{BASE}/echo/", "email=a@example.com", content_type=content_type)

    assert response.status_code == 415
    assert problem_of(response)["code"] == "unsupported_media_type"


def test_a_json_body_over_the_size_cap_is_a_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = api.post(
        f"{BASE}/echo/", {"email": "a@example.com", "tags": ["x"] * 50}, format="json"
    )

    assert response.status_code == 413
    assert problem_of(response)["code"] == "request_too_large"


def test_a_body_over_the_size_cap_outside_drf_is_a_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    client = Client(raise_request_exception=False)

    response = client.post(f"{BASE}/plain-body/", "x" * 101, content_type="text/plain")

    assert response.status_code == 413
    assert problem_of(response)["code"] == "request_too_large"


def test_an_unacceptable_accept_header_is_a_406(api):
    response = api.post(
        f"{BASE}/echo/", {"email": "a@example.com"}, format="json", HTTP_ACCEPT="application/xml"
    )

    assert response.status_code == 406
    assert problem_of(response)["code"] == "not_acceptable"


def test_a_valid_body_is_not_a_problem(api):
    response = api.post(f"{BASE}/echo/", {"email": "a@example.com"}, format="json")

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"


# Routing, methods, authentication


def test_an_unknown_route_under_api_is_a_404_problem(api):
    response = api.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert problem_of(response)["instance"] == "/api/v1/no-such-thing/"


def test_an_unknown_route_elsewhere_is_django_s_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_wrong_method_is_a_405(api):
    response = api.delete(f"{BASE}/echo/")

    assert response.status_code == 405
    assert problem_of(response)["code"] == "method_not_allowed"


def test_missing_credentials_are_a_401_with_a_challenge(api):
    response = api.get(f"{BASE}/private/")

    assert response.status_code == 401
    assert problem_of(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Basic")


# Exceptions raised by views and services


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("conflict", 409, "email_taken"),
        ("precondition_failed", 412, "precondition_failed"),
        ("precondition_required", 428, "precondition_required"),
        ("not_found", 404, "not_found"),
        ("permission_denied", 403, "permission_denied"),
        ("http404", 404, "not_found"),
        ("django_permission_denied", 403, "permission_denied"),
        ("drf_permission_denied", 403, "permission_denied"),
    ],
)
def test_each_refusal_has_its_status_and_code(api, kind, status, code):
    response = api.get(f"{BASE}/raise/{kind}/")

    assert response.status_code == status
    assert problem_of(response)["code"] == code


def test_a_404_does_not_name_the_model(api):
    response = api.get(f"{BASE}/raise/http404/")

    assert "Customer" not in problem_of(response)["detail"]


def test_a_locked_resource_says_when_to_retry(api):
    response = api.get(f"{BASE}/raise/locked/")

    assert response.status_code == 423
    assert response["Retry-After"] == "90"
    body = problem_of(response)
    assert body["locked_until"] == "2026-01-01T00:00Z"
    assert body["detail"] == "Locked for 90 seconds."


def test_a_service_s_field_errors_are_listed(api):
    response = api.get(f"{BASE}/raise/unprocessable/")

    assert response.status_code == 422
    assert problem_of(response)["errors"] == [
        {"field": "due_date", "message": "Must follow the issue date.", "code": "invalid"}
    ]


def test_a_django_validation_error_is_a_400_with_its_fields(api):
    response = api.get(f"{BASE}/raise/django_validation/")

    assert response.status_code == 400
    fields = {(e["field"], e["message"]) for e in problem_of(response)["errors"]}
    assert fields == {("name", "Too short."), ("non_field_errors", "Inconsistent.")}


def test_an_unexpected_exception_is_a_500_that_reveals_nothing(api, caplog):
    response = api.get(f"{BASE}/raise/crash/")

    assert response.status_code == 500
    body = problem_of(response)
    assert body["code"] == "server_error"
    assert "hunter2" not in response.content.decode()
    assert "hunter2" in caplog.text


def test_an_unexpected_exception_outside_drf_is_a_500_problem():
    client = Client(raise_request_exception=False)

    response = client.get(f"{BASE}/plain-crash/")

    assert response.status_code == 500
    assert problem_of(response)["code"] == "server_error"
    assert b"secret" not in response.content


# Throttling


def test_a_sensitive_endpoint_is_throttled_per_ip_with_retry_after(api, settings):
    throttle_rates(settings, **{"login.ip": "2/min", "login.account": "100/min"})
    for email in ("a@example.com", "b@example.com"):
        assert api.post(f"{BASE}/login-like/", {"email": email}, format="json").status_code == 200

    response = api.post(f"{BASE}/login-like/", {"email": "c@example.com"}, format="json")

    assert response.status_code == 429
    assert problem_of(response)["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_a_forged_forwarded_for_header_does_not_escape_the_ip_throttle(api, settings):
    throttle_rates(settings, **{"login.ip": "1/min", "login.account": "100/min"})
    api.post(f"{BASE}/login-like/", {"email": "a@example.com"}, format="json")

    response = api.post(
        f"{BASE}/login-like/",
        {"email": "b@example.com"},
        format="json",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )

    assert response.status_code == 429


def test_behind_a_trusted_proxy_each_client_has_its_own_count(api, settings):
    settings.TRUSTED_PROXIES = 1
    throttle_rates(settings, **{"login.ip": "1/min", "login.account": "100/min"})

    def login_from(client_address: str, forged: str = "") -> int:
        # The proxy appends the address it was connected from; a client may send anything.
        chain = ", ".join(hop for hop in (forged, client_address) if hop)
        return api.post(
            f"{BASE}/login-like/",
            {"email": f"{client_address}@example.com"},
            format="json",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=chain,
        ).status_code

    assert login_from("198.51.100.7") == 200
    assert login_from("198.51.100.8") == 200  # another client behind the same proxy
    assert login_from("198.51.100.7") == 429
    # Whatever a client writes further left, the proxy's hop is the one counted.
    assert login_from("198.51.100.7", forged="203.0.113.50") == 429


def test_another_ip_has_its_own_count(api, settings):
    throttle_rates(settings, **{"login.ip": "1/min", "login.account": "100/min"})
    api.post(f"{BASE}/login-like/", {"email": "a@example.com"}, format="json")

    response = api.post(
        f"{BASE}/login-like/", {"email": "b@example.com"}, format="json", REMOTE_ADDR="10.0.0.2"
    )

    assert response.status_code == 200


def test_a_sensitive_endpoint_is_throttled_per_account_whatever_the_spelling(api, settings):
    throttle_rates(settings, **{"login.ip": "100/min", "login.account": "2/min"})
    for address in ("10.0.0.1", "10.0.0.2"):
        api.post(
            f"{BASE}/login-like/", {"email": "Ana@Example.com"}, format="json", REMOTE_ADDR=address
        )

    same_account = api.post(
        f"{BASE}/login-like/", {"email": " ana@example.COM "}, format="json", REMOTE_ADDR="10.0.0.3"
    )
    other_account = api.post(
        f"{BASE}/login-like/", {"email": "ben@example.com"}, format="json", REMOTE_ADDR="10.0.0.3"
    )

    assert same_account.status_code == 429
    assert other_account.status_code == 200


def test_every_endpoint_has_a_moderate_anonymous_rate(api, settings):
    throttle_rates(settings, anon="1/min")
    api.post(f"{BASE}/echo/", {"email": "a@example.com"}, format="json")

    response = api.post(f"{BASE}/echo/", {"email": "a@example.com"}, format="json")

    assert response.status_code == 429
    assert "Retry-After" in response


@pytest.fixture
def redis_cache(settings):
    """The production cache: Redis on the machine (127.0.0.1:6379, as on CI), under a key
    prefix of this test's own."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": f"atrium-tests-{uuid.uuid4()}",
        }
    }
    yield caches["default"]
    caches["default"].clear()


def test_counts_kept_in_redis_expire_with_their_window_and_refuse_past_the_rate(
    api, settings, redis_cache
):
    throttle_rates(settings, anon="2/min")
    statuses = [
        api.post(f"{BASE}/echo/", {"email": "a@example.com"}, format="json").status_code
        for _ in range(3)
    ]

    assert statuses == [201, 201, 429]
    client = redis_cache._cache.get_client(write=True)
    [key] = client.keys(f"*{redis_cache.key_prefix}*throttle:anon:*")
    assert client.get(key) == b"3"
    assert 0 < client.ttl(key) <= 61


def test_concurrent_hits_on_redis_are_each_counted_once(redis_cache):
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(lambda _: count_hit("race", timeout=60), range(200)))

    assert sorted(counts) == list(range(1, 201))


# Pagination


@pytest.fixture
def customers(db) -> list[str]:
    """Seven customers written in one transaction, so they all share created_at; newest first
    means highest id first among ties."""
    rows = CustomerFactory.create_batch(7)
    return [str(c.pk) for c in sorted(rows, key=lambda c: c.pk, reverse=True)]


def test_pages_walk_every_row_once_in_order_even_when_timestamps_tie(api, customers):
    seen, url = [], f"{BASE}/customers/?page_size=3"
    while url:
        page = api.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]

    assert seen == customers


def test_previous_links_walk_back_to_the_first_page(api, customers):
    first = api.get(f"{BASE}/customers/?page_size=3").json()
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()

    back = api.get(third["previous"]).json()
    front = api.get(back["previous"]).json()

    assert [r["id"] for r in back["results"]] == customers[3:6]
    assert [r["id"] for r in front["results"]] == customers[:3]
    assert front["previous"] is None
    assert third["next"] is None


def test_a_view_s_own_ordering_is_walked_with_the_key_breaking_ties(api, db):
    rows = [CustomerFactory(name=name) for name in ("b", "a", "b", "c")]
    expected = [str(c.pk) for c in sorted(rows, key=lambda c: (c.name, c.pk))]

    seen, url = [], f"{BASE}/customers-by-name/?page_size=1"
    while url:
        page = api.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]

    assert seen == expected


def test_a_page_is_one_query_without_a_count(api, customers, django_assert_num_queries):
    first = api.get(f"{BASE}/customers/?page_size=3").json()

    with django_assert_num_queries(1) as captured:
        api.get(first["next"])

    sql = captured.captured_queries[0]["sql"].upper()
    assert "COUNT(" not in sql
    assert "OFFSET" not in sql


def test_page_size_is_capped(api, db, settings):
    CustomerFactory.create_batch(3)

    with mock.patch("core.api.pagination.CursorPagination.max_page_size", 2):
        page = api.get(f"{BASE}/customers/?page_size=500").json()

    assert len(page["results"]) == 2


@pytest.mark.parametrize("cursor", ["garbage", "cD1bIngiXQ=="])
def test_a_tampered_cursor_is_a_400_naming_the_cursor(api, db, cursor):
    response = api.get(f"{BASE}/customers/?cursor={cursor}")

    assert response.status_code == 400
    assert problem_of(response)["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("page_size", ["0", "-3", "2.5", "ten"])
def test_a_page_size_that_is_not_a_whole_number_from_1_is_a_400_naming_it(api, db, page_size):
    response = api.get(f"{BASE}/customers/?page_size={page_size}")

    assert response.status_code == 400
    assert problem_of(response)["errors"][0]["field"] == "page_size"


def test_an_empty_cursor_or_page_size_means_the_first_page_of_the_default_size(api, db):
    CustomerFactory.create_batch(3)

    response = api.get(f"{BASE}/customers/?cursor=&page_size=")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


@pytest.mark.parametrize("spelling", ["yes", "1", "null"])
def test_a_boolean_filter_refuses_a_spelling_it_would_have_ignored(synced_roles, spelling):
    api = APIClient()
    manager = UserFactory(roles=["billing_manager"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token_for(manager)}")

    refused = api.get(f"/api/v1/billing/products?active={spelling}")

    assert refused.status_code == 400
    assert problem_of(refused)["errors"][0]["field"] == "active"
    assert api.get("/api/v1/billing/products?active=false").status_code == 200


# Schema and docs


@pytest.fixture(scope="module")
def schema() -> dict:
    """The schema of the platform's test views alone, so warnings are ours."""
    GENERATOR_STATS.reset()
    generated = SchemaGenerator(patterns=platform_patterns).get_schema(public=True)
    assert not GENERATOR_STATS, "drf-spectacular warned while generating the schema"
    return generated


def test_the_schema_is_valid_openapi(schema):
    validate_schema(schema)


def test_the_project_schema_is_valid_openapi(tmp_path):
    call_command(
        "spectacular", "--urlconf", "config.urls", "--validate", "--file", str(tmp_path / "s.yml")
    )


def test_the_schema_is_served(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    validate_schema(json.loads(response.content))


def _responses(schema: dict, path: str, method: str) -> dict:
    return schema["paths"][f"{BASE}/{path}"][method]["responses"]


def test_the_schema_documents_the_errors_of_a_write(schema):
    responses = _responses(schema, "echo/", "post")

    assert {"201", "400", "413", "415", "429"} <= responses.keys()
    assert "401" not in responses
    assert responses["400"]["content"][PROBLEM]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    assert "Retry-After" in responses["429"]["headers"]


def test_the_schema_documents_a_database_outage_everywhere(schema):
    for methods in schema["paths"].values():
        for operation in methods.values():
            assert "Retry-After" in operation["responses"]["503"]["headers"]


def test_the_schema_documents_authentication_errors(schema):
    responses = _responses(schema, "private/", "get")

    assert {"401", "403"} <= responses.keys()
    assert "WWW-Authenticate" in responses["401"]["headers"]


def test_the_schema_documents_negotiation_everywhere_and_empty_optional_parameters(schema):
    for methods in schema["paths"].values():
        for operation in methods.values():
            assert operation["responses"]["406"]["content"].keys() == {PROBLEM}
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and not parameter.get("required"):
                    assert parameter["allowEmptyValue"] is True
    page_size = next(
        p
        for p in schema["paths"][f"{BASE}/customers/"]["get"]["parameters"]
        if p["name"] == "page_size"
    )
    assert page_size["schema"]["minimum"] == 1


def test_the_schema_documents_conditional_writes_where_they_take_if_match():
    schema = SchemaGenerator().get_schema(public=True)
    update = schema["paths"]["/api/v1/documents/{document_id}"]["put"]

    assert {"412", "428"} <= update["responses"].keys()
    if_match = next(p for p in update["parameters"] if p["name"] == "If-Match")
    assert if_match["schema"]["pattern"] == '^"[0-9]{1,9}"$'


def test_the_schema_documents_404_for_object_paths_and_declared_problems(schema):
    responses = _responses(schema, "raise/{kind}/", "get")

    assert {"404", "409", "412", "422", "423", "428"} <= responses.keys()


def test_the_schema_documents_cursor_pagination(schema):
    operation = schema["paths"][f"{BASE}/customers/"]["get"]

    assert {p["name"] for p in operation["parameters"]} == {"cursor", "page_size"}
    page = schema["components"]["schemas"]["PaginatedCustomerList"]
    assert page["properties"].keys() == {"next", "previous", "results"}


def test_the_problem_component_lists_every_member(schema):
    problem = schema["components"]["schemas"]["Problem"]

    assert problem["properties"].keys() == {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "code",
        "errors",
    }


def test_the_docs_page_loads_only_our_own_scripts(api):
    response = api.get("/api/docs/")

    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page
    assert "<script>" not in page


def test_the_docs_start_up_script_is_served_as_a_file(api):
    response = api.get("/api/docs/?script")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")


# Security headers and health


@pytest.mark.django_db
def test_the_admin_login_page_has_a_csp_and_refuses_framing(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_api_responses_carry_the_security_headers(api):
    response = api.get("/api/v1/no-such-thing/")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_healthz_answers_without_the_database(client):
    # No db fixture: pytest-django would fail the test on any query.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_browser_sees_an_api_error_as_a_browsable_page(api):
    response = api.delete(f"{BASE}/echo/", HTTP_ACCEPT="text/html")

    assert response.status_code == 405
    assert response["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_a_cookieless_api_answer_skips_the_browser_middleware_but_keeps_its_headers(api):
    user = UserFactory()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token_for(user)}")

    response = api.get("/api/v1/me")

    assert response.status_code == 200
    # Nothing touched a session (SessionMiddleware would vary on Cookie) or a CSRF cookie.
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies
    assert response["Content-Length"] == str(len(response.content))
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


@pytest.mark.django_db
def test_a_signed_in_browser_still_reaches_the_api_with_its_session_and_csrf():
    user = UserFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    read = browser.get("/api/v1/me")
    write_without_token = browser.patch(
        "/api/v1/me/profile", {"bio": "hi"}, content_type="application/json"
    )

    assert read.status_code == 200
    assert read.json()["email"] == user.email
    assert write_without_token.status_code == 403
    assert "CSRF" in write_without_token.json()["detail"]
