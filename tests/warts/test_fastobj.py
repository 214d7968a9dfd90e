"""warts.fastobj (the decoders' constructor) and warts.address.intern."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from warts.address import ADDR_ETHERNET, ADDR_IPV4, ADDR_IPV6, Address, intern
from warts.fastobj import constructor
from warts.types.dealias import DealiasProbe, DealiasReply
from warts.types.ping import Ping, PingReply, PingStats
from warts.types.trace import Trace, TraceProbe, TraceReply
from warts.types.tracelb import Tracelb, TracelbProbe, TracelbReply

# Every class the decoders build through constructor().
DECODED = [TraceReply, TraceProbe, Trace, TracelbReply, TracelbProbe, Tracelb,
           DealiasReply, DealiasProbe, PingReply, Ping, PingStats]


def _values(cls: type) -> tuple[object, ...]:
    # distinct, hashable values: a store into the wrong field shows
    return tuple(f"v{i}" for i in range(len(dataclasses.fields(cls))))


@pytest.mark.parametrize("cls", DECODED, ids=lambda c: c.__name__)
def test_constructor_equals_dataclass_init(cls: type) -> None:
    vals = _values(cls)
    made = constructor(cls)(*vals)
    want = cls(*vals)
    assert type(made) is cls
    assert made == want
    assert hash(made) == hash(want)
    assert repr(made) == repr(want)
    assert pickle.loads(pickle.dumps(made)) == want
    assert dataclasses.replace(made, **{dataclasses.fields(cls)[0].name: "x"}) != want


@pytest.mark.parametrize("cls", DECODED, ids=lambda c: c.__name__)
def test_constructor_result_stays_frozen(cls: type) -> None:
    made = constructor(cls)(*_values(cls))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, dataclasses.fields(cls)[0].name, "changed")


def test_constructor_keeps_defaults_and_keywords() -> None:
    make = constructor(TraceProbe)
    assert make(3) == TraceProbe(3)
    assert make(ttl=3, size=40) == TraceProbe(ttl=3, size=40)
    with pytest.raises(TypeError):
        make()


def test_constructor_is_made_once_per_class() -> None:
    assert constructor(TraceReply) is constructor(TraceReply)


@dataclasses.dataclass(frozen=True, slots=True)
class _Checked:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("negative")


@dataclasses.dataclass(frozen=True, slots=True)
class _Factory:
    items: list[int] = dataclasses.field(default_factory=list)


@pytest.mark.parametrize("cls", [_Checked, _Factory], ids=lambda c: c.__name__)
def test_constructor_falls_back_to_the_class(cls: type) -> None:
    # __init__ does more than store its arguments: keep it
    assert constructor(cls) is cls


@pytest.mark.parametrize("atype,raw", [
    (ADDR_IPV4, bytes([192, 0, 2, 1])),
    (ADDR_IPV6, bytes(15) + b"\x01"),
    (ADDR_ETHERNET, bytes([2, 0, 0, 0, 0, 1])),
])
def test_intern_shares_equal_addresses(atype: int, raw: bytes) -> None:
    a = intern(atype, bytes(raw))
    assert a == Address(atype, raw)
    assert intern(atype, bytes(raw)) is a
    assert str(a) == str(Address(atype, raw))


@pytest.mark.parametrize("atype,raw", [
    (ADDR_IPV6, bytes([192, 0, 2, 1])),  # the size of another type
    (ADDR_IPV4, bytes(5)),
    (9, bytes(4)),
])
def test_intern_rejects_what_address_rejects(atype: int, raw: bytes) -> None:
    intern(ADDR_IPV4, bytes([192, 0, 2, 1]))  # held: same bytes, another type
    with pytest.raises(ValueError):
        Address(atype, raw)
    with pytest.raises(ValueError):
        intern(atype, raw)
