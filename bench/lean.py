"""Lean load generator: prebuilt gRPC frames over one mTLS HTTP/2 connection per process, no asyncio.

Each worker process keeps its share of the calls in flight on its own connection (closed loop: a call
that completes sends the next), writes all the calls a read completed in one go, and reads only what it
must (frame boundaries, DATA length, grpc-status). Mutations get a new request id per call (a
per-process prefix and a zero-padded counter patched into the prebuilt body). Prints one JSON line in
the shape of `bench.loadgen`'s, for `bench.report`.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import random
import socket
import ssl
import struct
import sys
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection as Pipe

from bench import calls, cases, lean_wire
from bench.lean_wire import (
    ACK,
    CONTINUATION,
    DATA,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADERS,
    PING,
    RST_STREAM,
    SETTINGS,
    WINDOW_UPDATE,
    frame,
)
from bench.samples import cpu_snapshot, summary

_SETTINGS_MAX_CONCURRENT_STREAMS, _SETTINGS_INITIAL_WINDOW_SIZE = 0x3, 0x4
_RECV_BYTES = 1 << 18
_WINDOW_REFILL = 1 << 30  # DATA bytes received before the connection window is topped up again
Ended = tuple[int, str, str]  # a stream that ended: id, grpc status name, message


def tls_context(ca: str, cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(ca)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["h2"])
    return context


class H2Connection:
    """The client side of one HTTP/2 connection, as much of it as unary gRPC calls need."""

    def __init__(self, target: str, context: ssl.SSLContext, timeout_s: float = 30.0) -> None:
        host, _, port = target.rpartition(":")
        raw = socket.create_connection((host, int(port)), timeout=timeout_s)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")  # the dev certificates' name
        self.sock.settimeout(None)  # plain blocking: no poll() before every read and write
        if self.sock.selected_alpn_protocol() != "h2":
            alpn = self.sock.selected_alpn_protocol()
            raise ConnectionError(f"{target} did not agree to HTTP/2 (ALPN {alpn})")
        self.sock.sendall(lean_wire.client_preface())
        self.buffer = bytearray()
        self._inbox = bytearray(_RECV_BYTES)  # reused: a fresh 256 KiB bytes per read costs mmap/munmap
        self._inbox_view = memoryview(self._inbox)
        self.decoder = lean_wire.HeaderDecoder()
        self.send_window = lean_wire.DEFAULT_WINDOW  # the server's connection window for our DATA
        self.stream_window = lean_wire.DEFAULT_WINDOW  # and each stream's
        self.max_streams = 2**31 - 1
        self.next_stream = 1
        self.control = bytearray()  # ACKs and window updates, sent with the next write
        self.received = 0  # DATA bytes since the last connection WINDOW_UPDATE
        self.response_bytes = 0
        self.reads = 0
        self._fragments: dict[int, tuple[bytes, bool]] = {}  # header blocks awaiting CONTINUATION
        self._settings_seen = False
        while not self._settings_seen:  # the server's SETTINGS come first: its stream limit and window
            self.read()

    def new_stream(self) -> int:
        stream, self.next_stream = self.next_stream, self.next_stream + 2
        return stream

    def write(self, data: bytes | bytearray) -> None:
        if self.control:
            data, self.control = self.control + data, bytearray()
        sent = self.sock.send(data)  # blocking TLS writes all of it, without sendall's Python loop
        if sent != len(data):
            self.sock.sendall(memoryview(data)[sent:])

    def read(self) -> list[Ended]:
        """Blocks for the next bytes; returns the streams they ended: (stream, status name, message)."""
        size = self.sock.recv_into(self._inbox)
        self.reads += 1
        if not size:
            raise ConnectionError("the server closed the connection")
        self.buffer += self._inbox_view[:size]
        ended = []
        for kind, flags, stream, payload in lean_wire.split_frames(self.buffer):
            if kind == DATA:
                self.received += len(payload)
                self.response_bytes += len(payload)
                if flags & END_STREAM:
                    ended.append((stream, "UNKNOWN", "the stream ended without trailers"))
            elif kind in (HEADERS, CONTINUATION):
                if (done := self._header_block(kind, flags, stream, payload)) is not None:
                    ended.append(done)
            elif kind == RST_STREAM:
                ended.append((stream, "RST_STREAM", f"error code {int.from_bytes(payload, 'big')}"))
            elif kind == SETTINGS and not flags & ACK:
                self._settings(payload)
                self.control += frame(SETTINGS, ACK, 0)
            elif kind == PING and not flags & ACK:
                self.control += frame(PING, ACK, 0, payload)
            elif kind == WINDOW_UPDATE and stream == 0:
                self.send_window += int.from_bytes(payload, "big") & lean_wire.MAX_WINDOW
            elif kind == GOAWAY:
                code = int.from_bytes(payload[4:8], "big")
                raise ConnectionError(f"GOAWAY error code {code}: {payload[8:].decode(errors='replace')}")
        if self.received >= _WINDOW_REFILL:
            self.control += lean_wire.window_update(0, self.received)
            self.received = 0
        return ended

    def _header_block(self, kind: int, flags: int, stream: int, payload: bytes) -> Ended | None:
        if kind == HEADERS:
            fragment, end_stream = lean_wire.strip_padding(flags, payload, HEADERS), bool(flags & END_STREAM)
        else:
            before, end_stream = self._fragments.pop(stream)
            fragment = before + payload
        if not flags & END_HEADERS:
            self._fragments[stream] = (fragment, end_stream)
            return None
        headers = self.decoder.decode(fragment)  # every block, to keep the HPACK table in step
        if not end_stream:
            return None
        return (stream, *lean_wire.grpc_outcome(headers))

    def _settings(self, payload: bytes) -> None:
        self._settings_seen = True
        for at in range(0, len(payload) - 5, 6):
            key, value = struct.unpack_from(">HI", payload, at)
            if key == _SETTINGS_MAX_CONCURRENT_STREAMS:
                self.max_streams = value
            elif key == _SETTINGS_INITIAL_WINDOW_SIZE:
                self.stream_window = value

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class Caller:
    """Builds each call's frames for one case: the prebuilt template with the varying digits patched."""

    def __init__(self, case: str, authority: str, accounts: int, run_id: str, worker: str) -> None:
        shape = calls.shape(case)
        account = shape.account or (cases.account_id(0) if shape.spread else "")
        # Unique: the run, the process, then the call's number. Else one id for the whole run (replays).
        rid = calls.request_id(f"ln-{run_id}-{worker}-" if shape.unique_request_id else f"ln-{run_id}-", 0)
        body = shape.make(account, rid).SerializeToString()
        markers = {}
        if shape.spread:
            markers["account"] = (account.encode(), len(cases.account_id(0)) - len("bench-"))
        if shape.unique_request_id:
            markers["rid"] = (rid.encode(), calls.REQUEST_ID_DIGITS)
        self.template = lean_wire.RequestTemplate(shape.path, authority, body, markers)
        self.values: Callable[[int], dict[str, int]]
        rng = random.Random()
        if shape.spread and shape.unique_request_id:
            self.values = lambda seq: {"account": rng.randrange(accounts), "rid": seq}
        elif shape.spread:
            self.values = lambda seq: {"account": rng.randrange(accounts)}
        elif shape.unique_request_id:
            self.values = lambda seq: {"rid": seq}
        else:
            self.values = lambda seq: {}

    def frames(self, stream: int, seq: int) -> bytearray:
        return self.template.build(stream, self.values(seq))


def probe(target: str, context: ssl.SSLContext, caller: Caller) -> tuple[str, str]:
    """One call alone before the load, so an unimplemented or refused case reports instead of spinning."""
    conn = H2Connection(target, context)
    try:
        stream = conn.new_stream()
        conn.write(caller.frames(stream, 0))
        while True:
            for ended, status, message in conn.read():
                if ended == stream:
                    return status, message
            if conn.control:
                conn.write(b"")
    finally:
        conn.close()


def drive(conn: H2Connection, caller: Caller, in_flight: int, t_start: float, t_stop: float) -> dict:
    """Keeps `in_flight` calls going until t_stop, then lets them finish; latencies of the calls started
    from t_start on, and this process's CPU seconds from t_start to the end."""
    if in_flight > conn.max_streams:
        raise ConnectionError(f"the server allows {conn.max_streams} streams, {in_flight} asked for")
    if caller.template.data_length > conn.stream_window:
        raise ConnectionError("a request is larger than the server's stream window")
    latencies = array("d")
    errors: Counter[str] = Counter()
    first_error = ""
    started: dict[int, float] = {}
    seq, idle, cpu_start = 0, in_flight, None
    cost = caller.template.data_length
    while True:
        now = time.perf_counter()
        if cpu_start is None and now >= t_start:
            cpu_start = time.process_time()
        if now < t_stop and idle and conn.send_window >= cost:
            batch, streams = bytearray(), []
            while idle and conn.send_window >= cost:
                stream = conn.new_stream()
                seq += 1
                batch += caller.frames(stream, seq)
                conn.send_window -= cost
                streams.append(stream)
                idle -= 1
            sent = time.perf_counter()
            conn.write(batch)
            for stream in streams:
                started[stream] = sent
        elif conn.control:
            conn.write(b"")
        if not started and now >= t_stop:
            break
        ended = conn.read()
        done = time.perf_counter()
        for stream, status, message in ended:
            t0 = started.pop(stream)
            idle += 1
            if status != "OK":
                errors[status] += 1
                first_error = first_error or f"{status}: {message}"
            elif t0 >= t_start:
                latencies.append(done - t0)
    end = time.perf_counter()
    return {
        "latencies": latencies.tobytes(),
        "errors": dict(errors),
        "first_error": first_error,
        "issued": seq,
        "cpu_s": time.process_time() - (cpu_start if cpu_start is not None else time.process_time()),
        "end": end,
        "response_bytes": conn.response_bytes,
        "reads": conn.reads,
    }


def _worker(args: argparse.Namespace, index: int, in_flight: int, pipe: Pipe) -> None:
    gc.disable()  # the loop makes no reference cycles; collections would only add CPU per call
    try:
        context = tls_context(args.tls_ca, args.tls_cert, args.tls_key)
        caller = Caller(args.case, args.target, args.accounts, args.run_id, str(index))
        conn = H2Connection(args.target, context)
        pipe.send("ready")
        t_start, t_stop = pipe.recv()
        pipe.send(drive(conn, caller, in_flight, t_start, t_stop))
        conn.close()
    except Exception as exc:  # reported by the parent as the run's error
        pipe.send({"error": f"worker {index}: {type(exc).__name__}: {exc}"})


def shares(concurrency: int, processes: int) -> list[int]:
    """Calls in flight per process, as even as possible; no process without calls."""
    processes = max(1, min(processes, concurrency))
    return [concurrency // processes + (i < concurrency % processes) for i in range(processes)]


def run(args: argparse.Namespace) -> dict:
    result = {"case": args.case, "concurrency": args.concurrency, "client": "lean"}
    context = tls_context(args.tls_ca, args.tls_cert, args.tls_key)
    caller = Caller(args.case, args.target, args.accounts, args.run_id, "probe")
    status, message = probe(args.target, context, caller)
    if status != "OK":
        return result | {"unavailable" if status == "UNIMPLEMENTED" else "error": f"{status}: {message}"}
    fork = multiprocessing.get_context("fork")
    workers = []
    for index, in_flight in enumerate(shares(args.concurrency, args.processes)):
        parent, child = fork.Pipe()
        proc = fork.Process(target=_worker, args=(args, index, in_flight, child), daemon=True)
        proc.start()
        workers.append((proc, parent))
    try:
        for _, pipe in workers:
            if (ready := pipe.recv()) != "ready":
                return result | ready
        t_start = time.perf_counter() + args.warmup
        t_stop = t_start + args.duration
        for _, pipe in workers:
            pipe.send((t_start, t_stop))
        time.sleep(max(0.0, t_start - time.perf_counter()))
        watch = {name: int(pid) for name, pid in (w.split("=", 1) for w in args.watch)}
        cpu_at_start = cpu_snapshot(watch)
        outcomes = [pipe.recv() for _, pipe in workers]
        cpu_at_end = cpu_snapshot(watch)
    finally:
        for proc, _ in workers:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
    if failed := [o["error"] for o in outcomes if "error" in o]:
        return result | {"error": "; ".join(failed)}
    return result | combine(outcomes, cpu_at_start, cpu_at_end, t_start)


def combine(outcomes: list[dict], cpu_at_start: dict, cpu_at_end: dict, t_start: float) -> dict:
    elapsed = max(o["end"] for o in outcomes) - t_start
    latencies = array("d")
    errors: Counter[str] = Counter()
    for o in outcomes:
        latencies.frombytes(o["latencies"])
        errors.update(o["errors"])
    cpu = {name: cpu_at_end[name] - cpu_at_start[name] for name in cpu_at_end}
    cpu["client"] = sum(o["cpu_s"] for o in outcomes)
    issued = sum(o["issued"] for o in outcomes)
    first_error = next((o["first_error"] for o in outcomes if o["first_error"]), None)
    out = summary(list(latencies), elapsed, issued + 1, dict(errors), first_error, cpu)  # + the probe
    out["client_saturation"] = max(o["cpu_s"] for o in outcomes) / elapsed  # the busiest process
    out["client_processes"] = len(outcomes)
    out["response_bytes_per_call"] = sum(o["response_bytes"] for o in outcomes) / max(issued, 1)
    out["reads_per_call"] = sum(o["reads"] for o in outcomes) / max(issued, 1)  # wake-ups, mostly
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lean", description=__doc__)
    grpc_cases = [c.name for c in cases.CASES if c.target not in ("redis", "redis-benchmark")]
    parser.add_argument("--case", required=True, choices=grpc_cases)
    parser.add_argument("--target", required=True, help="host:port of the gRPC server")
    parser.add_argument("--tls-ca", required=True, help="CA that signed the server's certificate")
    parser.add_argument("--tls-cert", required=True, help="client certificate (the caller's identity)")
    parser.add_argument("--tls-key", required=True, help="its private key")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--processes", type=int, default=1, help="worker processes, one connection each")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load not measured")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds measured")
    parser.add_argument("--accounts", type=int, default=1000, help="spread cases pick among this many")
    parser.add_argument("--watch", action="append", default=[], help="NAME=PID whose CPU to report")
    args = parser.parse_args()
    args.run_id = uuid.uuid4().hex[:8]
    json.dump(run(args), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
