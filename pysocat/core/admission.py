"""Peer admission: range, sourceport, lowport and TCP wrappers; SOCAT_PEER* variables.

Peers outside ``range=``/``sourceport=``/``lowport``/``tcpwrap`` are refused
with a W line and closed cleanly; admitted ones get the ACCEPT-phase options.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from ..net.sockets import family_of, sockaddr_text
from ..options import OptionSet, Phase
from . import log
from .runtime import Runtime

PeerCheck = Callable[[Any], str | None]


def peer_filter(opts: OptionSet, family: int) -> PeerCheck:
    """Build the peer check from range, sourceport and lowport (None = accept)."""
    rng = opts.get("range")
    in_range = None
    if rng:
        from ..net.ranges import ip_in_range

        in_range = ip_in_range(rng)
    sport = opts.get("sourceport")
    low = opts.get("lowport", False)
    name, allow, deny, etc = (opts.get(n) for n in ("tcpwrap", "hosts-allow", "hosts-deny", "tcpwrap-etc"))
    wrapped = None
    if (name, allow, deny, etc) != (None, None, None, None):
        from ..net.tcpwrap import access_check

        wrapped = access_check(name, allow, deny, etc, log.current().progname)

    def check(peer: Any) -> str | None:
        if family not in (socket.AF_INET, socket.AF_INET6):
            return None
        host, port = peer[0], peer[1]
        if in_range is not None and not in_range(host):
            return "range"
        if sport is not None and port != sport:
            return "sourceport"
        if low and not 0 < port < 1024:
            return "lowport"
        if wrapped is not None and not wrapped(host):
            return "tcpwrap"
        return None

    return check


def env_ip(text: str) -> str:
    """socat's form: dotted IPv4, or bracketed fully expanded IPv6."""
    if ":" not in text:
        return text
    packed = socket.inet_pton(socket.AF_INET6, text.split("%")[0])
    return "[" + ":".join(packed[i : i + 2].hex() for i in range(0, 16, 2)) + "]"


def set_env(rt: Runtime, conn: socket.socket, peer: Any) -> None:
    """SOCAT_PEERADDR/PEERPORT/SOCKADDR/SOCKPORT (and the -lp derived prefix), worked out only
    when a program is started (most sessions start none: no getsockname per peer)."""
    rt.export_later(lambda: peer_values(conn, peer))


def peer_values(conn: socket.socket, peer: Any) -> dict[str, str]:
    """The SOCAT_PEER*/SOCK* values of an accepted connection."""
    values: dict[str, str] = {}
    try:
        local = conn.getsockname()
    except OSError:  # closed since: only the peer is known
        local = ("", 0) if isinstance(peer, tuple) else ""
    family = family_of(conn) if conn.fileno() >= 0 else (socket.AF_UNIX if isinstance(peer, str) else socket.AF_INET)
    if family in (socket.AF_INET, socket.AF_INET6):
        values = {"PEERADDR": env_ip(peer[0]), "PEERPORT": str(peer[1]),
                  "SOCKADDR": env_ip(local[0]), "SOCKPORT": str(local[1])}
    elif family == socket.AF_UNIX:
        values = {"PEERADDR": peer if isinstance(peer, str) else repr(peer),
                  "SOCKADDR": local if isinstance(local, str) else repr(local)}
    return values


REFUSE_DRAIN = 0.2  # seconds a refused peer's unread data is drained so it sees FIN, not RST


def refuse(conn: socket.socket, wait: bool = True) -> None:
    """Close a refused peer cleanly: FIN first, read what it sent, then close.

    ``wait=False`` (a loop serving other sessions): read only what has arrived already.
    """
    try:
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(REFUSE_DRAIN if wait else 0.0)
        for _ in range(16):
            if not conn.recv(65536):
                break
    except OSError:
        pass
    finally:
        conn.close()


def admit(conn: socket.socket, peer: Any, opts: OptionSet, check: PeerCheck, wait: bool = True) -> bool:
    """Screen an accepted peer (range/sourceport/lowport); close and log a refused one."""
    family = family_of(conn)
    reason = check(peer)
    if reason is not None:
        log.warn(f"refusing connection from {sockaddr_text(family, peer)} due to {reason} option")
        refuse(conn, wait)
        return False
    if log.current().enabled("N"):
        log.notice(f"accepting connection from {sockaddr_text(family, peer)} on "
                   f"{sockaddr_text(family, conn.getsockname())}")
    opts.apply(Phase.ACCEPT, conn.fileno())
    return True
