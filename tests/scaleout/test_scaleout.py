"""Atrium scaled out (tests/scaleout/conftest.py): several gunicorn processes behind PgBouncer in
transaction mode, tolerant reads on a streaming replica. Every invariant the single-process
tests hold must still hold when the requests are spread over processes and pooled server
connections, and the replica must serve reads without ever hiding a caller's own write."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier

import pytest

from tests.events.sse import Stream
from tests.scaleout.conftest import (
    PRIMARY_PORT,
    REPLICA_PORT,
    Response,
    call,
    login,
    pgbouncer_clients,
    replica_caught_up,
    replica_received_everything,
    sql,
    wait_until,
)

pytestmark = pytest.mark.scaleout

CLIENTS = 20


def _at_once(count: int, request: Callable[[int], Response]) -> list[Response]:
    """``request(i)`` in ``count`` threads released together."""
    start = Barrier(count)

    def run(i: int) -> Response:
        start.wait()
        return request(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _spread(topology, i: int) -> int:
    """The app process the i-th concurrent client talks to: every other one."""
    return topology.app_ports[i % len(topology.app_ports)]


def _open_invoice(port: int, token: str, amount: str) -> str:
    customer = call(
        port,
        "POST",
        "/api/v1/billing/customers",
        token=token,
        body={"name": f"Scale {uuid.uuid4().hex[:8]}", "email": f"{uuid.uuid4().hex}@ex.com"},
    )
    assert customer.status == 201, customer.body
    invoice = _draft_invoice(port, token, customer.body["id"], amount)
    finalized = call(port, "POST", f"/api/v1/billing/invoices/{invoice}/finalize", token=token)
    assert finalized.status == 200, finalized.body
    return invoice


def _draft_invoice(port: int, token: str, customer: str, amount: str) -> str:
    due = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    line = {"description": "Consulting", "quantity": "1", "unit_price": amount}
    invoice = call(
        port,
        "POST",
        "/api/v1/billing/invoices",
        token=token,
        body={"customer": customer, "due_date": due, "lines": [line]},
    )
    assert invoice.status == 201, invoice.body
    return invoice.body["id"]


def _pay(port: int, token: str, invoice: str, amount: str, key: str | None = None) -> Response:
    return call(
        port,
        "POST",
        "/api/v1/billing/payments",
        token=token,
        body={"invoice": invoice, "amount": amount, "provider": "manual"},
        headers={"Idempotency-Key": key} if key else None,
    )


def _user_id(port: int, token: str) -> str:
    return call(port, "GET", "/api/v1/me", token=token).body["id"]


def _conversation_with(port: int, token: str, title: str, *others: str) -> str:
    created = call(
        port,
        "POST",
        "/api/v1/conversations",
        token=token,
        body={"title": title, "participants": [{"user_id": other} for other in others]},
    )
    assert created.status == 201, created.body
    return created.body["id"]


def _message_texts(port: int, token: str, conversation: str) -> list[str]:
    page = call(port, "GET", f"/api/v1/conversations/{conversation}/messages", token=token)
    assert page.status == 200, page.body
    return [message["content"] for message in page.body["results"]]


def test_the_main_flows_work_through_pgbouncer_across_processes(topology):
    first, second = topology.app_ports
    ana = login(first, "ana")
    ben = login(second, "ben")
    conversation = _conversation_with(first, ana, "Scale-out", _user_id(second, ben))
    posted = call(
        second,
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        token=ben,
        body={"content": "through the pooler"},
    )
    assert posted.status == 201, posted.body
    assert _message_texts(first, ana, conversation)[0] == "through the pooler"

    billing = login(first, "billing")
    invoice = _open_invoice(first, billing, "50.00")
    key = uuid.uuid4().hex
    paid = _pay(first, billing, invoice, "50.00", key)
    replayed = _pay(second, billing, invoice, "50.00", key)
    assert (paid.status, replayed.status) == (201, 201)
    assert replayed.body["id"] == paid.body["id"]
    assert (
        call(second, "GET", f"/api/v1/billing/invoices/{invoice}", token=billing).body["status"]
        == "paid"
    )

    document = call(
        first, "POST", "/api/v1/documents", token=ana, body={"title": "Plan", "content": "v1"}
    )
    assert document.status == 201, document.body
    edited = call(
        second,
        "PATCH",
        f"/api/v1/documents/{document.body['id']}",
        token=ana,
        body={"content": "v2"},
        headers={"If-Match": document.headers["ETag"]},
    )
    assert edited.status == 200, edited.body
    assert edited.headers["ETag"] == '"2"'
    # Each worker that served a request keeps its pooled connection, to PgBouncer.
    assert pgbouncer_clients() >= len(topology.app_ports)


def test_the_event_stream_listens_past_the_pooler_and_hears_every_process(topology):
    first, second = topology.app_ports
    ana = login(first, "ana")
    grace = login(second, "grace")
    conversation = _conversation_with(first, ana, "Live", _user_id(second, grace))
    stream = Stream(topology.stream_port, token=grace, query="", headers={})
    assert stream.status == 200
    # The stream's hub LISTENs once its first stream opens; a keep-alive shows it is running.
    while "keep-alive" not in stream.next(timeout=10).comments:
        pass

    posted = [
        call(
            port,
            "POST",
            f"/api/v1/conversations/{conversation}/messages",
            token=ana,
            body={"content": f"live from {port}"},
        ).body["id"]
        for port in (first, second)
    ]

    try:
        heard = [
            message.data["object_id"]
            for message in stream.events(2, timeout=10)
            if message.event == "message.created"
        ]
    finally:
        stream.client.close()
    assert heard == posted


def test_parallel_payments_across_processes_never_overpay(topology):
    token = login(topology.app_ports[0], "billing")
    invoice = _open_invoice(topology.app_ports[0], token, "100.00")

    responses = _at_once(CLIENTS, lambda i: _pay(_spread(topology, i), token, invoice, "15.00"))

    assert sorted(r.status for r in responses) == [201] * 6 + [409] * 14
    paid = sql(
        PRIMARY_PORT,
        "SELECT sum(amount)::text FROM payments WHERE invoice_id = %s AND status = 'succeeded'",
        [invoice],
    )
    assert paid == [("90.00",)]


def test_one_idempotency_key_sent_to_every_process_at_once_makes_one_payment(topology):
    token = login(topology.app_ports[0], "billing")
    invoice = _open_invoice(topology.app_ports[0], token, "100.00")
    key = uuid.uuid4().hex

    responses = _at_once(
        CLIENTS // 2, lambda i: _pay(_spread(topology, i), token, invoice, "10.00", key)
    )

    assert {r.status for r in responses} == {201}
    assert len({r.body["id"] for r in responses}) == 1
    assert sql(PRIMARY_PORT, "SELECT count(*) FROM payments WHERE invoice_id = %s", [invoice]) == [
        (1,)
    ]


def test_parallel_wrong_passwords_across_processes_lock_the_account_once(topology):
    responses = _at_once(
        CLIENTS // 2,
        lambda i: call(
            _spread(topology, i),
            "POST",
            "/api/v1/auth/login",
            body={"email": "hugo@atrium.local", "password": "not-hugos-password"},
        ),
    )

    assert {r.status for r in responses} <= {401, 423}
    locks = sql(
        PRIMARY_PORT,
        "SELECT count(*) FROM audit_events a JOIN users u ON a.target_id = u.id::text"
        " WHERE u.email = 'hugo@atrium.local' AND a.action = 'account.locked'",
    )
    assert locks == [(1,)]


def test_concurrent_finalizations_across_processes_number_without_gaps(topology):
    port = topology.app_ports[0]
    token = login(port, "billing")
    customer = call(
        port,
        "POST",
        "/api/v1/billing/customers",
        token=token,
        body={"name": "Numbering", "email": f"{uuid.uuid4().hex}@ex.com"},
    ).body["id"]
    drafts = [_draft_invoice(port, token, customer, "10.00") for _ in range(6)]

    responses = _at_once(
        len(drafts),
        lambda i: call(
            _spread(topology, i),
            "POST",
            f"/api/v1/billing/invoices/{drafts[i]}/finalize",
            token=token,
        ),
    )

    assert {r.status for r in responses} == {200}
    numbers = sorted(int(r.body["number"].rsplit("-", 1)[1]) for r in responses)
    assert numbers == list(range(numbers[0], numbers[0] + len(drafts)))
    (highest,) = sql(PRIMARY_PORT, "SELECT max(number) FROM invoices")[0]
    assert int(highest.rsplit("-", 1)[1]) == numbers[-1]


def test_one_document_edited_through_every_process_with_one_etag_has_one_winner(topology):
    port = topology.app_ports[0]
    token = login(port, "chloe")
    document = call(
        port, "POST", "/api/v1/documents", token=token, body={"title": "Race", "content": "v1"}
    ).body

    responses = _at_once(
        6,
        lambda i: call(
            _spread(topology, i),
            "PATCH",
            f"/api/v1/documents/{document['id']}",
            token=token,
            body={"content": f"edit {i}"},
            headers={"If-Match": '"1"'},
        ),
    )

    assert sorted(r.status for r in responses) == [200] + [412] * 5
    assert sql(
        PRIMARY_PORT,
        "SELECT count(*) FROM document_versions WHERE document_id = %s",
        [document["id"]],
    ) == [(2,)]


def test_lists_read_the_replica_yet_a_writer_reads_their_own_write_on_any_process(topology):
    first, second = topology.app_ports
    ana = login(first, "ana")
    # Grace only reads: no write of hers keeps her on the primary.
    grace = login(second, "grace")
    conversation = _conversation_with(first, ana, "Lag", _user_id(second, grace))
    wait_until(replica_caught_up, "the replica to replay the conversation")
    before = _message_texts(second, grace, conversation)
    sql(REPLICA_PORT, "SELECT pg_wal_replay_pause()")
    try:
        posted = call(
            first,
            "POST",
            f"/api/v1/conversations/{conversation}/messages",
            token=ana,
            body={"content": "written while the replica stands still"},
        )
        assert posted.status == 201, posted.body
        wait_until(replica_received_everything, "the replica to receive the message")

        # Grace's list comes from the replica, which has not replayed the message yet...
        assert _message_texts(second, grace, conversation) == before
        # ...while Ana, who wrote it, reads it back through the other process at once.
        assert _message_texts(second, ana, conversation)[0] == posted.body["content"]
        # A process that allows no lag gives Grace the primary's answer, and says why.
        assert (
            _message_texts(topology.strict_lag_port, grace, conversation)[0]
            == (posted.body["content"])
        )
        strict = call(topology.strict_lag_port, "GET", "/readyz")
        assert (strict.status, strict.body["status"]) == (200, "degraded")
        assert "lags" in strict.body["replica"]
        assert call(second, "GET", "/readyz").body == {"status": "ok"}
    finally:
        sql(REPLICA_PORT, "SELECT pg_wal_replay_resume()")
    wait_until(replica_caught_up, "the replica to replay again")
    assert _message_texts(second, grace, conversation)[0] == posted.body["content"]


def test_a_stopped_replica_costs_no_request_and_readiness_says_degraded(topology):
    first, second = topology.app_ports
    grace = login(first, "grace")
    ana = login(first, "ana")
    conversation = _conversation_with(first, ana, "Outage", _user_id(first, grace))
    wait_until(replica_caught_up, "the replica to replay the conversation")
    # Every worker opens its replica connection before the replica goes away.
    for port in itertools.islice(itertools.cycle(topology.app_ports), 8):
        assert _message_texts(port, grace, conversation)

    topology.pg_ctl("replica", "stop")
    try:
        responses = _at_once(
            CLIENTS,
            lambda i: call(
                _spread(topology, i),
                "GET",
                f"/api/v1/conversations/{conversation}/messages",
                token=grace,
            ),
        )
        assert {r.status for r in responses} == {200}
        for port in topology.app_ports:
            ready = call(port, "GET", "/readyz")
            assert (ready.status, ready.body["status"]) == (200, "degraded")
            assert ready.body["replica"] == "The read replica does not answer."
    finally:
        topology.pg_ctl("replica", "start")
    wait_until(topology.replica_streaming, "the replica to stream again")
    wait_until(lambda: call(second, "GET", "/readyz").body == {"status": "ok"}, "readiness")
