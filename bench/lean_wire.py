"""gRPC over HTTP/2 by hand, for the lean load generator: prebuilt request frames, minimal response parsing.

A request is one HEADERS frame (HPACK literals without indexing, so the block never touches the
server's dynamic table and can be reused as is) and one DATA frame with END_STREAM. Both are built once
per case; each call copies them and patches the stream id and fixed-width digit fields of the protobuf
body (request id, account index), which keeps every length unchanged. Responses are parsed only as far
as needed: frame boundaries, DATA length, and the trailers' grpc-status through a real HPACK decoder.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from urllib.parse import unquote

from hpack import Decoder

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
SETTINGS_ENABLE_PUSH, SETTINGS_INITIAL_WINDOW_SIZE = 0x2, 0x4
MAX_WINDOW = 2**31 - 1
DEFAULT_WINDOW = 65_535
_HEAD = struct.Struct(">I B I")  # a frame header is 24-bit length, 8-bit type, 8-bit flags, 32-bit stream
GRPC_STATUS_NAMES = (
    "OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS PERMISSION_DENIED "
    "RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE UNIMPLEMENTED INTERNAL UNAVAILABLE "
    "DATA_LOSS UNAUTHENTICATED"
).split()


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes((kind, flags)) + stream.to_bytes(4, "big") + payload


def client_preface() -> bytes:
    """Preface, SETTINGS (no push, largest stream window) and a connection WINDOW_UPDATE to the largest
    window, so the server never waits for us to grant more."""
    settings = struct.pack(">HIHI", SETTINGS_ENABLE_PUSH, 0, SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW)
    return PREFACE + frame(SETTINGS, 0, 0, settings) + window_update(0, MAX_WINDOW - DEFAULT_WINDOW)


def window_update(stream: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, stream, increment.to_bytes(4, "big"))


def _string(text: str) -> bytes:
    raw = text.encode()
    return _integer(len(raw), 7, 0) + raw  # no Huffman


def _integer(value: int, prefix_bits: int, first: int) -> bytes:
    """HPACK integer (RFC 7541 5.1) with `first` holding the representation's flag bits."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out, value = [first | limit], value - limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    return bytes((*out, value))


def header_block(path: str, authority: str) -> bytes:
    """A gRPC request's headers as literals without indexing (RFC 7541 6.2.2), new names."""
    headers = (
        (":method", "POST"),
        (":scheme", "https"),
        (":path", path),
        (":authority", authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    )
    return b"".join(b"\x00" + _string(name) + _string(value) for name, value in headers)


@dataclass(frozen=True)
class Field:
    """Fixed-width ASCII digits inside the serialized request, patched per call."""

    offset: int
    width: int


class RequestTemplate:
    """One call's HEADERS + DATA frames; `build` patches stream id and digit fields into a copy."""

    def __init__(self, path: str, authority: str, body: bytes, markers: dict[str, tuple[bytes, int]]) -> None:
        """`markers` names each field by a value unique in `body` whose last `width` bytes are digits."""
        block = header_block(path, authority)
        message = b"\x00" + len(body).to_bytes(4, "big") + body  # uncompressed, length-prefixed
        headers = frame(HEADERS, END_HEADERS, 1, block)
        self.frames = headers + frame(DATA, END_STREAM, 1, message)
        self.data_length = len(message)
        self._second_stream_at = len(headers) + 5
        start = len(headers) + 9 + 5  # the body inside the DATA frame
        self.fields = {}
        for name, (marker, width) in markers.items():
            if body.count(marker) != 1 or not marker[-width:].isdigit():
                raise ValueError(f"{name}: {marker!r} must occur once in the body and end in {width} digits")
            self.fields[name] = Field(start + body.index(marker) + len(marker) - width, width)

    def build(self, stream: int, values: dict[str, int]) -> bytearray:
        out = bytearray(self.frames)
        sid = stream.to_bytes(4, "big")
        out[5:9] = sid
        out[self._second_stream_at : self._second_stream_at + 4] = sid
        for name, value in values.items():
            f = self.fields[name]
            digits = b"%0*d" % (f.width, value)
            if len(digits) != f.width:
                raise OverflowError(f"{name}={value} needs more than {f.width} digits")
            out[f.offset : f.offset + f.width] = digits
        return out


class HeaderDecoder:
    """HPACK decoding with a memo: a block that leaves the dynamic table alone decodes the same way until
    another block changes the table, so steady-state headers and trailers cost a dict lookup."""

    def __init__(self) -> None:
        self._decoder = Decoder()
        self._memo: dict[bytes, dict[bytes, bytes]] = {}

    def decode(self, block: bytes) -> dict[bytes, bytes]:
        found = self._memo.get(block)
        if found is not None:
            return found
        headers = dict(self._decoder.decode(block, raw=True))
        if changes_table(block):
            self._memo.clear()  # indices now point elsewhere
        else:
            self._memo[block] = headers
        return headers


def _skip_integer(block: bytes, at: int, prefix_bits: int) -> tuple[int, int]:
    """(value, next offset) of the HPACK integer starting at `at`."""
    limit = (1 << prefix_bits) - 1
    value, at = block[at] & limit, at + 1
    if value < limit:
        return value, at
    shift = 0
    while True:
        byte, at = block[at], at + 1
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _skip_string(block: bytes, at: int) -> int:
    length, at = _skip_integer(block, at, 7)  # the Huffman flag sits above the 7-bit length
    return at + length


def changes_table(block: bytes) -> bool:
    """Whether a header block inserts into or resizes the dynamic table (RFC 7541 6.2.1, 6.3)."""
    at = 0
    while at < len(block):
        first = block[at]
        if first & 0x80:  # indexed field
            _, at = _skip_integer(block, at, 7)
        elif first & 0xC0 == 0x40 or first & 0xE0 == 0x20:  # literal with incremental indexing, size update
            return True
        else:  # literal without indexing or never indexed: a 4-bit name index, or a literal name
            index, at = _skip_integer(block, at, 4)
            if index == 0:
                at = _skip_string(block, at)
            at = _skip_string(block, at)
    return False


def grpc_outcome(trailers: dict[bytes, bytes]) -> tuple[str, str]:
    """(status name, message) from trailers, or from the headers of a trailers-only response."""
    raw = trailers.get(b"grpc-status")
    if raw is None:
        status = trailers.get(b":status", b"?").decode()
        return "UNKNOWN", f"no grpc-status (HTTP {status})"
    code = int(raw)
    name = GRPC_STATUS_NAMES[code] if 0 <= code < len(GRPC_STATUS_NAMES) else f"CODE_{code}"
    return name, unquote(trailers.get(b"grpc-message", b"").decode("utf-8", "replace"))


def strip_padding(flags: int, payload: bytes, kind: int) -> bytes:
    """The fragment inside a HEADERS or DATA payload, without padding and priority fields."""
    start, end = 0, len(payload)
    if flags & PADDED:
        start, end = 1, end - payload[0]
    if kind == HEADERS and flags & PRIORITY:
        start += 5
    return payload[start:end]


def split_frames(buffer: bytearray) -> list[tuple[int, int, int, bytes]]:
    """Removes every complete frame from the front of `buffer`: (type, flags, stream, payload)."""
    frames, at, size = [], 0, len(buffer)
    while size - at >= 9:
        length_type, flags, stream = _HEAD.unpack_from(buffer, at)
        length = length_type >> 8
        end = at + 9 + length
        if end > size:
            break
        frames.append((length_type & 0xFF, flags, stream & MAX_WINDOW, bytes(buffer[at + 9 : end])))
        at = end
    del buffer[:at]
    return frames
