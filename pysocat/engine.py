"""The transfer loop: one selector, two pumps, half-close, ``-t``, ``-T``, dumps.

Each :class:`Pump` moves bytes one way, holding at most one buffer; the engine
only waits for readiness and asks pumps to step.  EOF on a source is passed on
as a half-close of the destination once the pump's buffer is flushed; when one
direction is done the other may go on until it has been idle for ``-t``.
"""

from __future__ import annotations

import errno
import os
import select
import time
from collections.abc import Callable

from . import log
from .config import Config
from .dump import Dumper
from .endpoint import Endpoint
from .errors import SocatError

IGNOREEOF_POLL = 0.1
READ = select.EPOLLIN
WRITE = select.EPOLLOUT
_HUP = select.EPOLLHUP | select.EPOLLERR


def _io_error(op: str, fd: int | None, size: int, exc: OSError) -> SocatError:
    return SocatError(f"{op}({fd}, 0x0, {size}): {exc.strerror or exc}")


class Pump:
    """One direction: read from ``src`` into a buffer, write it to ``dst``."""

    def __init__(self, src: Endpoint, dst: Endpoint, index: int, tag: str, cfg: Config, dumper: Dumper) -> None:
        self.src, self.dst, self.index, self.tag = src, dst, index, tag
        self.buf = bytearray(cfg.bufsize)
        self.view = memoryview(self.buf)
        self.pending: memoryview | None = None
        self.eof = False
        self.done = False
        self.moved = 0
        self.left = src.rconv.readbytes
        self.poll_at: float | None = None
        self.dumper = dumper
        self.datagram = src.datagram or dst.datagram
        self.chatty = log.LOG.enabled("I")

    def wants(self) -> tuple[int | None, int, bool]:
        """(fd, selector event, pollable) this pump waits on, or (None, 0, True)."""
        if self.pending is not None:
            return self.dst.wfd, WRITE, self.dst.w_pollable
        if self.eof:
            return None, 0, True
        return self.src.rfd, READ, self.src.r_pollable

    def steady(self) -> bool:
        """True while the pump only waits for its source to become readable.

        Nothing held back, no EOF, no poll timer, and nothing already buffered
        above the descriptor (a TLS session's complete records) that epoll cannot see.
        """
        return self.pending is None and not self.eof and self.poll_at is None and self.src.r_pollable

    def step_read(self, now: float) -> bool:
        """Read once and try to write it; True when bytes moved or state changed."""
        size = len(self.buf) if self.left is None else min(len(self.buf), self.left)
        if size == 0:
            return self._at_eof()
        try:
            n = self.src.read_into(self.view[:size])
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            if exc.errno == errno.EIO and self.src.rconv.ignoreeof is False and not self.src.datagram:
                # a pty whose slave side closed reads EIO: that is its EOF
                return self._at_eof()
            raise _io_error("read", self.src.rfd, size, exc) from None
        if n == 0 and (not self.src.datagram or self.src.rconv.null_eof):
            return self.nothing_read(now)
        self.poll_at = None
        data: bytes | memoryview = self.view[:n]
        if self.left is not None:
            self.left -= n
        data = self._convert(data)
        if self.dumper.active:
            self.dumper.record(self.tag, bytes(data), self.moved)
        self.moved += len(data)
        if self.chatty:
            log.info(f"transferred {len(data)} bytes from {self.src.rfd} to {self.dst.wfd}")
        self.pending = memoryview(data) if not isinstance(data, memoryview) else data
        self.step_write()
        if self.left == 0 and self.pending is None:
            self._at_eof()
        return True

    def _convert(self, data: bytes | memoryview) -> bytes | memoryview:
        rc, wc = self.src.rconv, self.dst.wconv
        if rc.transparent and wc.transparent:
            return data
        out = bytes(data)
        if rc.escape is not None:
            cut = out.find(bytes((rc.escape,)))
            if cut >= 0:
                out = out[:cut]
                self.eof = True
        if rc.crlf:
            out = out.replace(b"\r\n", b"\n")
        elif rc.cr:
            out = out.replace(b"\r", b"\n")
        if wc.crlf:
            out = out.replace(b"\n", b"\r\n")
        elif wc.cr:
            out = out.replace(b"\n", b"\r")
        return out

    def step_write(self) -> bool:
        """Write pending bytes once; True when some were written."""
        if self.pending is None:
            return False
        try:
            n = self.dst.write(self.pending)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            return self.write_failed(exc, len(self.pending))
        if n >= len(self.pending) or self.datagram:
            self.pending = None
        else:
            self.pending = self.pending[n:]
        if self.pending is None and self.eof:
            self.finish()
        return n > 0

    def nothing_read(self, now: float) -> bool:
        """A read returned 0: EOF, or with ignoreeof a poll again a little later."""
        if self.src.rconv.ignoreeof:
            self.poll_at = now + IGNOREEOF_POLL
            return False
        return self._at_eof()

    def write_failed(self, exc: OSError, size: int) -> bool:
        """A write error ends the run, unless cool-write makes EPIPE/ECONNRESET quiet."""
        if exc.errno in (errno.EPIPE, errno.ECONNRESET) and self.dst.wconv.cool_write:
            log.notice(f"write({self.dst.wfd}, 0x0, {size}): {exc.strerror}")
            self.pending = None
            self.eof = True
            self.finish()
            return True
        raise _io_error("write", self.dst.wfd, size, exc) from None

    def _at_eof(self) -> bool:
        if not self.eof:
            self.eof = True
            fd = self.src.rfd
            log.notice(f"socket {self.index} (fd {fd}) is at EOF")
        if self.pending is None:
            self.finish()
        return True

    def finish(self) -> None:
        """Flushed after EOF: half-close the destination."""
        if not self.done:
            self.done = True
            self.dst.shutdown_write()


#: makes the zero-copy pump; installed by pysocat.zerocopy when the kernel has splice()
FAST_PUMP: Callable[..., Pump] | None = None


class Engine:
    """Runs the pumps until both directions are done or a timer ends it."""

    def __init__(self, first: Endpoint, second: Endpoint, cfg: Config) -> None:
        self.cfg = cfg
        self.dumper = Dumper(cfg.verbose, cfg.hexdump, cfg.raw_lr, cfg.raw_rl)
        self.pumps: list[Pump] = []
        if cfg.left_to_right and first.rfd is not None and second.wfd is not None:
            self.pumps.append(self._pump(first, second, 1, ">"))
        if cfg.right_to_left and second.rfd is not None and first.wfd is not None:
            self.pumps.append(self._pump(second, first, 2, "<"))

    def _pump(self, src: Endpoint, dst: Endpoint, index: int, tag: str) -> Pump:
        """The zero-copy pump when nothing needs to see the bytes, else userspace."""
        plain = src.rconv.transparent and dst.wconv.transparent and not self.dumper.active
        streams = not (src.datagram or dst.datagram) and src.zero_copy and dst.zero_copy
        if plain and streams and FAST_PUMP is not None and not os.environ.get("PYSOCAT_NO_SPLICE"):
            return FAST_PUMP(src, dst, index, tag, self.cfg, self.dumper)
        return Pump(src, dst, index, tag, self.cfg, self.dumper)

    def run(self) -> int:
        """Transfer until done; return the exit status (errors raise SocatError)."""
        cfg = self.cfg
        poller = select.epoll()
        registered: dict[int, int] = {}
        last = time.monotonic()
        monotonic = time.monotonic
        try:
            while True:
                now = monotonic()
                active = [p for p in self.pumps if not p.done]
                if not active:
                    return 0
                closing = len(active) < len(self.pumps)
                if closing and now - last >= cfg.close_timeout:
                    log.info("closing timeout expired")
                    return 0
                if cfg.total_timeout is not None and now - last >= cfg.total_timeout:
                    log.notice("inactivity timeout triggered")
                    return 0
                wanted: dict[int, int] = {}
                always = False
                deadlines: list[float] = []
                for p in active:
                    if p.poll_at is not None and p.pending is None:
                        deadlines.append(p.poll_at)
                        if now < p.poll_at:
                            continue
                    fd, ev, pollable = p.wants()
                    if fd is None:
                        if p.eof:
                            p.finish()
                        continue
                    if pollable:
                        wanted[fd] = wanted.get(fd, 0) | ev
                    else:
                        always = True
                if wanted != registered and not self._sync(poller, registered, wanted):
                    continue
                if closing:
                    deadlines.append(last + cfg.close_timeout)
                if cfg.total_timeout is not None:
                    deadlines.append(last + cfg.total_timeout)
                timeout = -1.0
                if always:
                    timeout = 0.0
                elif deadlines:
                    timeout = max(0.0, min(deadlines) - now)
                elif not wanted:
                    return 0
                if timeout < 0 and not closing and self._steady(active, wanted):
                    last = self._run_steady(poller, active, last)
                    continue
                ready = dict(poller.poll(timeout)) if wanted or timeout else {}
                now = monotonic()
                moved = False
                for p in active:
                    if p.done:
                        continue
                    fd, ev, pollable = p.wants()
                    if fd is None or (p.poll_at is not None and now < p.poll_at):
                        continue
                    if not pollable or ready.get(fd, 0) & (ev | _HUP):
                        if ev == WRITE:
                            moved |= p.step_write()
                        else:
                            moved |= p.step_read(now)
                if moved:
                    last = now
        finally:
            poller.close()

    @staticmethod
    def _steady(active: list[Pump], wanted: dict[int, int]) -> bool:
        """Every pump just waits to read its own pollable source (the common state)."""
        if len(wanted) != len(active):
            return False
        for p in active:
            fd = p.wants()[0]  # once steady(), wants() is (its source, READ, pollable)
            if not p.steady() or fd is None or wanted.get(fd) != READ:
                return False
        return True

    def _run_steady(self, poller: select.epoll, active: list[Pump], last: float) -> float:
        """The steady state without the general loop's bookkeeping: wait, read, repeat.

        Returns (with the time of the last move) as soon as a pump leaves the
        state (bytes held back, EOF, a poll interval) for the general loop; the
        ``-T`` bound is honoured here too.  Only a pump that stepped can have
        left it, so only that one is checked.
        """
        by_fd = {p.wants()[0]: p for p in active}
        poll = poller.poll
        monotonic = time.monotonic
        total = self.cfg.total_timeout
        while True:
            if total is None:
                events = poll()
            else:
                left = last + total - monotonic()
                if left <= 0:
                    return last
                events = poll(left)
            if not events:
                return last
            now = monotonic()
            for fd, _ev in events:
                p = by_fd[fd]
                if p.step_read(now):
                    last = now
                if not p.steady():
                    return last

    def _sync(self, poller: select.epoll, registered: dict[int, int], wanted: dict[int, int]) -> bool:
        """Bring the epoll set in line with ``wanted``; False if an fd proved unpollable."""
        for fd in list(registered):
            if fd not in wanted:
                try:
                    poller.unregister(fd)
                except OSError:
                    pass
                del registered[fd]
        for fd, ev in wanted.items():
            try:
                if fd not in registered:
                    poller.register(fd, ev)
                elif registered[fd] != ev:
                    poller.modify(fd, ev)
            except PermissionError:  # epoll refuses regular files and some devices
                self._mark_unpollable(fd)
                return False
            except FileExistsError:  # an fd number reused after a close: re-arm it
                poller.modify(fd, ev)
            registered[fd] = ev
        return True

    def _mark_unpollable(self, fd: int) -> None:
        for p in self.pumps:
            if p.src.rfd == fd:
                p.src.r_pollable = False
            if p.dst.wfd == fd:
                p.dst.w_pollable = False

    def stats(self) -> list[int]:
        """Bytes moved per direction (for --statistics)."""
        return [p.moved for p in self.pumps]


def set_nonblocking(fd: int) -> None:
    """Set O_NONBLOCK on a descriptor we own."""
    os.set_blocking(fd, False)
