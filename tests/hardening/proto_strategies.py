"""Hypothesis strategies for any protobuf message, built from its descriptor, that favour hostile values."""

from __future__ import annotations

from google.protobuf import message, message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from hypothesis import strategies as st

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)

HOSTILE_TEXT = (
    "",
    " ",
    "a",
    "x" * 100_000,  # huge
    "\u00e9\u4e2d\U0001f600" * 20_000,  # huge and multi-byte
    "\x00",
    "a\x00b",
    "\x1b[31mred\x1b[0m",  # terminal escapes
    "line\nbreak\r",
    "\u202eright-to-left",
    "\u2028",
    "\ufeff",
    "ﬁve",  # a ligature that upper-cases to ASCII
    "ßß",
    "../../etc/passwd",
    "{acct}:log",  # a Redis hash tag and a key separator
    "%s%n%x",
    "BLOCK",  # a Redis command option, as data
    "' OR 1=1 --",
    "ZZZ",
    "UDS",
    "usd",
    "USD",
    "ord_0123456789abcdef01234567",
    "acct_1",
)

TIMESTAMP_SECONDS = (INT64[0], -62_135_596_801, -1, 0, 1_800_000_000, 253_402_300_800, INT64[1])
TIMESTAMP_NANOS = (INT32[0], -1, 0, 999_999_999, 1_000_000_000, INT32[1])
DURATION_SECONDS = (INT64[0], -315_576_000_001, -1, 0, 315_576_000_001, INT64[1])

_MANY = 2_000  # "thousands of repeated items"
_MAX_DEPTH = 3


def _edge_ints(low: int, high: int) -> st.SearchStrategy[int]:
    edges = sorted({low, low + 1, -1 if low < 0 else 0, 0, 1, 2, 100, high - 1, high})
    return st.sampled_from([e for e in edges if low <= e <= high]) | st.integers(low, high)


def _enum(enum: EnumDescriptor) -> st.SearchStrategy[int]:
    known = [v.number for v in enum.values]
    return st.sampled_from(known) | st.sampled_from([-1, max(known) + 1, 999, INT32[1], INT32[0]])


def _scalar(field: FieldDescriptor) -> st.SearchStrategy:
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return st.sampled_from(HOSTILE_TEXT) | st.text(max_size=40)
    if t == FieldDescriptor.TYPE_BYTES:
        return st.sampled_from([b"", b"\x00", b"\xff" * 100_000]) | st.binary(max_size=40)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.sampled_from([0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1e300, -1.5])
    if t == FieldDescriptor.TYPE_ENUM:
        return _enum(field.enum_type)
    if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return _edge_ints(*INT32)
    if t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return _edge_ints(*UINT32)
    if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return _edge_ints(*UINT64)
    return _edge_ints(*INT64)  # int64, sint64, sfixed64


def _well_known(descriptor: Descriptor) -> st.SearchStrategy[message.Message] | None:
    cls = message_factory.GetMessageClass(descriptor)
    if descriptor.full_name == "google.protobuf.Timestamp":
        return st.builds(
            cls, seconds=st.sampled_from(TIMESTAMP_SECONDS), nanos=st.sampled_from(TIMESTAMP_NANOS)
        )
    if descriptor.full_name == "google.protobuf.Duration":
        return st.builds(
            cls, seconds=st.sampled_from(DURATION_SECONDS), nanos=st.sampled_from(TIMESTAMP_NANOS)
        )
    return None


def _single(field: FieldDescriptor, depth: int) -> st.SearchStrategy:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return messages(field.message_type, depth + 1)
    return _scalar(field)


def _small(field: FieldDescriptor) -> st.SearchStrategy:
    """A cheap element for the thousands-long lists, so one request stays under gRPC's 4 MiB."""
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return st.just(message_factory.GetMessageClass(field.message_type)())
    if field.type == FieldDescriptor.TYPE_STRING:
        return st.sampled_from(["", "a", "\x00", "A"])
    return _scalar(field).filter(lambda v: not isinstance(v, str | bytes) or len(v) < 64)


def _repeated(field: FieldDescriptor, depth: int) -> st.SearchStrategy[list]:
    return st.one_of(
        st.lists(_single(field, depth), max_size=3),
        st.lists(_small(field), min_size=_MANY, max_size=_MANY),
    )


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[message.Message]:
    """Requests whose every field is either left unset or set to a hostile value."""
    special = _well_known(descriptor)
    if special is not None:
        return special
    cls = message_factory.GetMessageClass(descriptor)
    if depth >= _MAX_DEPTH:
        return st.just(cls())
    fields = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            fields[field.name] = st.dictionaries(_single(key, depth), _single(value, depth), max_size=3)
        elif field.is_repeated:
            fields[field.name] = _repeated(field, depth)
        else:
            fields[field.name] = _single(field, depth)

    @st.composite
    def build(draw) -> message.Message:
        built = cls()
        for name, strategy in fields.items():
            if not draw(st.booleans()):
                continue  # unset: the default, which must be refused or handled too
            value = draw(strategy)
            field = descriptor.fields_by_name[name]
            if isinstance(value, dict):
                target = getattr(built, name)
                for k, v in value.items():
                    if isinstance(v, message.Message):
                        target[k].CopyFrom(v)
                    else:
                        target[k] = v
            elif field.is_repeated:
                getattr(built, name).extend(value)
            elif isinstance(value, message.Message):
                getattr(built, name).CopyFrom(value)
            else:
                setattr(built, name, value)
        return built

    return build()
