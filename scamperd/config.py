"""scamper-compatible command line flags, parsed into a frozen :class:`Config`.

Theory of operation
-------------------
This follows scamper.c's ``check_options`` (20260420) step by step, so the
same command lines are accepted and rejected, with the same usage text on
stderr and the same exit status (255: scamper returns -1 from main):

1. GNU ``getopt`` over scamper's option string.  Options and operands may be
   mixed (glibc permutes), which is what makes ``-I cmd1 -I cmd2`` work:
   ``-i``, ``-I`` and ``-f`` are flags, and the commands, addresses or file
   name are the left-over operands.
2. Without any of ``-I -P -R -U -i``, ``-f`` is implied (one operand: the file).
3. ``-p``/``-w`` must form a valid pair (either may be 0, not both).
4. ``-P``, ``-U`` and ``-R`` may be combined (at most one of each: a repeat
   replaces the earlier one, as getopt's last-wins does) but not with
   ``-i -I -f``, and leave no operands.
5. With ``-P -U -i -f`` a default command (``-c``, else ``trace``) is set.

Two options are ours: ``-O nodataid`` writes bare ``DATA N`` headers as
scamper 20211212 did, for clients such as Debian's sc_attach 20211212 that
were written before ``DATA N id-M``; ``-O queue-max=N`` caps the commands one
client may have without a result (default 1,000,000; scamper has no cap).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from protocol.cstrings import string_addrport, string_isnumber, tollong
from protocol.replies import PPS_DEF, PPS_MAX, PPS_MIN, WINDOW_DEF, WINDOW_MAX, WINDOW_MIN

from .sources import MAX_OUTSTANDING

SCAMPER_VERSION = "20260420"
COMMAND_DEF = "trace"  # SCAMPER_OPTION_COMMAND_DEF
HOLDTIME_MIN, HOLDTIME_DEF, HOLDTIME_MAX = 0, 5, 60  # SCAMPER_OPTION_HOLDTIME_*
EXIT_FAILURE = 255  # scamper's main returns -1

# scamper's getopt string on Linux (debugfile, daemon and unix sockets built in).
OPTSTRING = "c:C:e:fF:g:H:iIl:L:M:n:o:O:p:P:R:vw:?d:DU:"

# Output formats -O may choose (scamper built with zlib, bzip2 and xz).
OUTTYPES = ("text", "warts", "json", "warts.gz", "warts.bz2", "warts.xz")
# -O switches that only tune scamper's own I/O machinery; accepted so that
# scamper command lines work, and recorded in Config.flags.
SWITCHES = ("planetlab", "noinitndc", "rawtcp", "icmp-rxerr", "rxerr-icmp", "notls-remote",
            "notls", "select", "epoll", "poll", "debugfileappend", "dl-any", "dyn-filter",
            "ring", "noring", "ring-nolocked", "ring-locked", "nodataid")
POLLERS = frozenset({"select", "epoll", "poll"})
# -O key=value options: prefix -> Config field.
VALUED = (("cafile=", "cafile"), ("client-privfile=", "client_privfile"),
          ("client-certfile=", "client_certfile"), ("dnp=", "dnp"),
          ("ring-blocks=", "ring_blocks"), ("ring-block-size=", "ring_block_size"),
          ("queue-max=", "queue_max"))

# Usage sections, in the order scamper's usage() prints them: (letter, text).
_O_LINES = (
    "text: output results in plain text for interactive use",
    "warts: output results in warts format for science",
    "warts.gz: output results in gzipped warts format",
    "warts.bz2: output results in bzip2 warts format",
    "warts.xz: output results in xz warts format",
    "cmdfile: input file specifies whole commands",
    "json: output results in json format, better to use warts",
    "planetlab: necessary to use safe raw sockets on planetlab",
    "noinitndc: do not initialise neighbour discovery cache",
    "rawtcp: use raw socket to send IPv4 TCP probes",
    "icmp-rxerr: use recverr cmsg to receive ICMP responses",
    "notls: do not use TLS anywhere in scamper",
    "notls-remote: do not use TLS on remote control sockets",
    "cafile=file: use the CA certs in file for TLS peer check",
    "client-certfile=file: use cert in file for remote auth",
    "client-privfile=file: use privkey in file for remote auth",
    "select: use select(2)",
    "dnp=file: do not probe addresses in do-not-probe file",
    "epoll: use epoll(7)",
    "poll: use poll(2)",
    "debugfileappend: append to debugfile, rather than truncate",
    "ring: use PACKET_RX_RING to receive datalink packets",
    "dl-any: open a cooked any datalink interface",
    "nodataid: write DATA N without id-M, as scamper 20211212 (scamperd)",
    "queue-max=N: commands a client may have without a result (scamperd)",
)
_SECTIONS: tuple[tuple[str, str], ...] = (
    ("?", "give an overview of the usage of scamper"),
    ("c", f"command string (default: {COMMAND_DEF})"),
    ("C", "cycle id"),
    ("d", "write debugging information to the specified file"),
    ("D", "run as a daemon"),
    ("e", "write process ID to specified file"),
    ("f", "list of files provided on the command line"),
    ("F", "use the system firewall to install rules as necessary"),
    ("g", "location of config file"),
    ("H", "how long to hold task signature for after completion"),
    ("i", "list of IP addresses provided on the command line"),
    ("I", "list of scamper commands provided on the command line"),
    # scamper's usage text really has these two the wrong way round.
    ("L", "name to assign to default list"),
    ("l", "list id for default list"),
    ("M", "specify the canonical name of the monitor"),
    ("o", "specify the file to write output to"),
    ("O", "specify options to use:"),
    ("p", f"number of packets per second to send ({PPS_MIN} <= pps <= {PPS_MAX})"),
    ("P", "[ip:]port for control socket, default to loopback"),
    ("R", "name and port of remote host to receive commands from"),
    ("U", "name of control socket in the file system"),
    ("v", "output the version of scamper this binary is"),
    ("w", "limit the window of actively probing tasks"),
)
ALL = frozenset(c for c, _ in _SECTIONS)

_HEAD = (
    "usage: scamper [-?Dv] [-c command] [-p pps] [-w window]\n"
    "               [-M monitorname] [-l listname] [-L listid] [-C cycleid]\n"
    "               [-o outfile] [-O options] [-H holdtime] [-F firewall]\n"
    "               [-e pidfile] [-g configfile] [-n nameserver]\n"
    "               [-d debugfile]\n"
    "               [-i IPs | -I cmds | -f file | -P [ip:]port | -R name:port |\n"
    "                -U unix]\n"
)


def usage(letters: frozenset[str] | set[str] = frozenset()) -> str:
    """scamper's usage(opt_mask): the synopsis, then one line per letter."""
    text = _HEAD
    if not letters:
        return text
    text += "\n"
    for c, line in _SECTIONS:
        if c not in letters:
            continue
        text += f"            -{c} {line}\n"
        if c == "O":
            text += "".join(f"               {x}\n" for x in _O_LINES)
    return text


class ConfigError(Exception):
    """The command line was rejected; ``text`` is what scamper prints on stderr."""

    def __init__(self, text: str, status: int = EXIT_FAILURE) -> None:
        super().__init__(text)
        self.text = text
        self.status = status


@dataclass(frozen=True)
class Config:
    """Everything the command line sets.  ``inputs`` says which of -i/-I/-f
    gives the work of a one-shot run ("ip", "cmdlist", "infile"), and
    ``args`` are the operands (addresses, commands or the file)."""

    pps: int = PPS_DEF
    window: int = WINDOW_DEF
    command: str | None = None
    monitorname: str | None = None
    nameserver: str | None = None
    listname: str | None = None
    listid: int | None = None
    cycleid: int | None = None
    outfile: str = "-"
    outtype: str = "text"
    intype: str | None = None
    pidfile: str | None = None
    daemon: bool = False
    version: bool = False
    ctrl_inet: tuple[str, int] | None = None
    ctrl_unix: str | None = None
    ctrl_remote: tuple[str, int] | None = None
    inputs: str | None = None
    args: tuple[str, ...] = ()
    holdtime: int = HOLDTIME_DEF
    firewall: str | None = None
    configfile: str | None = None
    debugfile: str | None = None
    flags: frozenset[str] = frozenset()
    cafile: str | None = None
    client_certfile: str | None = None
    client_privfile: str | None = None
    dnp: tuple[str, ...] = ()
    ring_blocks: int | None = None
    ring_block_size: int | None = None
    queue_max: int = MAX_OUTSTANDING

    @property
    def data_ids(self) -> bool:
        """Write ``DATA N id-M`` (20260420) rather than bare ``DATA N``."""
        return "nodataid" not in self.flags

    @property
    def control(self) -> bool:
        """Listening for commands (-P/-U/-R): run until told to stop."""
        return bool(self.ctrl_inet or self.ctrl_unix or self.ctrl_remote)


def getopt(prog: str, argv: Sequence[str],
           optstring: str = OPTSTRING) -> tuple[list[tuple[str, str | None]], list[str]]:
    """glibc getopt with argument permutation: (options, operands).

    Errors are raised with glibc's message; scamper then prints its usage.
    """
    takes = {c: optstring[i + 1:i + 2] == ":" for i, c in enumerate(optstring) if c != ":"}
    opts: list[tuple[str, str | None]] = []
    operands: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            operands.extend(argv[i:])
            break
        if not arg.startswith("-") or arg == "-":
            operands.append(arg)
            continue
        j = 1
        while j < len(arg):
            c = arg[j]
            j += 1
            if c not in takes:
                raise ConfigError(f"{prog}: invalid option -- '{c}'\n" + usage(ALL))
            if not takes[c]:
                opts.append((c, None))
                continue
            if j < len(arg):
                opts.append((c, arg[j:]))
            elif i < len(argv):
                opts.append((c, argv[i]))
                i += 1
            else:
                raise ConfigError(f"{prog}: option requires an argument -- '{c}'\n" + usage(ALL))
            break
    return opts, operands


def _fail(letters: str, extra: str = "") -> ConfigError:
    return ConfigError(usage(frozenset(letters)) + extra)


def _id(text: str, letter: str) -> int:
    """-L / -C: a number 1..2^31-1 (listid_set / cycleid_set)."""
    v = tollong(text) if string_isnumber(text) else None
    if v is None or not 0 < v <= 0x7FFFFFFF:
        raise _fail(letter)
    return v


def parse_args(argv: Sequence[str], prog: str = "scamper") -> Config:
    """Parse scamper's command line (without argv[0]); raise ConfigError."""
    opts, operands = getopt(prog, argv)
    seen: set[str] = set()
    val: dict[str, str] = {}
    flags: set[str] = set()
    outtype: str | None = None
    intype: str | None = None
    valued: dict[str, str] = {}
    dnp: list[str] = []
    for c, arg in opts:
        if c == "?":
            raise ConfigError(usage(ALL))
        seen.add(c)
        if arg is None:
            continue
        if c != "O":
            val[c] = arg
            continue
        low = arg.lower()
        if low in OUTTYPES:
            outtype = low
        elif low == "cmdfile":
            intype = low
        elif low in SWITCHES:
            flags.add("icmp-rxerr" if low == "rxerr-icmp" else low)
            if low == "noring":
                flags.discard("ring")
        else:
            for prefix, name in VALUED:
                if low.startswith(prefix):
                    if name == "dnp":
                        dnp.append(arg[len(prefix):])
                    else:
                        valued[name] = arg[len(prefix):]
                    break
            else:
                raise _fail("O")

    if "v" in seen:
        return Config(version=True)
    if not seen & set("IPRUi"):
        seen.add("f")

    pps, window = PPS_DEF, WINDOW_DEF
    if "w" in val:
        w = tollong(val["w"])
        if w is None:
            raise _fail("w")
        window = w
    if "p" in val:
        p = tollong(val["p"])
        if p is None:
            raise _fail("p")
        pps = p
    if ((pps == 0 and window == 0) or (pps != 0 and not PPS_MIN <= pps <= PPS_MAX)
            or (window != 0 and not WINDOW_MIN <= window <= WINDOW_MAX)):
        raise _fail("pw")
    if len(flags & POLLERS) > 1:
        raise _fail("O")

    holdtime = HOLDTIME_DEF
    if "H" in val:
        h = tollong(val["H"])
        if h is None or not HOLDTIME_MIN <= h <= HOLDTIME_MAX:
            raise _fail("H", "invalid holdtime\n")
        holdtime = h
    listid = _id(val["L"], "L") if "L" in val else None
    cycleid = _id(val["C"], "C") if "C" in val else None
    ring: dict[str, int] = {}
    for name in ("ring_blocks", "ring_block_size", "queue_max"):
        if name in valued:
            r = tollong(valued[name])
            if r is None or r < 1:
                raise _fail("O", f"invalid -O {name.replace('_', '-')}\n")
            ring[name] = r

    outfile = val.get("o", "-")
    if outtype is None:
        for suffix in (".warts.gz", ".warts.bz2", ".warts.xz", ".json", ".warts"):
            if outfile.endswith(suffix):
                outtype = suffix[1:]
                break
        else:
            outtype = "text"
    if outtype.startswith("warts") and outfile == "-" and os.isatty(1):
        raise _fail("o", f"not going to dump {outtype} to a tty, sorry\n")

    command: str | None = None
    if seen & set("PUif"):
        command = val.get("c", COMMAND_DEF)

    if "D" in seen:
        if not seen & set("PURo"):
            raise _fail("DPURo")
        if "o" in seen:
            if outfile == "-":
                raise _fail("Do", "cannot output to stdout with daemon\n")
            if seen & set("PUR"):
                raise _fail("Do" + "".join(sorted(seen & set("PUR"))),
                            "outfile does not make sense with options\n")

    inputs_mask = "".join(c for c in "PURiIf" if c in seen)
    ctrl_inet = ctrl_remote = None
    ctrl_unix = None
    inputs: str | None = None
    if seen & set("PRU"):
        if seen & set("iIf"):
            raise _fail(inputs_mask)
        if "P" in seen:
            ap = string_addrport(val["P"])
            if operands or ap is None:
                raise _fail("P")
            ctrl_inet = (ap[0] if ap[0] is not None else "127.0.0.1", ap[1])
        if "R" in seen:
            ap = string_addrport(val["R"])
            if operands or ap is None or ap[0] is None:
                raise _fail("R")
            ctrl_remote = (ap[0], ap[1])
        if "U" in seen:
            if operands:
                raise _fail("U")
            ctrl_unix = val["U"]
    elif seen & set("iI"):
        if "f" in seen or ("i" in seen and "I" in seen):
            raise _fail(inputs_mask)
        if not operands:
            raise _fail("i" if "i" in seen else "I")
        inputs = "ip" if "i" in seen else "cmdlist"
    else:
        if len(operands) != 1:
            raise ConfigError(usage())
        inputs = "infile"

    if ctrl_remote is not None:
        if ("client_privfile" in valued) != ("client_certfile" in valued):
            raise _fail("R")
    elif "client_privfile" in valued or "client_certfile" in valued:
        raise _fail("R")

    return Config(
        pps=pps, window=window, command=command, monitorname=val.get("M"),
        nameserver=val.get("n"), listname=val.get("l"), listid=listid, cycleid=cycleid,
        outfile=outfile, outtype=outtype, intype=intype, pidfile=val.get("e"),
        daemon="D" in seen, ctrl_inet=ctrl_inet, ctrl_unix=ctrl_unix,
        ctrl_remote=ctrl_remote, inputs=inputs, args=tuple(operands), holdtime=holdtime,
        firewall=val.get("F"), configfile=val.get("g"), debugfile=val.get("d"),
        flags=frozenset(flags), cafile=valued.get("cafile"),
        client_certfile=valued.get("client_certfile"),
        client_privfile=valued.get("client_privfile"), dnp=tuple(dnp),
        ring_blocks=ring.get("ring_blocks"), ring_block_size=ring.get("ring_block_size"),
        queue_max=ring.get("queue_max", MAX_OUTSTANDING),
    )
