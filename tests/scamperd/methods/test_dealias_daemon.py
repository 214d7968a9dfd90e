"""dealias through the daemon, driven by Debian's sc_ally.

scamperd runs on the fake network's alias hosts (no root needed): one host
owning two addresses with one IP-ID counter, another owning two of its own.
sc_ally 20211212 (which cannot read ``DATA N id-M``, hence ``-O nodataid``)
pings them, runs ally over every pair, and must report exactly the two
hosts' pairs.  The same tool against Debian's scamper in the namespace test
bed is in test_dealias_bed.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.scamperd.daemon_helpers import needs_debian, running_fake_daemon
from tests.scamperd.methods.test_dealias_fakenet import HOSTS, alias_net

SC_ALLY = "/usr/bin/sc_ally"


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
