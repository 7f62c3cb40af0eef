"""The endpoint contract: readable/writable descriptors with half-close.

An endpoint owns up to two descriptors (``rfd`` for reading, ``wfd`` for writing;
often the same).  The engine reads into its own buffer with :meth:`read_into`,
writes with :meth:`write`, propagates EOF with :meth:`shutdown_write` and ends
with :meth:`close`.  Behaviour that differs per kind lives here, not in the engine.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable
from enum import Enum
from typing import Any

STDIO_FDS = (0, 1, 2)


class Shut(Enum):
    """What half-close does to the writing side."""

    AUTO = "auto"
    NONE = "none"
    DOWN = "down"
    CLOSE = "close"
    NULL = "null"
    END_CLOSE = "end-close"  # shared with other processes: no shutdown, no kill; just close at the end


class Connecting:
    """A connect() the session completes: wait for the socket to be writable, then ``finish(errno)``
    (which raises SocatError for a failed connect), within ``deadline`` (monotonic, or None)."""

    def __init__(self, deadline: float | None, finish: Callable[[int], None]) -> None:
        self.deadline = deadline
        self.finish = finish


class Conversions:
    """Per-address stream options the engine honours."""

    def __init__(
        self,
        crlf: bool = False,
        cr: bool = False,
        escape: int | None = None,
        readbytes: int | None = None,
        ignoreeof: bool = False,
        shut: Shut = Shut.AUTO,
        cool_write: bool = False,
        null_eof: bool = False,
    ) -> None:
        self.crlf = crlf
        self.cr = cr
        self.escape = escape
        self.readbytes = readbytes
        self.ignoreeof = ignoreeof
        self.shut = shut
        self.cool_write = cool_write
        self.null_eof = null_eof

    def copy(self) -> Conversions:
        """An independent copy (an endpoint may change its own)."""
        clone = Conversions.__new__(Conversions)
        clone.__dict__.update(self.__dict__)
        return clone

    @classmethod
    def from_options(cls, opts: Any) -> Conversions:
        """Take the APPL options out of an OptionSet."""
        shut = Shut.AUTO
        for name, value in (
            ("shut-none", Shut.NONE), ("shut-down", Shut.DOWN), ("shut-close", Shut.CLOSE), ("end-close", Shut.END_CLOSE),
            ("shut-null", Shut.NULL)
        ):
            if opts.get(name):
                shut = value
        return cls(
            crlf=bool(opts.get("crlf")),
            cr=bool(opts.get("cr")),
            escape=opts.get("escape"),
            readbytes=opts.get("readbytes"),
            ignoreeof=bool(opts.get("ignoreeof")),
            shut=shut,
            cool_write=bool(opts.get("cool-write")),
            null_eof=bool(opts.get("null-eof")),
        )

    @property
    def transparent(self) -> bool:
        """True when bytes pass unchanged (a zero-copy path may be taken)."""
        return not (self.crlf or self.cr or self.escape is not None or self.readbytes is not None)


def _is_socket(fd: int) -> bool:
    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        return False


def _pollable(fd: int | None) -> bool:
    if fd is None:
        return True
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return True
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


class Endpoint:
    """One opened address.

    ``r_pollable``/``w_pollable`` tell the engine whether readiness of ``rfd``/``wfd``
    can be waited for; the engine reads them on every pass, so an endpoint that
    buffers data of its own (TLS) may make ``r_pollable`` a property that is False
    while such data is waiting, and the engine then reads at once.
    """

    def __init__(
        self,
        name: str,
        rfd: int | None,
        wfd: int | None,
        sock: socket.socket | None = None,
        datagram: bool = False,
        conv: Conversions | None = None,
        cleanups: list[Callable[[], None]] | None = None,
        keep_fds: tuple[int, ...] = (),
    ) -> None:
        self.name = name
        self.rfd = rfd
        self.wfd = wfd
        self.sock = sock
        self.datagram = datagram
        self.conv = conv if conv is not None else Conversions()
        self.cleanups: list[Callable[[], None]] = cleanups if cleanups is not None else []
        self.keep_fds = keep_fds
        self.closed = False
        self.write_shut = False
        self.zero_copy = True  # False when bytes must pass through userspace (TLS, framing, ...)
        self.failure: int | None = None  # set by close() when the far side failed (exit status to report)
        self.borrowed = False  # library use: standard and kept fds belong to the host, never replaced
        self.connecting: Connecting | None = None  # a non-blocking connect still under way
        self._init_pollable()
        self.rconv = self.conv  # conversions applied to bytes read from here
        self.wconv = self.conv  # conversions applied to bytes written here

    def _init_pollable(self) -> None:
        if self.sock is not None:  # a socket: always pollable, no fstat needed
            self.r_pollable = self.w_pollable = True
            return
        self.r_pollable = _pollable(self.rfd)
        self.w_pollable = _pollable(self.wfd)

    def is_fifo(self, fd: int | None) -> bool:
        """Whether ``fd`` (one of ours) is a pipe or FIFO (a socket endpoint never is)."""
        if fd is None or self.sock is not None:
            return False
        try:
            return stat.S_ISFIFO(os.fstat(fd).st_mode)
        except OSError:
            return False

    # -- data ------------------------------------------------------------------
    def read_into(self, buf: memoryview) -> int:
        """Read once into ``buf``; 0 means EOF; raises BlockingIOError when empty."""
        assert self.rfd is not None
        return os.readv(self.rfd, [buf])

    def write(self, data: memoryview | bytes) -> int:
        """Write once; returns bytes written; raises BlockingIOError when full."""
        assert self.wfd is not None
        return os.write(self.wfd, data)

    # -- closing ---------------------------------------------------------------
    def shutdown_write(self) -> None:
        """Propagate EOF to the peer of this endpoint (idempotent)."""
        if self.write_shut or self.wfd is None:
            return
        self.write_shut = True
        shut = self.conv.shut
        if shut in (Shut.NONE, Shut.END_CLOSE):
            return
        if shut is Shut.NULL:  # an empty packet tells a datagram peer about EOF
            try:
                os.write(self.wfd, b"")
            except OSError:
                pass
            return
        if shut in (Shut.AUTO, Shut.DOWN) and (self.sock is not None or _is_socket(self.wfd)):
            sock = self.sock if self.sock is not None else socket.socket(fileno=self.wfd)
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            finally:
                if sock is not self.sock:
                    sock.detach()
            return
        if shut is Shut.CLOSE or self.wfd != self.rfd:
            self._release(self.wfd)
            if self.wfd == self.rfd:
                self.rfd = None
            self.wfd = None

    def _release(self, fd: int) -> None:
        """Close ``fd``; standard fds are pointed at /dev/null instead (left alone in a host program)."""
        if fd in STDIO_FDS or fd in self.keep_fds:
            if self.borrowed:
                return
            try:
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, fd)
                os.close(null)
            except OSError:
                pass
            return
        try:
            os.close(fd)
        except OSError:
            pass

    def close_may_wait(self) -> bool:
        """Whether close() may block (a program still running that it must reap)."""
        return False

    def close(self) -> None:
        """Close every descriptor and run cleanups (unlink-close, locks)."""
        if self.closed:
            return
        self.closed = True
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.rfd = self.wfd = None
        for fd in {self.rfd, self.wfd} - {None}:
            assert fd is not None
            if fd not in STDIO_FDS and fd not in self.keep_fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
        for cleanup in self.cleanups:
            try:
                cleanup()
            except OSError:
                pass


class SessionEndpoint(Endpoint):
    """An endpoint whose bytes pass through a session that may hold input of its own
    (TLS, DTLS): while ``session.buffered()``, the engine reads at once instead of
    waiting for the socket."""

    session: Any = None

    @property
    def r_pollable(self) -> bool:
        return self._r_pollable and not (self.session is not None and self.session.buffered())

    @r_pollable.setter
    def r_pollable(self, value: bool) -> None:
        self._r_pollable = value


def dual(reader: Endpoint, writer: Endpoint) -> Endpoint:
    """``a!!b``: an endpoint reading from ``reader`` and writing to ``writer``."""

    class Dual(Endpoint):
        def read_into(self, buf: memoryview) -> int:
            return reader.read_into(buf)

        def write(self, data: memoryview | bytes) -> int:
            return writer.write(data)

        def _init_pollable(self) -> None:
            pass  # the parts already know (and may have set it for buffered data)

        @property
        def r_pollable(self) -> bool:
            return reader.r_pollable

        @r_pollable.setter
        def r_pollable(self, value: bool) -> None:
            reader.r_pollable = value

        @property
        def w_pollable(self) -> bool:
            return writer.w_pollable

        @w_pollable.setter
        def w_pollable(self, value: bool) -> None:
            writer.w_pollable = value

        def shutdown_write(self) -> None:
            writer.shutdown_write()

        def close(self) -> None:
            reader.close()
            writer.close()

    ep = Dual(
        name=f"{reader.name}!!{writer.name}",
        rfd=reader.rfd,
        wfd=writer.wfd,
        datagram=reader.datagram or writer.datagram,
    )
    ep.rconv, ep.wconv = reader.rconv, writer.wconv
    ep.zero_copy = reader.zero_copy and writer.zero_copy
    return ep
