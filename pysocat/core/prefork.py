"""Forking listener with workers forked ahead of demand.

Each worker is a child forked *before* a peer arrives; it blocks in accept() on
the shared listening socket (the kernel wakes one), serves exactly one peer and
exits, so every connection still has a process of its own.  The parent only
keeps ``IDLE`` workers waiting, within ``max-children`` live children in all,
reaps exited ones (SIGCHLD just wakes it) and takes idle workers down with it.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
from collections.abc import Callable

from ..net.sockets import family_of
from . import log
from .acceptor import Acceptor, Peer
from .children import SIG_DFL, ChildTracker, raw_signal
from .waiting import wait

IDLE = 4  # workers kept waiting in accept()


def _load_prctl() -> Callable[[int], None]:
    """prctl(PR_SET_PDEATHSIG, sig), loaded once in the master (never per worker)."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return lambda sig: None

    def set_death_signal(sig: int) -> None:
        prctl(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG

    return set_death_signal


class WorkerPool:
    """The master side: keeps idle workers; ``serve`` returns only in a worker."""

    def __init__(self, acceptor: Acceptor) -> None:
        self.acceptor = acceptor
        self.listener = listener = acceptor.sock
        # plain ints, so a worker builds its accepted socket without the AddressFamily/SocketKind enums
        self.kind = (family_of(listener), listener.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE), listener.proto)
        self.max_children = acceptor.max_children
        self.tracker = ChildTracker()
        self.idle: set[int] = set()
        self.ready_r, self.ready_w = os.pipe()
        os.set_blocking(self.ready_r, False)
        self.death_signal = _load_prctl()
        gc.freeze()  # objects made so far stay out of the children's collections (fewer copied pages)

    def serve(self) -> Peer:
        """Run the master loop; in a worker, return its accepted (conn, peer)."""
        try:
            while True:
                self.tracker.reap()
                self.idle &= self.tracker.children
                self._take_notices()
                while len(self.idle) < IDLE and self._room():
                    pid = os.fork()
                    if pid == 0:
                        return self._work()
                    self.tracker.children.add(pid)
                    self.idle.add(pid)
                wait([self.tracker.wake_r, self.ready_r], [], None)
        finally:
            if self.idle and os.getpid() != getattr(self, "worker_pid", None):
                for pid in self.idle:
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass

    def _room(self) -> bool:
        return self.max_children is None or len(self.tracker.children) < self.max_children

    def _take_notices(self) -> None:
        """Workers write their pid when they accepted: they are busy now."""
        try:
            data = os.read(self.ready_r, 4096)
        except BlockingIOError:
            return
        for line in data.decode().split():
            pid = int(line)
            if pid in self.idle:
                self.idle.discard(pid)
                log.notice(f"forked off child process {pid}")

    def _work(self) -> Peer:
        gc.disable()  # a worker lives for one connection: no collections, no page copies for them
        self.worker_pid = os.getpid()
        self.idle.clear()
        self.tracker.in_child()
        os.close(self.ready_r)
        self.death_signal(signal.SIGTERM)  # an idle worker must not outlive a SIGKILLed master
        quiet = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        handlers = {sig: raw_signal(sig, SIG_DFL) for sig in quiet}  # idle: die silently
        self.listener.setblocking(True)
        # _accept gives (fd, peer): socket.accept() would also go through the enums
        accept = self.listener._accept  # type: ignore[attr-defined]
        while True:
            try:
                fd, peer = accept()
            except InterruptedError:
                continue
            except OSError as exc:
                log.warn(f"accept({self.listener.fileno()}): {exc.strerror}")
                continue
            conn = socket.socket(*self.kind, fileno=fd)
            if self.acceptor.admit(conn, peer):
                break
        for sig, handler in handlers.items():
            raw_signal(sig, handler)
        self.death_signal(0)  # busy now: like socat's children, survive the master
        try:
            os.write(self.ready_w, b"%d\n" % self.worker_pid)
        except OSError:
            pass
        os.close(self.ready_w)
        self.listener.close()
        return Peer(conn, peer)
