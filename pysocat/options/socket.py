"""SOCKET rows: socket(2) parameters, SOL_SOCKET options, generic setsockopt, bind, retry.

The setsockopt helpers here are shared with the IP rows.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from .core import Applier, OptType, Phase, opt

B, N, S, T = OptType.BOOL, OptType.INT, OptType.STRING, OptType.TIME


def sockopt(level: int, name: int) -> Applier:
    """An integer socket option: ``setsockopt(level, name, int(value))``."""

    def apply(fd: int, value: Any) -> None:
        setsockopt_raw(fd, level, name, int(value))

    return apply


def setsockopt_raw(fd: int, level: int, name: int, data: bytes | int) -> None:
    """setsockopt on a bare descriptor (the socket object is only borrowed)."""
    sock = socket.socket(fileno=fd)
    try:
        sock.setsockopt(level, name, data)
    finally:
        sock.detach()


def family_of(fd: int) -> int:
    """The address family of the socket ``fd``."""
    sock = socket.socket(fileno=fd)
    try:
        return int(sock.family)
    finally:
        sock.detach()


def _linger(fd: int, value: Any) -> None:
    setsockopt_raw(fd, socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, int(value)))


def _generic_sockopt(fd: int, value: Any) -> None:
    level, name, data = value
    setsockopt_raw(fd, level, name, data)


def _bindtodevice(fd: int, value: Any) -> None:
    setsockopt_raw(fd, socket.SOL_SOCKET, socket.SO_BINDTODEVICE, str(value).encode() + b"\0")


# Sockets.
opt("reuseaddr", B, "SOCKET", Phase.PASTSOCKET, "so-reuseaddr",
    apply=sockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR),
    help="`SO_REUSEADDR`; lets a listener bind a port that still has connections in TIME_WAIT")
opt("reuseport", B, "SOCKET", Phase.PASTSOCKET, "so-reuseport",
    apply=sockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT),
    help="`SO_REUSEPORT`; several sockets may bind the same port")
opt("keepalive", B, "SOCKET", Phase.PASTSOCKET, "so-keepalive",
    apply=sockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
    help="`SO_KEEPALIVE`: send keepalive probes on an idle connection")
opt("rcvbuf", N, "SOCKET", Phase.PASTSOCKET, "so-rcvbuf", "recvbuf",
    apply=sockopt(socket.SOL_SOCKET, socket.SO_RCVBUF), lo=0, hi=2**31 - 1, help="`SO_RCVBUF` size in bytes")
opt("sndbuf", N, "SOCKET", Phase.PASTSOCKET, "so-sndbuf", "sendbuf",
    apply=sockopt(socket.SOL_SOCKET, socket.SO_SNDBUF), lo=0, hi=2**31 - 1, help="`SO_SNDBUF` size in bytes")
opt("linger", N, "SOCKET", Phase.PASTSOCKET, "so-linger", apply=_linger, lo=0, hi=2**31 - 1,
    help="`SO_LINGER` with this many seconds")
opt("setsockopt", OptType.SOCKOPT, "SOCKET", Phase.PASTSOCKET, "sockopt", apply=_generic_sockopt,
    help="set any socket option: <level>:<optname>:<value>, where level and optname are numbers and value is an "
         "integer, or `x` followed by hexadecimal digits for binary data")
opt("setsockopt-int", OptType.SOCKOPT, "SOCKET", Phase.PASTSOCKET, "sockopt-int", apply=_generic_sockopt,
    help="as `setsockopt`, with an integer value")
opt("setsockopt-bin", OptType.SOCKOPT, "SOCKET", Phase.PASTSOCKET, "sockopt-bin", apply=_generic_sockopt,
    help="as `setsockopt`, with binary data: `x` followed by hexadecimal digits")
opt("setsockopt-string", OptType.SOCKOPT, "SOCKET", Phase.PASTSOCKET, "sockopt-string",
    apply=_generic_sockopt, help="as `setsockopt`, with a string value (a terminating NUL byte is added)")
opt("setsockopt-listen", OptType.SOCKOPT, "LISTEN", Phase.PASTSOCKET, "sockopt-listen", apply=_generic_sockopt,
    help="as `setsockopt` (an integer, or `x` and hexadecimal digits), on the listening socket only")
opt("bind", S, "SOCKET", Phase.BIND,
    help="bind the socket to this local address before connecting or listening: for IP sockets host, host:port or "
         "[ipv6]:port; for UNIX sockets a path (or an abstract name)")
opt("connect-timeout", T, "SOCKET", Phase.CONNECT, help="give up connecting after this many seconds")
opt("pf", S, "SOCKET", Phase.INIT, "protocol-family",
    help="use this address family: `ip4` (also `ipv4`, `inet`, `4`) or `ip6` (also `ipv6`, `inet6`, `6`)")

# Socket type and options of the datagram, raw IP and generic socket addresses.
opt("so-broadcast", B, "SOCKET", Phase.PASTSOCKET, "broadcast",
    apply=sockopt(socket.SOL_SOCKET, socket.SO_BROADCAST), help="SO_BROADCAST: allow sending to broadcast addresses")
opt("so-timestamp", B, "SOCKET", Phase.PASTSOCKET, "timestamp", apply=sockopt(socket.SOL_SOCKET, 29),
    help="SO_TIMESTAMP: receive times; EXEC children see SOCAT_TIMESTAMP")
opt("so-bindtodevice", S, "SOCKET", Phase.PASTSOCKET, "bindtodevice", "interface", "if", apply=_bindtodevice,
    help="SO_BINDTODEVICE: use only this network interface (root)")
opt("so-type", N, "SOCKET", Phase.INIT, "type", "socktype", lo=0, hi=255,
    help="socket type (e.g. 5 = SOCK_SEQPACKET) for the UNIX and generic socket addresses")
opt("so-protocol", N, "SOCKET", Phase.INIT, "protocol", "prototype", "so-prototype", lo=0, hi=255,
    help="protocol number for socket()")

# Retrying: connecting and listening addresses.
opt("retry", N, "RETRY", Phase.INIT, lo=0, hi=2**31 - 1, help="retry a failed connect, bind or listen this many times")
opt("forever", B, "RETRY", Phase.INIT, help="retry without limit")
opt("interval", T, "RETRY", Phase.INIT, help="seconds between retries (default 1)")

