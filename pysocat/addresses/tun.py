"""TUN[:<ip-addr>/<bits>]: a new Linux TUN/TAP network interface; one read or write is one packet.

The clone device (``tun-device``, default /dev/net/tun) is opened and TUNSETIFF
creates the interface (``tun-name``, ``tun-type=tun|tap``, ``iff-no-pi``); the
optional parameter gives it an IPv4 address and netmask, and the ``iff-*``
options set (or, with =0, clear) its interface flags, as socat does.  The
interface lives as long as the descriptor: it goes away when the address closes.
Needs /dev/net/tun and CAP_NET_ADMIN.
"""

from __future__ import annotations

import os
import socket

from ..core import log
from ..core.endpoint import Endpoint
from ..errors import SocatError, SpecError
from ..options import IFF_FLAGS, OptionSet
from ..registry import OpenContext, register
from .common import access_flags, fd_endpoint

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_TAP, IFF_NO_PI = 0x0001, 0x0002, 0x1000
SIOCGIFFLAGS, SIOCSIFFLAGS = 0x8913, 0x8914
SIOCSIFADDR, SIOCSIFNETMASK = 0x8916, 0x891C
IFNAMSIZ = 16


def _ifreq(name: str, tail: bytes = b"") -> bytes:
    """struct ifreq: the name, then the union (24 bytes on 64-bit Linux)."""
    raw = name.encode()
    if len(raw) >= IFNAMSIZ:
        raise SocatError(f'interface name "{name}" is too long (at most {IFNAMSIZ - 1} bytes)')
    return raw.ljust(IFNAMSIZ, b"\0") + tail.ljust(24, b"\0")


def _ioctl(fd: int, request: int, data: bytes, what: str) -> bytes:
    import fcntl

    try:
        return fcntl.ioctl(fd, request, data)
    except OSError as exc:
        raise SocatError(f"ioctl({fd}, {what}): {exc.strerror}") from None


def _sockaddr_in(packed: bytes) -> bytes:
    import struct

    return struct.pack("=HH4s8x", socket.AF_INET, 0, packed)


def parse_network(text: str) -> tuple[bytes, bytes]:
    """``addr/bits`` or ``addr:mask`` (IPv4) -> packed address and netmask."""
    import ipaddress

    try:
        if "/" in text:
            iface = ipaddress.IPv4Interface(text)
        elif ":" in text:
            addr, _, mask = text.partition(":")
            iface = ipaddress.IPv4Interface(f"{addr}/{mask}")
        else:
            iface = ipaddress.IPv4Interface(text)
    except ValueError:
        raise SpecError(f'TUN: invalid network "{text}": expected <ip-addr>/<bits>') from None
    return iface.ip.packed, iface.netmask.packed


def iff_masks(opts: OptionSet) -> tuple[int, int]:
    """Flags to set and flags to clear from the iff-* options."""
    on = off = 0
    for name, bit in IFF_FLAGS.items():
        value = opts.get(name)
        if value is True:
            on |= bit
        elif value is False:
            off |= bit
    return on, off


def set_flags(name: str, on: int, off: int) -> None:
    """SIOCGIFFLAGS, merge, SIOCSIFFLAGS on the interface ``name``."""
    import struct

    if not on and not off:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as ctl:
        fd = ctl.fileno()
        got = _ioctl(fd, SIOCGIFFLAGS, _ifreq(name), f'SIOCGIFFLAGS, {{"{name}"}}')
        flags = struct.unpack_from("=H", got, IFNAMSIZ)[0]
        log.debug(f'"{name}": system set flags: {flags:#x}')
        flags = (flags | on) & ~off & 0xFFFF
        _ioctl(fd, SIOCSIFFLAGS, _ifreq(name, struct.pack("=H", flags)), f'SIOCSIFFLAGS, {{"{name}", {flags:#x}}}')
        log.debug(f'"{name}": xio merged flags: {flags:#x}')


def _configure(name: str, network: str) -> None:
    addr, mask = parse_network(network)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as ctl:
        fd = ctl.fileno()
        _ioctl(fd, SIOCSIFADDR, _ifreq(name, _sockaddr_in(addr)), f'SIOCSIFADDR, {{"{name}", "{network}"}}')
        _ioctl(fd, SIOCSIFNETMASK, _ifreq(name, _sockaddr_in(mask)), f'SIOCSIFNETMASK, {{"{name}", "{network}"}}')


def open_tun(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    import struct

    device = opts.get("tun-device") or "/dev/net/tun"
    name = opts.get("tun-name") or ""
    kind = (opts.get("tun-type") or "tun").lower()
    if kind not in ("tun", "tap"):
        raise SpecError(f'unknown tun-type "{opts.get("tun-type")}"')
    if params:
        parse_network(params[0])  # bad input fails before anything is created
    flags = IFF_TAP if kind == "tap" else IFF_TUN
    if opts.get("iff-no-pi"):
        flags |= IFF_NO_PI
    on, off = iff_masks(opts)
    log.notice("creating tunnel network interface")
    try:
        fd = os.open(device, access_flags(ctx.direction) | os.O_CLOEXEC)
    except OSError as exc:
        raise SocatError(f'open("{device}"): {exc.strerror}') from None
    try:
        got = _ioctl(fd, TUNSETIFF, _ifreq(name, struct.pack("=H", flags)), f'TUNSETIFF, {{"{name}"}}')
        name = got[:IFNAMSIZ].split(b"\0", 1)[0].decode()
        if params:
            _configure(name, params[0])
        set_flags(name, on, off)
        ep = fd_endpoint(ctx, opts, fd, fd, datagram=True)
    except BaseException:
        os.close(fd)
        raise
    log.info(f'TUN interface "{name}" ready')
    return ep


register("TUN", ("ip-addr/bits",), "FD,NAMED,OPEN,INTERFACE,TUN", open_tun, optional=1, features=("TUN",),
         help="a new TUN/TAP network interface, optionally with an IPv4 address; a read or write is one packet")
