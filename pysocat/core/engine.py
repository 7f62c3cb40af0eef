"""The event loop: one epoll set serving any number of sessions and listeners.

Each iteration waits once for every session's descriptors, every watched
listener and the wakeup pipe, then lets the ready sessions step and plans them
again.  A session in the common state (every pump waiting to read its own
source) is served from a fast path: its source fds map straight to their pumps
and nothing is re-planned until a pump leaves that state.  :meth:`Engine.stop`
is safe from any thread (it writes to the wakeup pipe, not a signal).
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import SocatError
from . import log
from .config import Config
from .dump import Dumper
from .endpoint import Endpoint
from .pump import Pump
from .runtime import Runtime
from .session import Session
from .waiting import drain

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

EndHook = Callable[[Session, int], None]
Done = Callable[[Any, BaseException | None], None]

OPENERS = 4  # threads that open addresses and close sessions for a loop that must not block


class Engine:
    """Drives sessions and listener callbacks until stopped or out of work."""

    def __init__(self, cfg: Config, rt: Runtime, *, contain: bool = False) -> None:
        self.cfg, self.rt = cfg, rt
        self.contain = contain  # a failing session ends alone (True) or the error propagates (False)
        self.dumper = Dumper(cfg.verbose, cfg.hexdump, cfg.raw_lr, cfg.raw_rl)
        self.poller = select.epoll()
        self.sessions: set[Session] = set()
        self.owner: dict[int, Session] = {}  # fd -> the session waiting on it
        self.fast: dict[int, Pump] = {}  # source fd -> pump, for steady sessions
        self.dirty: set[Session] = set()
        self.touched: set[Session] = set()
        self.timed: set[Session] = set()
        self.always: set[Session] = set()
        self.sources: dict[int, Callable[[], None]] = {}  # listeners and the wakeup pipe
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.poller.register(self.wake_r, select.EPOLLIN)
        self.stopping = False
        self.on_end: EndHook | None = None
        self.pool: ThreadPoolExecutor | None = None  # made on the first defer()
        self.completed: deque[tuple[Future[Any], Done]] = deque()
        self.deferred = 0  # blocking jobs not yet handed back
        self.opened = 0  # sessions ever added
        self.ended_lr = 0  # bytes of sessions already ended
        self.ended_rl = 0
        self.numbers = 0
        self.counting = threading.Lock()
        self.timers: list[tuple[float, int, Callable[[], None]]] = []  # (when, order, callback), a heap
        self.timer_order = itertools.count()

    # -- what the engine serves -----------------------------------------------------------
    def session(self, first: Endpoint, second: Endpoint, rt: Runtime | None = None) -> Session:
        """Start a session between two open endpoints."""
        self.numbers += 1
        s = Session(first, second, self.cfg, rt or self.rt, self.dumper, self.numbers, thrifty=self.contain)
        self.sessions.add(s)
        self.dirty.add(s)
        self.opened += 1
        return s

    def watch(self, fd: int, handler: Callable[[], None]) -> None:
        """Call ``handler`` whenever ``fd`` is readable (a listener)."""
        self.sources[fd] = handler
        self.poller.register(fd, select.EPOLLIN)

    def unwatch(self, fd: int) -> None:
        """Stop watching ``fd``."""
        if self.sources.pop(fd, None) is not None:
            try:
                self.poller.unregister(fd)
            except OSError:
                pass

    def defer(self, work: Callable[[], Any], done: Done) -> None:
        """Run blocking ``work`` (opening an address, reaping a program) off the loop.

        ``done(result, error)`` is called back in the loop's thread.  The work runs
        with the loop's context (its logger and runtime) in a small pool of threads.
        """
        if self.pool is None:
            from concurrent.futures import ThreadPoolExecutor  # only a loop that must not block needs it

            self.pool = ThreadPoolExecutor(max_workers=OPENERS, thread_name_prefix="pysocat-open")
        self.deferred += 1
        context = contextvars.copy_context()

        def finished(future: Future[Any]) -> None:
            self.completed.append((future, done))
            try:
                os.write(self.wake_w, b".")
            except OSError:
                pass

        self.pool.submit(context.run, work).add_done_callback(finished)

    def _hand_back(self) -> None:
        """Call back the jobs that finished (in the loop's thread)."""
        while self.completed:
            future, done = self.completed.popleft()
            self.deferred -= 1
            error = future.exception()
            done(None if error is not None else future.result(), error)

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` in the loop once time.monotonic() reaches ``when``."""
        heapq.heappush(self.timers, (when, next(self.timer_order), callback))

    def _due(self, now: float) -> None:
        while self.timers and self.timers[0][0] <= now:
            _when, _n, callback = heapq.heappop(self.timers)
            callback()

    def stop(self) -> None:
        """End :meth:`run` soon; callable from any thread or a signal handler."""
        self.stopping = True
        try:
            os.write(self.wake_w, b"!")
        except OSError:
            pass

    def stats(self) -> dict[str, int]:
        """Sessions so far, open now, and bytes moved each way (ended and open sessions)."""
        with self.counting:
            lr, rl = self.ended_lr, self.ended_rl
            for s in list(self.sessions):
                a, b = s.counters()
                lr, rl = lr + a, rl + b
        return {"sessions": self.opened, "open_sessions": len(self.sessions),
                "bytes_left_to_right": lr, "bytes_right_to_left": rl}

    # -- the loop ---------------------------------------------------------------------------
    def run_one(self, first: Endpoint, second: Endpoint) -> int:
        """Serve one session to its end; its status (I/O errors raise SocatError)."""
        s = self.session(first, second)
        self.run()
        return s.status

    def run(self) -> None:
        """Serve until stopped, or until no session and no listener is left."""
        monotonic = time.monotonic
        poll = self.poller.poll
        fast, owner, sources, touched = self.fast, self.owner, self.sources, self.touched
        wake = self.wake_r
        while True:
            now = monotonic()
            if self.dirty:
                self._plan(now)
            if self.stopping or not (self.sessions or sources or self.deferred or self.timers):
                return
            if self.always:
                timeout = 0.0
            elif self.timed:
                timeout = max(0.0, min(s.deadline or now for s in self.timed) - now)
            else:
                timeout = -1.0
            if self.timers:
                until = max(0.0, self.timers[0][0] - now)
                timeout = until if timeout < 0 else min(timeout, until)
            events = poll(timeout)
            now = monotonic()
            if self.timers:
                self._due(now)
            for fd, ev in events:
                pump = fast.get(fd)
                if pump is not None:
                    s = pump.session  # type: ignore[attr-defined]
                    try:
                        if pump.step_read(now):
                            s.moved(now)
                    except Exception as exc:
                        self._fail(s, exc)
                        continue
                    if not pump.steady():
                        self._leave_fast(s)
                        self.dirty.add(s)
                    continue
                owned = owner.get(fd)
                if owned is not None:
                    owned.ready[fd] = ev
                    touched.add(owned)
                elif fd == wake:
                    drain(wake)
                    if self.completed:
                        self._hand_back()
                else:
                    handler = sources.get(fd)
                    if handler is not None:
                        handler()
            if self.always:
                touched.update(self.always)
            for s in tuple(self.timed):
                if s.deadline is not None and s.deadline <= now:
                    touched.add(s)
            stepping = tuple(touched)  # a failing session leaves the sets while they are walked
            touched.clear()
            for s in stepping:
                if s.closed:
                    continue
                try:
                    s.step(now)
                except Exception as exc:
                    self._fail(s, exc)
                    continue
                self.dirty.add(s)

    def _plan(self, now: float) -> None:
        dirty, self.dirty = self.dirty, set()
        for s in dirty:
            if s.closed:
                continue
            while True:
                status = s.plan(now)
                if status is not None:
                    s.status = status
                    self.end(s)
                    break
                if self._sync(s):
                    break
            if s.closed:
                continue
            (self.always.add if s.always else self.always.discard)(s)
            (self.timed.add if s.deadline is not None else self.timed.discard)(s)
            if s.steady:
                for p in s.pumps:
                    if not p.done and p.src.rfd is not None:
                        self.fast[p.src.rfd] = p
            else:
                self._leave_fast(s)

    def _leave_fast(self, s: Session) -> None:
        for p in s.pumps:
            fd = p.src.rfd
            if fd is not None and self.fast.get(fd) is p:
                del self.fast[fd]

    def _sync(self, s: Session) -> bool:
        """Bring the epoll set in line with what ``s`` wants; False if an fd proved unpollable."""
        registered, wanted = s.registered, s.wanted
        self._release(s, [fd for fd in registered if fd not in wanted])
        for fd, ev in wanted.items():
            if registered.get(fd) == ev and self.owner.get(fd) is s:
                continue
            stale = self.owner.get(fd)
            if stale is not None and stale is not s:  # the fd number was closed there and reused here
                stale.registered.pop(fd, None)
            try:
                if fd in registered or stale is not None:
                    self.poller.modify(fd, ev)
                else:
                    self.poller.register(fd, ev)
            except PermissionError:  # epoll refuses regular files and some devices
                s.mark_unpollable(fd)
                return False
            except FileExistsError:  # an fd number reused after a close: re-arm it
                self.poller.modify(fd, ev)
            except FileNotFoundError:  # closed and reused since it was registered: add it anew
                self.poller.register(fd, ev)
            registered[fd] = ev
            self.owner[fd] = s
        return True

    def _release(self, s: Session, fds: list[int]) -> None:
        """Stop waiting on ``fds`` for ``s`` (an fd number another session owns now is left alone)."""
        for fd in fds:
            del s.registered[fd]
            if self.owner.get(fd) is s:
                del self.owner[fd]
                try:
                    self.poller.unregister(fd)
                except OSError:
                    pass

    def end(self, s: Session) -> None:
        """Take a session out of the loop and close it."""
        self._leave_fast(s)
        self._release(s, list(s.registered))
        with self.counting:  # stats() from another thread sees the bytes either open or ended, never neither
            lr, rl = s.counters()
            self.ended_lr += lr
            self.ended_rl += rl
            self.sessions.discard(s)
        self.always.discard(s)
        self.timed.discard(s)
        self.dirty.discard(s)
        self.touched.discard(s)
        if self.contain and any(ep.close_may_wait() for ep in (s.first, s.second)):
            # a program slow to exit: reap it off the loop, the other sessions go on
            self.defer(s.close, lambda status, error: self._closed(s, s.status if status is None else status))
            return
        self._closed(s, s.close())

    def _closed(self, s: Session, status: int) -> None:
        if self.on_end is not None:
            self.on_end(s, status)

    def _fail(self, s: Session, exc: Exception) -> None:
        """A step raised: with ``contain`` the session ends alone (its E line), else the error goes up."""
        if not self.contain:
            raise exc
        if isinstance(exc, SocatError):
            log.error(exc.message)
            s.status = exc.status
        else:  # a bug, or an OSError nothing turned into a SocatError
            log.error(f"internal error: {type(exc).__name__}: {exc}")
            s.status = 1
        self.end(s)

    def close(self) -> None:
        """End every session still open, wait for deferred work, release the loop's own descriptors."""
        self.stopping = True
        for s in list(self.sessions):
            self.end(s)
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self._hand_back()
        for fd in list(self.sources):
            self.unwatch(fd)
        self.poller.close()
        self.dumper.close()
        for fd in (self.wake_r, self.wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
