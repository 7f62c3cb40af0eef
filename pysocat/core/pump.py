"""One direction of a session: read from a source, hold at most one buffer, write it on.

A pump's state is explicit (:mod:`.pumpstate`): each step reports an event and
the table names the next state.  The engine only waits for what
:meth:`Pump.wants` names and asks the pump to step.  This class moves bytes
through a userspace buffer (conversions, dumps, datagrams); the zero-copy
movers in :mod:`.zerocopy` are subclasses the session picks instead.
"""

from __future__ import annotations

import errno
import select

from ..errors import SocatError
from . import log
from .config import Config
from .dump import Dumper
from .endpoint import Endpoint
from .pumpstate import ENDED, TRANSITIONS, Event, State, advance

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
        self.size = cfg.bufsize
        self.view: memoryview | None = None  # the buffer, made at the first read
        self.thrifty = False  # many sessions: keep no buffer while idle (see economize)
        self.last_read = 0
        self.state = State.READING
        self.pending: memoryview | None = None  # bytes read and not yet written
        self.moved = 0
        self.left = src.rconv.readbytes
        self.poll_at: float | None = None  # POLLING: when to read again
        self.dumper = dumper
        self.datagram = src.datagram or dst.datagram
        self.chatty = log.current().enabled("I")

    def economize(self) -> None:
        """One of many sessions: give the buffer back after each message, hold nothing while idle."""
        self.thrifty = True

    # -- state -------------------------------------------------------------------------------
    @property
    def eof(self) -> bool:
        """The source has ended."""
        return self.state in ENDED

    @property
    def done(self) -> bool:
        """EOF was passed on: this direction is over."""
        return self.state is State.DONE

    def go(self, event: Event) -> None:
        """Take the table's transition for ``event``; entering DONE half-closes the destination."""
        new = TRANSITIONS.get((self.state, event)) or advance(self.state, event)
        self.state = new
        if new is State.DONE:
            self.on_done()

    def on_done(self) -> None:
        """Pass EOF on (and release what the mover holds)."""
        self.dst.shutdown_write()

    def holding(self) -> bool:
        """Whether bytes read are still waiting for the destination."""
        return self.pending is not None

    def wants(self) -> tuple[int | None, int, bool]:
        """(fd, selector event, pollable) this pump waits on, or (None, 0, True) when done."""
        state = self.state
        if state is State.READING or state is State.POLLING:
            return self.src.rfd, READ, self.src.r_pollable
        if state is State.DONE:
            return None, 0, True
        return self.dst.wfd, WRITE, self.dst.w_pollable

    def steady(self) -> bool:
        """True while the pump only waits for its source to become readable.

        READING (nothing held, no EOF, no poll timer), and nothing already buffered
        above the descriptor (a TLS session's complete records) that epoll cannot see.
        """
        return self.state is State.READING and self.src.r_pollable

    # -- steps ---------------------------------------------------------------------------------
    def step_read(self, now: float) -> bool:
        """Read once and try to write it; True when bytes moved or the state changed."""
        size = self.size if self.left is None else min(self.size, self.left)
        if size == 0:
            return self.at_eof()
        view = self.view
        if view is None:
            view = self.view = memoryview(bytearray(self.size))
        try:
            n = self.src.read_into(view[:size])
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            if exc.errno == errno.EIO and self.src.rconv.ignoreeof is False and not self.src.datagram:
                # a pty whose slave side closed reads EIO: that is its EOF
                return self.at_eof()
            raise _io_error("read", self.src.rfd, size, exc) from None
        if n == 0 and (not self.src.datagram or self.src.rconv.null_eof):
            return self.nothing_read(now)
        self.poll_at = None
        self.last_read = n
        data: bytes | memoryview = view[:n]
        if self.left is not None:
            self.left -= n
        escaped = False
        if not (self.src.rconv.transparent and self.dst.wconv.transparent):
            data, escaped = self._convert(data)
        if self.dumper.active:
            self.dumper.record(self.tag, bytes(data), self.moved)
        self.moved += len(data)
        if self.chatty:
            log.info(f"transferred {len(data)} bytes from {self.src.rfd} to {self.dst.wfd}")
        self.pending = memoryview(data) if not isinstance(data, memoryview) else data
        sent = self._flush()
        self.go(Event.MOVED if sent is Event.SENT else sent or Event.HELD)
        if self.thrifty and sent is Event.SENT:
            self.view = None  # idle sessions hold no buffer
        if escaped or self.left == 0:
            self.at_eof(notice=not escaped)
        return True

    def _convert(self, data: bytes | memoryview) -> tuple[bytes, bool]:
        """Line-end conversions and the escape character; (bytes, whether the escape was seen)."""
        rc, wc = self.src.rconv, self.dst.wconv
        out = bytes(data)
        escaped = False
        if rc.escape is not None:
            cut = out.find(bytes((rc.escape,)))
            if cut >= 0:
                out = out[:cut]
                escaped = True
        if rc.crlf:
            out = out.replace(b"\r\n", b"\n")
        elif rc.cr:
            out = out.replace(b"\r", b"\n")
        if wc.crlf:
            out = out.replace(b"\n", b"\r\n")
        elif wc.cr:
            out = out.replace(b"\n", b"\r")
        return out, escaped

    def _flush(self) -> Event | None:
        """Write held bytes once: SENT when none are left, HELD when some are, DROPPED, or None (blocked)."""
        assert self.pending is not None
        try:
            n = self.dst.write(self.pending)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as exc:
            return self.write_failed(exc, len(self.pending))
        if n >= len(self.pending) or self.datagram:
            self.pending = None
            return Event.SENT
        self.pending = self.pending[n:]
        return Event.HELD

    def step_write(self) -> bool:
        """Write held bytes once; True when some were written (or the state changed)."""
        if self.pending is None:
            return False
        before = len(self.pending)
        event = self._flush()
        if event is None:
            return False
        if event is not Event.HELD:
            self.go(event)
        return event is not Event.HELD or len(self.pending or b"") < before

    def nothing_read(self, now: float) -> bool:
        """A read returned 0: EOF, or with ignoreeof a poll again a little later."""
        if self.src.rconv.ignoreeof:
            self.poll_at = now + IGNOREEOF_POLL
            self.go(Event.EMPTY)
            return False
        return self.at_eof()

    def write_failed(self, exc: OSError, size: int) -> Event:
        """A write error ends the run, unless cool-write makes EPIPE/ECONNRESET quiet (DROPPED)."""
        if exc.errno in (errno.EPIPE, errno.ECONNRESET) and self.dst.wconv.cool_write:
            log.notice(f"write({self.dst.wfd}, 0x0, {size}): {exc.strerror}")
            self.drop()
            return Event.DROPPED
        raise _io_error("write", self.dst.wfd, size, exc) from None

    def drop(self) -> None:
        """Forget what is held (the destination is gone)."""
        self.pending = None

    def at_eof(self, notice: bool = True) -> bool:
        """The source ended: DONE at once, or FLUSHING while bytes are still held."""
        if self.state in ENDED:
            return True
        if notice:
            log.notice(f"socket {self.index} (fd {self.src.rfd}) is at EOF")
        self.go(Event.EOF)
        if self.state is State.FLUSHING and not self.holding():
            self.go(Event.SENT)
        return True
