"""Accepting peers: one, or one child process per peer with ``fork``.

The listener keeps going in the parent; ``max-children`` bounds live children;
SIGCHLD only wakes the loop (through the wakeup fd) and reaping happens here.
Peers outside ``range=``/``sourceport=``/``lowport`` are refused with a W line.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from . import environment, log
from .errors import QuietExit
from .options import OptionSet, Phase
from .registry import OpenContext
from .sockets import family_of, sockaddr_text

_signal: Any = sys.modules["_signal"]  # the C module under signal (typeshed has no stub for it)
SIG_DFL: Any = _signal.SIG_DFL  # a plain int (signal.SIG_DFL is an enum member, which _signal refuses)


def raw_signal(signum: int, handler: Any) -> Any:
    """signal.signal without its enum wrapping, which makes a fresh fork child copy many pages."""
    return _signal.signal(signum, handler)

PeerCheck = Callable[[Any], str | None]


def peer_filter(opts: OptionSet, family: int) -> PeerCheck:
    """Build the peer check from range, sourceport and lowport (None = accept)."""
    rng = opts.get("range")
    in_range = None
    if rng:
        from .ranges import ip_in_range

        in_range = ip_in_range(rng)
    sport = opts.get("sourceport")
    low = opts.get("lowport", False)
    name, allow, deny, etc = (opts.get(n) for n in ("tcpwrap", "hosts-allow", "hosts-deny", "tcpwrap-etc"))
    wrapped = None
    if (name, allow, deny, etc) != (None, None, None, None):
        from .tcpwrap import access_check

        wrapped = access_check(name, allow, deny, etc, log.LOG.progname)

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


def set_env(ctx: OpenContext, conn: socket.socket, peer: Any) -> None:
    """SOCAT_PEERADDR/PEERPORT/SOCKADDR/SOCKPORT (and the -lp derived prefix)."""
    values: dict[str, str] = {}
    local = conn.getsockname()
    family = family_of(conn)
    if family in (socket.AF_INET, socket.AF_INET6):
        values = {"PEERADDR": env_ip(peer[0]), "PEERPORT": str(peer[1]),
                  "SOCKADDR": env_ip(local[0]), "SOCKPORT": str(local[1])}
    elif family == socket.AF_UNIX:
        values = {"PEERADDR": peer if isinstance(peer, str) else repr(peer),
                  "SOCKADDR": local if isinstance(local, str) else repr(local)}
    environment.export(ctx.cfg.env_prefix, values)


IN_FORK_CHILD = False


def mark_child() -> None:
    """Remember that this process is a per-connection child (it may exit fast)."""
    global IN_FORK_CHILD
    IN_FORK_CHILD = True


class ChildTracker:
    """Live fork children, reaped when SIGCHLD wakes the loop."""

    def __init__(self) -> None:
        self.children: set[int] = set()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.old_wakeup = signal.set_wakeup_fd(self.wake_w)

    def reap(self) -> None:
        """Collect every exited child without blocking."""
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            log.info(f"waitpid(): child {pid} exited with status {os.waitstatus_to_exitcode(status)}")

    def in_child(self) -> None:
        """After fork, in the child: drop the parent's reaping machinery."""
        signal.set_wakeup_fd(-1)
        raw_signal(signal.SIGCHLD, SIG_DFL)
        os.close(self.wake_r)
        os.close(self.wake_w)
        self.children.clear()


REFUSE_DRAIN = 0.2  # seconds a refused peer's unread data is drained so it sees FIN, not RST


def refuse(conn: socket.socket) -> None:
    """Close a refused peer cleanly: FIN first, read what it sent, then close."""
    try:
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(REFUSE_DRAIN)
        for _ in range(16):
            if not conn.recv(65536):
                break
    except OSError:
        pass
    finally:
        conn.close()


def admit(conn: socket.socket, peer: Any, opts: OptionSet, check: PeerCheck) -> bool:
    """Screen an accepted peer (range/sourceport/lowport); close and log a refused one."""
    family = family_of(conn)
    reason = check(peer)
    if reason is not None:
        log.warn(f"refusing connection from {sockaddr_text(family, peer)} due to {reason} option")
        refuse(conn)
        return False
    if log.LOG.enabled("N"):
        log.notice(f"accepting connection from {sockaddr_text(family, peer)} on "
                   f"{sockaddr_text(family, conn.getsockname())}")
    opts.apply(Phase.ACCEPT, conn.fileno())
    return True


def accept_peer(ctx: OpenContext, listener: socket.socket, opts: OptionSet, check: PeerCheck) -> socket.socket:
    """Accept a peer; with ``fork`` this returns only in a child process."""
    fork = opts.get("fork", False)
    max_children = opts.get("max-children")
    timeout = opts.get("accept-timeout")
    if fork and timeout is None and not os.environ.get("PYSOCAT_NO_PREFORK"):
        from .prefork import WorkerPool

        conn, peer = WorkerPool(listener, opts, check, max_children).serve()
        set_env(ctx, conn, peer)
        return conn
    tracker = ChildTracker() if fork else None
    lfd = listener.fileno()
    listener.setblocking(False)
    while True:
        waits = [lfd]
        if tracker is not None:
            tracker.reap()
            waits.append(tracker.wake_r)
            if max_children is not None and len(tracker.children) >= max_children:
                waits.remove(lfd)
        try:
            readable, _w, _x = select.select(waits, [], [], timeout)
        except InterruptedError:
            continue
        if not readable:
            # socat: a W line and a normal end, the option's purpose is to stop waiting
            log.warn(f"accept: Connection timed out (no peer within {timeout} seconds)")
            raise QuietExit(0)
        if lfd not in readable:
            continue
        try:
            conn, peer = listener.accept()
        except (BlockingIOError, InterruptedError):
            continue
        except OSError as exc:
            log.warn(f"accept({lfd}): {exc.strerror}")
            continue
        if not admit(conn, peer, opts, check):
            continue
        if tracker is None:
            listener.close()
            set_env(ctx, conn, peer)
            return conn
        pid = os.fork()
        if pid == 0:
            mark_child()
            tracker.in_child()
            listener.close()
            set_env(ctx, conn, peer)
            return conn
        tracker.children.add(pid)
        log.notice(f"forked off child process {pid}")
        conn.close()
