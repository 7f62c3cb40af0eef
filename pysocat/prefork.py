"""Forking listener with workers forked ahead of demand.

Each worker is a child forked *before* a peer arrives; it blocks in accept() on
the shared listening socket (the kernel wakes one), serves exactly one peer and
exits, so every connection still has a process of its own.  The parent only
keeps ``IDLE`` workers waiting, within ``max-children`` live children in all,
reaps exited ones (SIGCHLD just wakes it) and takes idle workers down with it.
"""

from __future__ import annotations

import os
import select
import signal
import socket
from typing import Any

from . import log
from .listen import ChildTracker, PeerCheck, admit, mark_child
from .options import OptionSet

IDLE = 4  # workers kept waiting in accept()


def _die_with_parent() -> None:
    """An idle worker must not outlive a master killed with SIGKILL (Linux prctl)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _keep_after_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class WorkerPool:
    """The master side: keeps idle workers; ``serve`` returns only in a worker."""

    def __init__(self, listener: socket.socket, opts: OptionSet, check: PeerCheck, max_children: int | None) -> None:
        self.listener, self.opts, self.check = listener, opts, check
        self.max_children = max_children
        self.tracker = ChildTracker()
        self.idle: set[int] = set()
        self.ready_r, self.ready_w = os.pipe()
        os.set_blocking(self.ready_r, False)

    def serve(self) -> tuple[socket.socket, Any]:
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
                try:
                    select.select([self.tracker.wake_r, self.ready_r], [], [])
                except InterruptedError:
                    pass
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

    def _work(self) -> tuple[socket.socket, Any]:
        self.worker_pid = os.getpid()
        self.idle.clear()
        mark_child()
        self.tracker.in_child()
        os.close(self.ready_r)
        _die_with_parent()
        quiet = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        handlers = {sig: signal.signal(sig, signal.SIG_DFL) for sig in quiet}  # idle: die silently
        self.listener.setblocking(True)
        while True:
            try:
                conn, peer = self.listener.accept()
            except InterruptedError:
                continue
            except OSError as exc:
                log.warn(f"accept({self.listener.fileno()}): {exc.strerror}")
                continue
            if admit(conn, peer, self.opts, self.check):
                break
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        _keep_after_parent()
        try:
            os.write(self.ready_w, f"{os.getpid()}\n".encode())
        except OSError:
            pass
        os.close(self.ready_w)
        self.listener.close()
        return conn, peer
