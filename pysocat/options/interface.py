"""TUN and INTERFACE rows: TUN/TAP devices and interface flags, read by their openers."""

from __future__ import annotations

from .core import OptType, Phase, opt

B, S = OptType.BOOL, OptType.STRING


# TUN/TAP devices and network interfaces (TUN, INTERFACE); read by their openers.
opt("tun-device", S, "TUN", Phase.OPEN, help="TUN: the clone device to open (default /dev/net/tun)")
opt("tun-name", S, "TUN", Phase.FD, help="TUN: name of the new interface (default: the kernel picks tunN/tapN)")
opt("tun-type", S, "TUN", Phase.FD, help="TUN: tun (IP packets, the default) or tap (Ethernet frames)")
opt("iff-no-pi", B, "TUN", Phase.FD, "no-pi", "tun-no-pi",
    help="TUN: IFF_NO_PI: packets carry no 4-byte packet information header")
IFF_FLAGS: dict[str, int] = {}
for _name, _bit, _alias, _text in (
    ("up", 0x1, "up", "bring the interface up"),
    ("broadcast", 0x2, "", "broadcast address valid"),
    ("debug", 0x4, "", "debugging"),
    ("loopback", 0x8, "loopback", "a loopback interface"),
    ("pointopoint", 0x10, "pointopoint", "point-to-point link"),
    ("notrailers", 0x20, "notrailers", "avoid trailers"),
    ("running", 0x40, "running", "resources allocated"),
    ("noarp", 0x80, "noarp", "no ARP"),
    ("promisc", 0x100, "promisc", "receive all packets (promiscuous)"),
    ("allmulti", 0x200, "allmulti", "receive all multicast packets"),
    ("master", 0x400, "master", "master of a load balancer"),
    ("slave", 0x800, "slave", "slave of a load balancer"),
    ("multicast", 0x1000, "", "supports multicast"),
    ("portsel", 0x2000, "portsel", "can set media type"),
    ("automedia", 0x4000, "automedia", "auto media select"),
):
    IFF_FLAGS["iff-" + _name] = _bit
    opt("iff-" + _name, B, "INTERFACE", Phase.FD, *((_alias,) if _alias else ()),
        help=f"interface flag IFF_{_name.upper()}: {_text} (0 clears it)")

