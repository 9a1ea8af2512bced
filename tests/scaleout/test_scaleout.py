"""Atrium scaled out (tests/scaleout/conftest.py): several gunicorn processes behind PgBouncer in
transaction mode, tolerant reads on a streaming replica. Every invariant the single-process
tests hold must still hold when the requests are spread over processes and pooled server
connections, and the replica must serve reads without ever hiding a caller's own write.

The invariants themselves are rehearsal/invariants.py, which ``make rehearsal`` runs too."""

from __future__ import annotations

import uuid

import pytest

from rehearsal.client import (
    call,
    conversation_with,
    message_texts,
    open_invoice,
    pay,
    post_message,
    user_id,
)
from rehearsal.invariants import INVARIANTS, Invariant
from rehearsal.topology import wait_until
from tests.events.sse import Stream
from tests.scaleout.conftest import STREAM_PORT, STRICT_LAG_PORT

pytestmark = pytest.mark.scaleout


@pytest.mark.parametrize("invariant", INVARIANTS, ids=lambda invariant: invariant.__name__)
def test_the_invariant_holds_across_processes(topology, tokens, invariant: Invariant):
    outcome = invariant(topology, tokens)

    assert outcome.passed, outcome.figure


def test_the_main_flows_work_through_pgbouncer_across_processes(topology, tokens):
    first, second = topology.app_ports
    ana, ben = tokens("ana"), tokens("ben")
    conversation = conversation_with(first, ana, "Scale-out", user_id(second, ben))
    posted = post_message(second, ben, conversation, "through the pooler")
    assert posted.status == 201, posted.body
    assert message_texts(first, ana, conversation)[0] == "through the pooler"

    billing = tokens("billing")
    invoice = open_invoice(first, billing, "50.00")
    key = uuid.uuid4().hex
    paid = pay(first, billing, invoice, "50.00", key)
    replayed = pay(second, billing, invoice, "50.00", key)
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
    assert topology.pgbouncer_clients() >= len(topology.app_ports)


def test_the_event_stream_listens_past_the_pooler_and_hears_every_process(topology, tokens):
    first, second = topology.app_ports
    ana, grace = tokens("ana"), tokens("grace")
    conversation = conversation_with(first, ana, "Live", user_id(second, grace))
    stream = Stream(STREAM_PORT, token=grace, query="", headers={})
    assert stream.status == 200
    # The stream's hub LISTENs once its first stream opens; a keep-alive shows it is running.
    while "keep-alive" not in stream.next(timeout=10).comments:
        pass

    posted = [
        post_message(port, ana, conversation, f"live from {port}").body["id"]
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


def test_a_process_allowing_no_lag_reads_the_primary_while_the_replica_lags(topology, tokens):
    first, second = topology.app_ports
    ana, grace = tokens("ana"), tokens("grace")
    conversation = conversation_with(first, ana, "No lag", user_id(second, grace))
    wait_until(topology.replica_caught_up, "the replica to replay the conversation")
    with topology.replay_paused():
        posted = post_message(first, ana, conversation, "fresh")
        wait_until(topology.replica_received_everything, "the replica to receive the message")

        # Grace never wrote; the strict process gives her the primary's list, and says why.
        assert message_texts(STRICT_LAG_PORT, grace, conversation)[0] == "fresh"
        strict = call(STRICT_LAG_PORT, "GET", "/readyz")
        assert (strict.status, strict.body["status"]) == (200, "degraded")
        assert "lags" in strict.body["replica"]
        # The lenient processes still use the replica, and say so. A worker of theirs that
        # saw the replica stopped by an earlier test holds it unusable until its next check,
        # so its first read may still be the primary's.
        assert call(second, "GET", "/readyz").body == {"status": "ok"}
        wait_until(
            lambda: message_texts(second, grace, conversation)[0] != "fresh",
            "the lenient process to read the lagging replica",
        )
    assert posted.status == 201, posted.body
