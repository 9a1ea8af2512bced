"""A chunked request body (no Content-Length) is read like a sized one, through the WSGI
application gunicorn serves (config/wsgi.py): within the cap it is the request's body, over
it a 413 problem, as for a sized body."""

import io
import json
import sys

import pytest
from django.core import signals
from django.db import close_old_connections

from config.wsgi import application


@pytest.fixture
def keeps_test_connection():
    """Django closes the connection around each WSGI request; the test's transaction lives on
    it (as in tests/schema_run.py)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


def _post_chunked(path: str, body: bytes) -> tuple[str, dict[str, str], bytes]:
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(headers)

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    content = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], content


@pytest.mark.django_db
def test_a_chunked_body_within_the_cap_is_read(keeps_test_connection):
    body = json.dumps({"email": "nobody@example.com", "password": "not the password"}).encode()

    status, _, content = _post_chunked("/api/v1/auth/login", body)

    # Wrong credentials, so the fields were read: an empty body would be a 400.
    assert status.startswith("401"), content


@pytest.mark.django_db
def test_a_chunked_body_over_the_cap_is_a_413_problem(keeps_test_connection, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = json.dumps({"email": "a@example.com", "password": "x" * 500}).encode()

    status, headers, content = _post_chunked("/api/v1/auth/login", body)

    assert status.startswith("413"), content
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(content)["code"] == "request_too_large"
