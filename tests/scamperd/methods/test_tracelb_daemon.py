"""tracelb through the daemon, driven by Debian's sc_attach, read by Debian's tools.

scamperd runs on the fake network's double diamond (no root needed); the
records sc_attach collects must read cleanly with sc_warts2json and
sc_warts2text and list the diamond's nodes and links, and the JSON a client
gets with ``attach format json`` must be what sc_warts2json prints for the
same record.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from protocol import Data, Ok, OkId
from tests.scamperd.daemon_helpers import (
    SC_ATTACH,
    LineClient,
    needs_debian,
    results,
    running_fake_daemon,
    warts2json,
)
from tests.scamperd.fakenet_helpers import LB_LINKS, LB_V4, LB_V6, diamond

SC_WARTS2TEXT = "/usr/bin/sc_warts2text"
# -W 15: 150 ms between probes, the least scamper allows, so a run of about
# seventy probes takes ten seconds of real time on the fake network.  -s
# pins the flows (else the source port follows the daemon's pid, and MDA at
# 95% misses a branch of the seeded diamond in some runs: a flaky test).
LB = "tracelb -W 15 -q 1 -s 40001"


def expected_text_links(addrs: dict[str, str]) -> set[str]:
    return {f"{addrs[a]} -> {addrs[b]}" for a, b in LB_LINKS}


@needs_debian
def test_sc_attach_drives_tracelb(tmp_path: Path) -> None:
    cmdfile = tmp_path / "cmds.txt"
    cmdfile.write_text(f"{LB} -U 4 {LB_V4['dst']}\n{LB} -U 6 {LB_V6['dst']}\n")
    out = tmp_path / "out.warts"
    with running_fake_daemon(tmp_path, "-O", "nodataid", topology=diamond()) as d:
        r = subprocess.run([SC_ATTACH, "-U", d.unix, "-i", str(cmdfile), "-o", str(out)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and r.stderr == "", (r.stderr, d.stderr())
    recs = {rec["userid"]: rec for rec in results(warts2json(out))}
    assert sorted(recs) == [4, 6]
    for uid, addrs in ((4, LB_V4), (6, LB_V6)):
        rec = recs[uid]
        assert rec["type"] == "tracelb" and rec["dst"] == addrs["dst"]
        # the JSON lists the nodes links leave from (not the destination)
        assert {n["addr"] for n in rec["nodes"]} == {addrs[a] for a, _b in LB_LINKS}
        assert rec["nodec"] == 10 and rec["linkc"] == len(LB_LINKS)
        assert rec["probec"] < rec["probec_max"]
    text = subprocess.run([SC_WARTS2TEXT, str(out)], capture_output=True, text=True,
                          timeout=60, check=True).stdout
    blocks = text.split("tracelb from ")[1:]
    assert len(blocks) == 2
    for block in blocks:
        addrs = LB_V6 if ":" in block.split()[0] else LB_V4
        links = {ln.strip() for ln in block.splitlines()[1:] if " -> " in ln}
        assert links == expected_text_links(addrs)


def test_tracelb_json_attach(tmp_path: Path) -> None:
    """``attach format json``: the tracelb comes back as one JSON object, the
    one warts.to_json makes (which equals sc_warts2json's: tests/warts)."""
    with running_fake_daemon(tmp_path, topology=diamond()) as d:
        client = LineClient(d.unix_connect(timeout=60))
        client.send("attach format json")
        client.send(f"{LB} -U 9 {LB_V6['dst']}")
        client.send("done")
        seen = []
        while (ev := client.next()) is not None:
            seen.append(ev)
        client.close()
    assert [ev for ev in seen if isinstance(ev, Ok | OkId)] == [Ok(), OkId(1), Ok()]
    objs = [json.loads(ev.payload) for ev in seen if isinstance(ev, Data)]
    assert [o["type"] for o in objs] == ["cycle-start", "tracelb", "cycle-stop"]
    rec = objs[1]
    assert rec["userid"] == 9 and rec["dst"] == LB_V6["dst"]
    assert {n["addr"] for n in rec["nodes"]} == {LB_V6[a] for a, _b in LB_LINKS}
    assert rec["nodec"] == 10 and rec["linkc"] == len(LB_LINKS)
