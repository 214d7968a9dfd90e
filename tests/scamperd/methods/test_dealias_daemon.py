"""dealias through the daemon, driven by Debian's sc_ally and sc_speedtrap.

scamperd runs on the fake network's alias hosts (no root needed): one host
owning two addresses with one IP-ID counter, another owning two of its own.
sc_ally 20211212 (which cannot read ``DATA N id-M``, hence ``-O nodataid``)
pings them, runs ally over every pair, and must report exactly the two
hosts' pairs.  The same tool against Debian's scamper in the namespace test
bed is in test_dealias_bed.py.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from scamperd.engine.fakenet import Node
from tests.scamperd.daemon_helpers import needs_debian, running_fake_daemon
from tests.scamperd.methods.test_dealias_fakenet import HOSTS, alias_net, v6_net

SC_ALLY = "/usr/bin/sc_ally"
SC_SPEEDTRAP = "/usr/bin/sc_speedtrap"


@needs_debian
def test_sc_ally_drives_dealias(tmp_path: Path) -> None:
    old, other = HOSTS["old"][0], HOSTS["other"][0]
    addrs = tmp_path / "addrs"
    addrs.write_text(" ".join((*old, *other)) + "\n")
    out = tmp_path / "out.warts"
    with running_fake_daemon(tmp_path, "-O", "nodataid", topology=alias_net()) as d:
        r = subprocess.run([SC_ALLY, "-U", d.unix, "-a", str(addrs), "-o", str(out),
                            "-i", "200", "-w", "1", "-q", "5"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, (r.stdout[-2000:], r.stderr, d.stderr())
    dump = subprocess.run([SC_ALLY, "-d", "1", str(out)], capture_output=True, text=True,
                          timeout=60, check=True)
    pairs = {tuple(line.split()) for line in dump.stdout.splitlines() if line.strip()}
    assert pairs == {old, other}


@needs_debian
def test_sc_speedtrap_drives_ping_and_dealias_over_ipv6(tmp_path: Path) -> None:
    """sc_speedtrap's whole IPv6 pipeline through scamperd: ping -O tbt -M to
    make each address fragment its replies, then dealias ally -M over the
    candidate sets by their 32-bit fragment ids.  Two hosts with a fragment
    id counter each (this kernel's are random: see tests/testbed_alias.py):
    exactly their two address pairs come out."""
    topo = v6_net("counter")
    nodes = dict(topo.nodes)
    nodes["other6"] = Node("other6", {"lo": ("2001:db8:6::9", "2001:db8:6::a")}, delay_us=100,
                           fragid="counter")
    topo = dataclasses.replace(topo, nodes=nodes)
    addrs = tmp_path / "addrs"
    addrs.write_text("2001:db8:6::1\n2001:db8:6::2\n2001:db8:6::9\n2001:db8:6::a\n")
    out = tmp_path / "out.warts"
    with running_fake_daemon(tmp_path, "-O", "nodataid", topology=topo) as d:
        r = subprocess.run([SC_SPEEDTRAP, "-U", d.unix, "-a", str(addrs), "-o", str(out)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, (r.stdout[-2000:], r.stderr, d.stderr())
    dump = subprocess.run([SC_SPEEDTRAP, "-d", "1", str(out)], capture_output=True, text=True,
                          timeout=60, check=True)
    sets = {tuple(sorted(line.split())) for line in dump.stdout.splitlines() if line.strip()}
    assert sets == {("2001:db8:6::1", "2001:db8:6::2"), ("2001:db8:6::9", "2001:db8:6::a")}
