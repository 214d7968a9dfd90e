"""Object type numbers, scamper's SCAMPER_FILE_OBJ_* (scamper_file.h).

Apart from :mod:`warts.registry` so that the record modules can name their
own type without importing the registry, which imports them.
"""

from __future__ import annotations

OBJ_LIST = 0x01
OBJ_CYCLE_START = 0x02
OBJ_CYCLE_DEF = 0x03
OBJ_CYCLE_STOP = 0x04
OBJ_ADDR = 0x05
OBJ_TRACE = 0x06
OBJ_PING = 0x07
OBJ_TRACELB = 0x08
OBJ_DEALIAS = 0x09
OBJ_NEIGHBOURDISC = 0x0A
OBJ_TBIT = 0x0B
OBJ_STING = 0x0C
OBJ_SNIFF = 0x0D
OBJ_HOST = 0x0E
OBJ_HTTP = 0x0F
OBJ_UDPPROBE = 0x10
OBJ_OWAMP = 0x11

OBJ_NAMES = {
    OBJ_LIST: "list", OBJ_CYCLE_START: "cycle-start", OBJ_CYCLE_DEF: "cycle-def",
    OBJ_CYCLE_STOP: "cycle-stop", OBJ_ADDR: "addr", OBJ_TRACE: "trace",
    OBJ_PING: "ping", OBJ_TRACELB: "tracelb", OBJ_DEALIAS: "dealias",
    OBJ_NEIGHBOURDISC: "neighbourdisc", OBJ_TBIT: "tbit", OBJ_STING: "sting",
    OBJ_SNIFF: "sniff", OBJ_HOST: "host", OBJ_HTTP: "http",
    OBJ_UDPPROBE: "udpprobe", OBJ_OWAMP: "owamp",
}
