"""scamperd.engine.dns: PTR query names, messages, resolv.conf, and the
Resolver against a responder on loopback (an ephemeral port, not 53)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import trio

from scamperd.engine.dns import (
    DnsError,
    Resolver,
    build_query,
    nameserver_from_resolv_conf,
    parse_ptr,
    reverse_name,
)
from tests.scamperd.dnsreply import answer


@pytest.mark.parametrize(("addr", "want"), [
    ("10.200.1.2", "2.1.200.10.in-addr.arpa"),
    ("192.0.2.255", "255.2.0.192.in-addr.arpa"),
    ("fd00:200:1::2",
     "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.2.0.0.0.d.f.ip6.arpa"),
    ("2001:db8::abcd",
     "d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"),
])
def test_dns_reverse_name(addr: str, want: str) -> None:
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    assert reverse_name(socket.inet_pton(fam, addr)) == want


def test_dns_query_and_answer_roundtrip() -> None:
    q = build_query(0x1234, "2.1.200.10.in-addr.arpa")
    # id, RD, one question; then the labels, type PTR, class IN
    assert q[:12] == bytes.fromhex("123401000001000000000000")
    assert q[12:] == b"\x012\x011\x03200\x0210\x07in-addr\x04arpa\x00\x00\x0c\x00\x01"
    for compress in (True, False):
        assert parse_ptr(answer(q, ["r1.example.net"], compress=compress)) == \
            (0x1234, "2.1.200.10.in-addr.arpa", "r1.example.net")
    # the first PTR record counts; other types are passed over
    assert parse_ptr(answer(q, ["a.b", "c.d"]))[2] == "a.b"
    assert parse_ptr(answer(q, ["a.b"], rtype=5))[2] is None
    assert parse_ptr(answer(q, []))[2] is None


@pytest.mark.parametrize("bad", [
    b"\x00" * 5,                                         # short header
    bytes.fromhex("123401000001000000000000") + b"\0",   # a query, not a response
    bytes.fromhex("123481800001000000000000") + b"\xc0\x0c\0\x0c\0\x01",  # forward pointer
    bytes.fromhex("123481800001000000000000") + b"\x05ab",  # label past the end
])
def test_dns_parse_rejects_malformed(bad: bytes) -> None:
    with pytest.raises(DnsError):
        parse_ptr(bad)


@pytest.mark.parametrize(("text", "want"), [
    ("nameserver 192.0.2.53\nnameserver 192.0.2.54\n", "192.0.2.53"),
    ("# nameserver 192.0.2.1\nsearch x\nnameserver\t2001:db8::53 # c\n", "2001:db8::53"),
    ("nameserver fe80::1\nnameserver 192.0.2.7;x\n", "192.0.2.7"),  # fe80::1 skipped
    ("nameservers 192.0.2.1\nnameserver bogus\n", None),
    ("", None),
])
def test_dns_nameserver_from_resolv_conf(tmp_path: Path, text: str, want: str | None) -> None:
    p = tmp_path / "resolv.conf"
    p.write_text(text)
    assert nameserver_from_resolv_conf(str(p)) == want


def test_dns_resolver_without_nameserver_asks_nobody(tmp_path: Path) -> None:
    (tmp_path / "resolv.conf").write_text("search example\n")
    r = Resolver(resolv_conf=str(tmp_path / "resolv.conf"))
    assert r.ptr(bytes(4), lambda name: None) is False and r.queries_sent == 0


async def _serve(sock: trio.socket.SocketType, drop: int, log: list[str]) -> None:
    """Answer every query after dropping the first ``drop``."""
    while True:
        data, peer = await sock.recvfrom(512)
        log.append(data.hex())
        if len(log) <= drop:
            continue
        qname_end = data.index(b"\0", 12)
        labels = []
        off = 12
        while off < qname_end:
            labels.append(data[off + 1:off + 1 + data[off]].decode())
            off += 1 + data[off]
        await sock.sendto(answer(data, ["h-" + "-".join(reversed(labels[:4])) + ".tb"]), peer)


@pytest.mark.parametrize(("drop", "want_name", "want_queries"), [
    (0, "h-10-200-1-2.tb", 1),   # answered at once
    (1, "h-10-200-1-2.tb", 2),   # the retry is answered
    (2, None, 2),                # two queries unanswered: no name
])
def test_dns_resolver_against_loopback_responder(drop: int, want_name: str | None,
                                                 want_queries: int) -> None:
    async def main() -> None:
        srv = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        await srv.bind(("127.0.0.1", 0))
        port = srv.getsockname()[1]
        r = Resolver("127.0.0.1", port=port, wait_ns=100_000_000)
        log: list[str] = []
        got: list[str | None] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_serve, srv, drop, log)
            await nursery.start(r.run)
            addr = socket.inet_aton("10.200.1.2")
            # two lookups of one address share a query
            assert r.ptr(addr, got.append) and r.ptr(addr, got.append)
            with trio.fail_after(2):
                while len(got) < 2:
                    await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
        srv.close()
        assert got == [want_name, want_name]
        assert len(log) == r.queries_sent == want_queries
        # a retry is a new query: a new id
        assert len({q[:4] for q in log}) == len(log)
    trio.run(main)
