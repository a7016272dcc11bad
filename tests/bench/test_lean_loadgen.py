"""The lean load generator's hand-built gRPC calls reach a real grpc server over mTLS as valid requests,
each mutation with its own request id, and its parsing reports every status the server returns."""

from __future__ import annotations

import threading
import time
from concurrent import futures

import grpc
import pytest
from balance.v1 import balance_service_pb2 as bpb
from balance.v1 import balance_service_pb2_grpc as bgrpc
from hpack import Encoder, NeverIndexedHeaderTuple

from bench import calls, cases, lean, lean_wire
from bench.capture import Command
from bench.pki import Pki
from bench.round_trips import is_health_probe

REFUSED_ACCOUNT_INDEX = 7  # the test server refuses Debits of this account with FAILED_PRECONDITION


class RecordingBalance(bgrpc.BalanceServiceServicer):
    def __init__(self) -> None:
        self.requests: list[bpb.DebitRequest] = []
        self.peers: set[str] = set()
        self.lock = threading.Lock()

    def Debit(self, request, context):
        with self.lock:
            self.requests.append(request)
            self.peers.update(
                v.decode() for v in context.auth_context().get("x509_subject_alternative_name", [])
            )
        if request.account_id == cases.account_id(REFUSED_ACCOUNT_INDEX):
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "refused: 100% sure")
        return bpb.DebitResponse(balance=bpb.Balance(account_id=request.account_id, balance_minor=1))


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return Pki.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def server(pki: Pki):
    ca, cert, key = pki.files("balance")
    credentials = grpc.ssl_server_credentials(
        [(key.read_bytes(), cert.read_bytes())], root_certificates=ca.read_bytes(), require_client_auth=True
    )
    servicer = RecordingBalance()
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    bgrpc.add_BalanceServiceServicer_to_server(servicer, srv)
    port = srv.add_secure_port("127.0.0.1:0", credentials)
    srv.start()
    yield f"127.0.0.1:{port}", servicer
    srv.stop(0)


def _connect(pki: Pki, target: str) -> lean.H2Connection:
    ca, cert, key = pki.files("storefront")
    return lean.H2Connection(target, lean.tls_context(str(ca), str(cert), str(key)))


def _drive(conn: lean.H2Connection, caller: lean.Caller, in_flight: int, seconds: float) -> dict:
    now = time.perf_counter()
    return lean.drive(conn, caller, in_flight, now, now + seconds)


def test_every_prebuilt_debit_is_a_valid_request_with_its_own_request_id(pki, server):
    target, servicer = server
    caller = lean.Caller("debit_spread", target, REFUSED_ACCOUNT_INDEX, "run1", "0")  # never the refused one
    conn = _connect(pki, target)
    try:
        outcome = _drive(conn, caller, in_flight=8, seconds=0.5)
    finally:
        conn.close()
    seen = servicer.requests
    assert outcome["errors"] == {}
    assert len(seen) == outcome["issued"] > 8
    ids = {r.request_id for r in seen}
    assert len(ids) == len(seen)
    assert ids == {calls.request_id("ln-run1-0-", n) for n in range(1, len(seen) + 1)}
    assert {r.account_id for r in seen} <= {cases.account_id(i) for i in range(REFUSED_ACCOUNT_INDEX)}
    assert all(r.amount_minor == 1 and r.reason == bpb.TRANSACTION_REASON_PURCHASE for r in seen)
    assert "spiffe://priceledger.local/storefront" in servicer.peers  # mTLS as the case's identity
    assert outcome["response_bytes"] > 0


def test_replay_sends_one_request_id_for_the_whole_run(pki, server):
    target, servicer = server
    caller = lean.Caller("debit_replay", target, 1, "run2", "0")
    conn = _connect(pki, target)
    try:
        outcome = _drive(conn, caller, in_flight=4, seconds=0.2)
    finally:
        conn.close()
    assert outcome["errors"] == {}
    assert {(r.account_id, r.request_id) for r in servicer.requests} == {
        (cases.HOT_ACCOUNT, calls.request_id("ln-run2-", 0))
    }


def test_a_refused_call_counts_as_an_error_with_its_status_code(pki, server):
    target, servicer = server
    caller = lean.Caller("debit_spread", target, REFUSED_ACCOUNT_INDEX + 1, "run3", "0")
    conn = _connect(pki, target)
    try:
        outcome = _drive(conn, caller, in_flight=4, seconds=0.5)
    finally:
        conn.close()
    refused = sum(r.account_id == cases.account_id(REFUSED_ACCOUNT_INDEX) for r in servicer.requests)
    assert refused > 0
    assert outcome["errors"] == {"FAILED_PRECONDITION": refused}
    assert outcome["first_error"] == "FAILED_PRECONDITION: refused: 100% sure"
    assert len(outcome["latencies"]) // 8 == len(servicer.requests) - refused  # OK calls only


def test_a_patched_digit_field_keeps_the_message_length():
    body = bpb.GetBalanceRequest(account_id="acct-000").SerializeToString()
    template = lean_wire.RequestTemplate("/p.S/M", "h:1", body, {"a": (b"acct-000", 3)})
    first, second = template.build(1, {"a": 5}), template.build(3, {"a": 999})
    assert len(first) == len(second) == len(template.frames)
    with pytest.raises(OverflowError):
        template.build(5, {"a": 1000})


def test_the_data_guard_probe_is_not_counted_as_an_rpc_command():
    probe = Command(("HGETALL", "balance:data-epoch"), from_script=False, client_port=1)
    assert is_health_probe(probe)
    assert not is_health_probe(Command(("HGETALL", "bal:{a}:acct"), from_script=False, client_port=1))
    assert not is_health_probe(Command(("HGETALL", "balance:data-epoch"), from_script=True, client_port=1))


def test_a_memoized_header_block_decodes_anew_after_the_table_changes():
    encoder, decoder = Encoder(), lean_wire.HeaderDecoder()
    first_dynamic_entry = b"\xbe"  # index 62
    inserting_a = encoder.encode([("x-a", "1")])
    assert lean_wire.changes_table(inserting_a)
    assert decoder.decode(inserting_a) == {b"x-a": b"1"}
    assert not lean_wire.changes_table(first_dynamic_entry)
    assert decoder.decode(first_dynamic_entry) == {b"x-a": b"1"}
    decoder.decode(encoder.encode([("x-b", "2")]))  # now index 62
    assert decoder.decode(first_dynamic_entry) == {b"x-b": b"2"}


def test_literals_without_indexing_leave_the_table_alone():
    assert not lean_wire.changes_table(lean_wire.header_block("/a.B/" + "C" * 200, "localhost:1"))
    never = NeverIndexedHeaderTuple("x-secret", "v" * 300)
    assert not lean_wire.changes_table(Encoder().encode([never]))
    assert lean_wire.changes_table(Encoder().encode([never, ("x-c", "3")]))  # found behind the literal
    assert lean_wire.changes_table(b"\x3f\xe1\x1f")  # dynamic table size update to 4096
