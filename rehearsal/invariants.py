"""What must hold when Atrium runs as several processes behind PgBouncer with a read replica:
one function per invariant, each driving the running topology (rehearsal/topology.py) through
the API, across every app process at once, and answering PASS or FAIL with its figure.

tests/scaleout/test_scaleout.py runs each as a test; ``make rehearsal`` prints one line each.
Each check makes its own rows (invoices, conversations), so they run in any order, once per
topology: the lockout check locks hugo for good.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rehearsal.client import (
    Response,
    Tokens,
    at_once,
    call,
    conversation_with,
    draft_invoice,
    message_texts,
    new_customer,
    open_invoice,
    pay,
    post_message,
    user_id,
)
from rehearsal.topology import Topology, wait_until

CLIENTS = 20


@dataclass(frozen=True)
class Outcome:
    passed: bool
    # What was measured, for the operator: counts, sums, numbers.
    figure: str


Invariant = Callable[[Topology, Tokens], Outcome]


def _spread(topology: Topology, i: int) -> int:
    """The app process the i-th concurrent client talks to: each in turn."""
    return topology.app_ports[i % len(topology.app_ports)]


def _statuses(responses: list[Response]) -> str:
    counts: dict[int, int] = {}
    for response in responses:
        counts[response.status] = counts.get(response.status, 0) + 1
    return ", ".join(f"{count}x{status}" for status, count in sorted(counts.items()))


def payments_never_overpay(topology: Topology, tokens: Tokens) -> Outcome:
    """20 concurrent payments of 15.00 on an invoice of 100.00, split across the processes,
    never pay more than the invoice: six succeed, 90.00 paid."""
    token = tokens("billing")
    invoice = open_invoice(topology.app_ports[0], token, "100.00")

    responses = at_once(CLIENTS, lambda i: pay(_spread(topology, i), token, invoice, "15.00"))

    ((paid,),) = topology.primary(
        "SELECT coalesce(sum(amount), 0)::text FROM payments"
        " WHERE invoice_id = %s AND status = 'succeeded'",
        [invoice],
    )
    statuses = sorted(r.status for r in responses)
    return Outcome(
        statuses == [201] * 6 + [409] * 14 and paid == "90.00",
        f"{_statuses(responses)}; {paid} paid of 100.00",
    )


def one_idempotency_key_makes_one_payment(topology: Topology, tokens: Tokens) -> Outcome:
    """One Idempotency-Key sent to every process at once makes one payment."""
    token = tokens("billing")
    invoice = open_invoice(topology.app_ports[0], token, "100.00")
    key = uuid.uuid4().hex

    responses = at_once(
        CLIENTS // 2, lambda i: pay(_spread(topology, i), token, invoice, "10.00", key)
    )

    ((rows,),) = topology.primary("SELECT count(*) FROM payments WHERE invoice_id = %s", [invoice])
    ids = {r.body["id"] for r in responses if r.status == 201}
    return Outcome(
        {r.status for r in responses} == {201} and len(ids) == 1 and rows == 1,
        f"{len(responses)} requests: {_statuses(responses)}, {len(ids)} payment id(s),"
        f" {rows} payment row(s)",
    )


def wrong_passwords_lock_once(topology: Topology, tokens: Tokens) -> Outcome:
    """Parallel wrong passwords across the processes lock the account exactly once."""
    responses = at_once(
        CLIENTS // 2,
        lambda i: call(
            _spread(topology, i),
            "POST",
            "/api/v1/auth/login",
            body={"email": "hugo@atrium.local", "password": "not-hugos-password"},
        ),
    )

    ((locks,),) = topology.primary(
        "SELECT count(*) FROM audit_events a JOIN users u ON a.target_id = u.id::text"
        " WHERE u.email = 'hugo@atrium.local' AND a.action = 'account.locked'"
    )
    return Outcome(
        {r.status for r in responses} <= {401, 423} and locks == 1,
        f"{_statuses(responses)}; account.locked recorded {locks} time(s)",
    )


def finalizations_number_without_gaps(topology: Topology, tokens: Tokens) -> Outcome:
    """Concurrent invoice finalizations across the processes get consecutive numbers."""
    port = topology.app_ports[0]
    token = tokens("billing")
    customer = new_customer(port, token, "Numbering")
    drafts = [draft_invoice(port, token, customer, "10.00") for _ in range(6)]

    responses = at_once(
        len(drafts),
        lambda i: call(
            _spread(topology, i),
            "POST",
            f"/api/v1/billing/invoices/{drafts[i]}/finalize",
            token=token,
        ),
    )

    if {r.status for r in responses} != {200}:
        return Outcome(False, f"finalize answered {_statuses(responses)}")
    numbers = sorted(int(r.body["number"].rsplit("-", 1)[1]) for r in responses)
    ((highest,),) = topology.primary("SELECT max(number) FROM invoices")
    consecutive = numbers == list(range(numbers[0], numbers[0] + len(drafts)))
    return Outcome(
        consecutive and int(highest.rsplit("-", 1)[1]) == numbers[-1],
        f"{len(drafts)} at once got {numbers[0]}..{numbers[-1]}"
        f" ({'consecutive' if consecutive else 'with gaps: ' + str(numbers)}), highest {highest}",
    )


def one_if_match_has_one_winner(topology: Topology, tokens: Tokens) -> Outcome:
    """A document edited through every process with the same If-Match has one winner."""
    port = topology.app_ports[0]
    token = tokens("chloe")
    document = call(
        port, "POST", "/api/v1/documents", token=token, body={"title": "Race", "content": "v1"}
    ).body

    responses = at_once(
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

    ((versions,),) = topology.primary(
        "SELECT count(*) FROM document_versions WHERE document_id = %s", [document["id"]]
    )
    return Outcome(
        sorted(r.status for r in responses) == [200] + [412] * 5 and versions == 2,
        f"{_statuses(responses)}; {versions} versions (the first and the winner's)",
    )


def writer_reads_own_write_on_the_other_process(topology: Topology, tokens: Tokens) -> Outcome:
    """A write through one process is read back at once by its writer through the other,
    while the replica, its replay paused, still serves everyone else the older list."""
    first, second = topology.app_ports[:2]
    ana = tokens("ana")
    # Grace only reads: no write of hers keeps her on the primary.
    grace = tokens("grace")
    conversation = conversation_with(first, ana, "Lag", user_id(second, grace))
    wait_until(topology.replica_caught_up, "the replica to replay the conversation")
    before = message_texts(second, grace, conversation)
    content = f"written while the replica stands still {uuid.uuid4().hex[:6]}"
    with topology.replay_paused():
        posted = post_message(first, ana, conversation, content)
        wait_until(topology.replica_received_everything, "the replica to receive the message")
        others_see = message_texts(second, grace, conversation)
        writer_sees = message_texts(second, ana, conversation)
    stale = others_see == before
    own = bool(writer_sees) and writer_sees[0] == content
    return Outcome(
        posted.status == 201 and stale and own,
        f"writer through {second} {'sees' if own else 'does NOT see'} the write posted through"
        f" {first}; a reader {'still gets the replica' if stale else 'gets a fresh'} list",
    )


# The statements that read a page of messages (chat/sql.py), as pg_stat_statements counts
# them on each server the moment they end; nothing else the processes do between the reads
# (health checks, sessions, the cache) reads messages.
MESSAGE_READS = (
    "SELECT coalesce(sum(calls), 0)::int FROM pg_stat_statements"
    " WHERE query LIKE '%FROM messages m%'"
)
LIST_READS = 30


def list_reads_hit_the_replica(topology: Topology, tokens: Tokens) -> Outcome:
    """Message-list reads are answered by the replica: its pg_stat_statements counts them,
    the primary's does not move."""
    first, second = topology.app_ports[:2]
    grace = tokens("grace")
    conversation = conversation_with(first, tokens("ana"), "Reads", user_id(second, grace))
    wait_until(topology.replica_caught_up, "the replica to replay the conversation")
    ((replica_before,),) = topology.replica(MESSAGE_READS)
    ((primary_before,),) = topology.primary(MESSAGE_READS)

    for i in range(LIST_READS):
        message_texts(_spread(topology, i), grace, conversation)

    replica_reads = topology.replica(MESSAGE_READS)[0][0] - replica_before
    primary_reads = topology.primary(MESSAGE_READS)[0][0] - primary_before
    return Outcome(
        replica_reads == LIST_READS and primary_reads == 0,
        f"{LIST_READS} list reads through both processes: the replica ran {replica_reads},"
        f" the primary {primary_reads} (pg_stat_statements on each)",
    )


READERS = 6
READS_AFTER_STOP = 60


def stopping_the_replica_costs_no_request(topology: Topology, tokens: Tokens) -> Outcome:
    """Stopping the replica while list reads keep coming from both processes costs no
    request; /readyz says degraded meanwhile and ok once it is back."""
    first = topology.app_ports[0]
    grace = tokens("grace")
    conversation = conversation_with(first, tokens("ana"), "Outage", user_id(first, grace))
    wait_until(topology.replica_caught_up, "the replica to replay the conversation")
    statuses: list[int] = []
    enough = threading.Event()

    def read(i: int) -> None:
        path = f"/api/v1/conversations/{conversation}/messages"
        while not enough.is_set():
            try:
                statuses.append(call(_spread(topology, i), "GET", path, token=grace).status)
            except OSError:
                statuses.append(0)

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        readers = [pool.submit(read, i) for i in range(READERS)]
        try:
            wait_until(lambda: len(statuses) >= 2 * READERS, "reads before the stop")
            before_stop = len(statuses)
            topology.pg_ctl("replica", "stop")
            stopped_at = len(statuses)
            wait_until(lambda: len(statuses) >= stopped_at + READS_AFTER_STOP, "reads after")
        finally:
            enough.set()
            for reader in readers:
                reader.result()
    try:
        readiness = [call(port, "GET", "/readyz").body for port in topology.app_ports]
    finally:
        topology.pg_ctl("replica", "start")
    wait_until(topology.replica_streaming, "the replica to stream again")
    wait_until(
        lambda: all(
            call(port, "GET", "/readyz").body == {"status": "ok"} for port in topology.app_ports
        ),
        "every process to find the replica again",
    )
    failed = sum(1 for status in statuses if not 200 <= status < 300)
    degraded = all(ready.get("status") == "degraded" for ready in readiness)
    return Outcome(
        failed == 0 and degraded,
        f"{len(statuses)} reads ({before_stop} before, {len(statuses) - before_stop} during and"
        f" after the stop): {failed} not 2xx; /readyz while stopped:"
        f" {'degraded' if degraded else readiness}, then ok",
    )


# In the order `make rehearsal` runs them: the replica's outage last.
INVARIANTS: tuple[Invariant, ...] = (
    payments_never_overpay,
    one_idempotency_key_makes_one_payment,
    wrong_passwords_lock_once,
    finalizations_number_without_gaps,
    one_if_match_has_one_winner,
    writer_reads_own_write_on_the_other_process,
    list_reads_hit_the_replica,
    stopping_the_replica_costs_no_request,
)
