"""One session: two open endpoints, the pumps between them, and their timers.

The engine asks a session what it waits for (:meth:`Session.plan`), waits for
every session at once, and lets the ready ones step (:meth:`Session.step`).
The rules are socat's: EOF on one side becomes a half-close of the other once
the pump is flushed; when one direction is done the other may go on until it
has been idle for ``-t``; ``-T`` ends a session idle that long.
"""

from __future__ import annotations

import errno
import socket
import time

from . import log
from .config import Config
from .dump import Dumper
from .endpoint import Endpoint
from .pump import READ, WRITE, Pump
from .pumpstate import State
from .runtime import Runtime


def make_pump(src: Endpoint, dst: Endpoint, index: int, tag: str, cfg: Config, rt: Runtime, dumper: Dumper) -> Pump:
    """The mover for one direction: zero-copy when nothing needs to see the bytes, else userspace."""
    plain = src.rconv.transparent and dst.wconv.transparent and not dumper.active
    streams = not (src.datagram or dst.datagram) and src.zero_copy and dst.zero_copy
    if plain and streams and rt.splice:
        from . import zerocopy

        if zerocopy.AVAILABLE:
            return zerocopy.make_pump(src, dst, index, tag, cfg, dumper)
    return Pump(src, dst, index, tag, cfg, dumper)


class Session:
    """Two endpoints and up to two pumps (left to right, right to left)."""

    def __init__(self, first: Endpoint, second: Endpoint, cfg: Config, rt: Runtime, dumper: Dumper,
                 number: int = 0, thrifty: bool = False) -> None:
        self.first, self.second = first, second
        self.cfg, self.rt, self.number = cfg, rt, number
        self.pumps: list[Pump] = []
        if cfg.left_to_right and first.rfd is not None and second.wfd is not None:
            self.pumps.append(make_pump(first, second, 1, ">", cfg, rt, dumper))
        if cfg.right_to_left and second.rfd is not None and first.wfd is not None:
            self.pumps.append(make_pump(second, first, 2, "<", cfg, rt, dumper))
        for pump in self.pumps:
            pump.session = self  # type: ignore[attr-defined]  # the engine's fast path finds the session
            if thrifty:
                pump.economize()
        self.last = time.monotonic()  # when bytes last moved
        self.started = time.time()
        self.registered: dict[int, int] = {}  # fd -> events in the engine's epoll set
        self.wanted: dict[int, int] = {}
        self.ready: dict[int, int] = {}
        self.always = False  # something unpollable is waiting: step without waiting
        self.deadline: float | None = None
        self.steady = False  # every pump only waits to read its own source
        self.closed = False
        self.status = 0

    # -- the engine's two questions --------------------------------------------------
    def plan(self, now: float) -> int | None:
        """Decide what to wait for; the exit status when the session is over."""
        if self.connecting:
            self._plan_connect()
            return None
        cfg = self.cfg
        active = [p for p in self.pumps if not p.done]
        if not active:
            return 0
        closing = len(active) < len(self.pumps)
        if closing and now - self.last >= cfg.close_timeout:
            log.info("closing timeout expired")
            return 0
        if cfg.total_timeout is not None and now - self.last >= cfg.total_timeout:
            log.notice("inactivity timeout triggered")
            return 0
        wanted: dict[int, int] = {}
        always = False
        deadline: float | None = None
        for p in active:
            if p.state is State.POLLING and p.poll_at is not None:
                deadline = p.poll_at if deadline is None else min(deadline, p.poll_at)
                if now < p.poll_at:
                    continue
            fd, ev, pollable = p.wants()
            if fd is None:
                continue
            if pollable:
                wanted[fd] = wanted.get(fd, 0) | ev
            else:
                always = True
        for bound in (self.last + cfg.close_timeout if closing else None,
                      None if cfg.total_timeout is None else self.last + cfg.total_timeout):
            if bound is not None:
                deadline = bound if deadline is None else min(deadline, bound)
        if not wanted and not always and deadline is None:
            return 0
        self.wanted, self.always, self.deadline = wanted, always, deadline
        self.steady = not closing and not always and len(wanted) == len(active) and all(
            p.steady() and p.src.rfd is not None and wanted.get(p.src.rfd) == READ for p in active)
        return None

    def step(self, now: float) -> None:
        """Let every pump whose descriptor is ready (or unpollable, or due) move bytes."""
        ready, self.ready = self.ready, {}
        if self.connecting:
            self._step_connect(ready, now)
            return
        moved = False
        for p in self.pumps:
            if p.done:
                continue
            fd, ev, pollable = p.wants()
            if fd is None or (p.state is State.POLLING and p.poll_at is not None and now < p.poll_at):
                continue
            if not pollable or ready.get(fd, 0) & (ev | HUP):
                moved |= p.step_write() if ev == WRITE else p.step_read(now)
        if moved:
            self.last = now

    # -- connects the loop completes (concurrent sessions) -------------------------------
    @property
    def connecting(self) -> list[Endpoint]:
        """Endpoints whose connect() is still under way."""
        return [ep for ep in (self.first, self.second) if ep.connecting is not None]

    def _plan_connect(self) -> None:
        wanted: dict[int, int] = {}
        deadline: float | None = None
        for ep in self.connecting:
            assert ep.sock is not None and ep.connecting is not None
            wanted[ep.sock.fileno()] = WRITE
            if ep.connecting.deadline is not None:
                deadline = ep.connecting.deadline if deadline is None else min(deadline, ep.connecting.deadline)
        self.wanted, self.always, self.deadline, self.steady = wanted, False, deadline, False

    def _step_connect(self, ready: dict[int, int], now: float) -> None:
        """A connect ended (writable), or its connect-timeout passed: finish it (SocatError if it failed)."""
        for ep in self.connecting:
            assert ep.sock is not None and ep.connecting is not None
            pending = ep.connecting
            if ready.get(ep.sock.fileno(), 0) & (WRITE | HUP):
                ep.connecting = None
                pending.finish(ep.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
            elif pending.deadline is not None and now >= pending.deadline:
                ep.connecting = None
                pending.finish(errno.ETIMEDOUT)
        self.last = now

    def moved(self, now: float) -> None:
        """Bytes moved on the fast path: restart the idle clocks."""
        self.last = now
        if self.cfg.total_timeout is not None:
            self.deadline = now + self.cfg.total_timeout

    def mark_unpollable(self, fd: int) -> None:
        """epoll refused ``fd`` (a regular file): its pumps step without waiting."""
        for p in self.pumps:
            if p.src.rfd == fd:
                p.src.r_pollable = False
            if p.dst.wfd == fd:
                p.dst.w_pollable = False

    # -- the end -------------------------------------------------------------------------
    def close(self) -> int:
        """Close both endpoints; the status, or the failure an endpoint reported at close."""
        if not self.closed:
            self.closed = True
            for ep in (self.first, self.second):
                ep.close()
            failures = [ep.failure for ep in (self.first, self.second) if ep.failure]
            if not self.status and failures:
                self.status = failures[0]
        return self.status

    def counters(self) -> tuple[int, int]:
        """Bytes moved (left to right, right to left)."""
        lr = sum(p.moved for p in self.pumps if p.tag == ">")
        rl = sum(p.moved for p in self.pumps if p.tag == "<")
        return lr, rl


HUP = 0x10 | 0x8  # EPOLLHUP | EPOLLERR
