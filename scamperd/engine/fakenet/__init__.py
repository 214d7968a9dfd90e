"""A fake network beside the real one: probes answered from a scripted
topology on a virtual clock, so the engine, the daemon, its sessions and
every method can be tested without root, deterministically.

* topology.py -- the network as data (interfaces, nodes, routes; JSON-able)
* behaviour.py -- pluggable pieces: IP-ID sources, ECMP balancers, loss
* forge.py -- replies built as real packets and parsed as the engine would
* network.py -- forwarding: what a probe draws, and when (pure, no trio)
* io.py -- :class:`FakeIO`, the engine's packet I/O on a fake network
* ``python -m scamperd.engine.fakenet TOPOLOGY.json ARGS`` -- the daemon
  or a one-shot run on a topology (for tests that need a process)

Nothing in the daemon imports this package: it is handed in where a
:class:`~scamperd.engine.packetio.PacketIO` is taken.
"""

from .io import FakeIO, refused
from .network import Arrival, FakeNetwork
from .topology import Iface, Node, Route, Topology, loopback

__all__ = ["Arrival", "FakeIO", "FakeNetwork", "Iface", "Node", "Route", "Topology",
           "loopback", "refused"]
