"""One direction of a session: read from a source into a buffer, write it to a destination.

A :class:`Pump` holds at most one buffer; its state is ``pending`` (bytes read,
not yet written), ``eof`` (the source ended) and ``done`` (EOF passed on as a
half-close).  The engine only waits for what :meth:`Pump.wants` names and asks
the pump to step.  The zero-copy movers (:mod:`.zerocopy`) are Pumps too.
"""

from __future__ import annotations

import errno
import select

from .. import log
from ..config import Config
from ..dump import Dumper
from ..errors import SocatError
from .endpoint import Endpoint

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
        self.chatty = log.current().enabled("I")

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
