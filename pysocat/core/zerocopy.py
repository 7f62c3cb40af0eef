"""Zero-copy direction: splice() through a private pipe, for stream -> stream.

Taken when nothing needs to see the bytes (no dumps, no conversions, no
readbytes/escape) and neither side is a datagram socket.  The private pipe is
the direction's one buffer (``CHUNK`` bytes, raised with F_SETPIPE_SZ).  If the
kernel refuses splice for these descriptors (EINVAL and friends) before any byte
moved, the direction falls back to the userspace copy for good.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from typing import Any

from .endpoint import Endpoint
from .pump import Pump, _io_error
from .pumpstate import Event, State

CHUNK = 1 << 20  # bytes the private pipe holds on a bulk stream (F_SETPIPE_SZ; may be capped by the kernel)
START = 1 << 16  # a new pipe's default size: short connections never pay for a big one
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
SPLICE_FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK if hasattr(os, "splice") else 0
_FALLBACK = {errno.EINVAL, errno.ENOSYS, errno.EBADF, errno.ESPIPE, errno.EOPNOTSUPP, errno.EXDEV}


class SplicePump(Pump):
    """A Pump whose buffer is a kernel pipe; falls back to userspace on refusal."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pr = self.pw = -1  # the private pipe, made at the first read: an idle session holds no pipe
        self.capacity = START  # grown to CHUNK once a read fills the pipe (bulk stream)
        self.inpipe = 0
        self.grown = False
        self.spliced = False
        self.out_spliced = False
        self.userspace = False
        self.copy_first = False  # economize(): userspace until the stream proves bulky

    def holding(self) -> bool:
        return super().holding() if self.userspace else self.inpipe > 0

    def economize(self) -> None:
        """Copy in userspace (no pipe, no buffer kept) until a read fills the buffer: then splice."""
        super().economize()
        self.userspace = self.copy_first = True

    def step_read(self, now: float) -> bool:
        if self.userspace:
            moved = super().step_read(now)
            if self.copy_first and not self.spliced and self.last_read >= self.size and self.pending is None:
                self.userspace = self.copy_first = False  # a bulk stream: splice from the next read
            return moved
        assert self.src.rfd is not None
        if self.pw < 0:
            try:
                self.pr, self.pw = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as exc:
                raise _io_error("pipe", None, 0, exc) from None
        try:
            n = os.splice(self.src.rfd, self.pw, self.capacity - self.inpipe, None, None, SPLICE_FLAGS)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            if exc.errno in _FALLBACK and not self.spliced:
                self._fall_back()
                return super().step_read(now)
            raise _io_error("read", self.src.rfd, self.capacity, exc) from None
        if n == 0:
            return self.nothing_read(now)
        self.poll_at = None
        self.spliced = True
        self.inpipe += n
        self.moved += n
        if self.inpipe >= self.capacity and not self.grown:
            self._grow()
        event = self._flush_pipe()
        if event is None or event is Event.HELD:
            self.go(Event.HELD)
        else:
            self.go(Event.MOVED if event is Event.SENT else event)
        return True

    def _flush_pipe(self) -> Event | None:
        """Splice the pipe's bytes on once: SENT, HELD, DROPPED, None (blocked), or a fallback's event."""
        assert self.dst.wfd is not None
        try:
            n = os.splice(self.pr, self.dst.wfd, self.inpipe, None, None, SPLICE_FLAGS)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as exc:
            if exc.errno in _FALLBACK and not self.out_spliced:
                # the destination refuses splice: copy what is in the pipe, then go userspace
                return self._drain_to_userspace()
            size, self.inpipe = self.inpipe, 0
            return self.write_failed(exc, size)
        self.inpipe -= n
        self.out_spliced = True
        return Event.HELD if self.inpipe else Event.SENT

    def step_write(self) -> bool:
        if self.userspace:
            return super().step_write()
        if not self.inpipe:
            return False
        before = self.inpipe
        event = self._flush_pipe()
        if event is None:
            return False
        if event is not Event.HELD:
            self.go(event)
        return event is not Event.HELD or self.inpipe < before

    def _grow(self) -> None:
        self.grown = True
        try:
            self.capacity = fcntl.fcntl(self.pw, F_SETPIPE_SZ, CHUNK)
        except OSError:
            pass  # capped by pipe-max-size: keep the default size

    def _fall_back(self) -> None:
        self.userspace = True
        self.copy_first = False
        self._close_pipe()

    def _drain_to_userspace(self) -> Event | None:
        data = b""
        while self.inpipe:
            chunk = os.read(self.pr, self.inpipe)
            if not chunk:
                break
            data += chunk
            self.inpipe -= len(chunk)
        self.inpipe = 0
        self.userspace = True
        self._close_pipe()
        if not data:
            return Event.SENT
        self.pending = memoryview(data)
        return self._flush()

    def drop(self) -> None:
        super().drop()
        self.inpipe = 0

    def _close_pipe(self) -> None:
        for fd in (self.pr, self.pw):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.pr = self.pw = -1

    def on_done(self) -> None:
        self._close_pipe()
        super().on_done()


class DirectSplicePump(Pump):
    """One side is itself a pipe: one splice() per move, no private pipe, nothing held.

    The pump waits for the source to be readable (READING); when splice() would
    block there the destination must be full, so it waits for that instead
    (WRITING, nothing held) and back again once it was writable.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spliced = False
        self.userspace = False
        self.src_is_pipe = self.src.is_fifo(self.src.rfd)
        for ep, fd in ((self.src, self.src.rfd), (self.dst, self.dst.wfd)):  # a bigger pipe: fewer wake-ups
            if fd is not None and ep.is_fifo(fd):
                try:
                    fcntl.fcntl(fd, F_SETPIPE_SZ, CHUNK)
                except OSError:
                    pass

    def step_read(self, now: float) -> bool:
        if self.userspace:
            return super().step_read(now)
        return self._move(now)

    def step_write(self) -> bool:
        if self.userspace:
            return super().step_write()
        return self._move(time.monotonic())

    def _move(self, now: float) -> bool:
        assert self.src.rfd is not None and self.dst.wfd is not None
        waiting_dst = self.state is State.WRITING
        try:
            n = os.splice(self.src.rfd, self.dst.wfd, CHUNK, None, None, SPLICE_FLAGS)
        except (BlockingIOError, InterruptedError):
            # waiting for the source: the destination is full; waiting for it: the source is empty
            self.go(Event.SENT if waiting_dst else Event.FULL)
            return False
        except OSError as exc:
            if exc.errno in _FALLBACK and not self.spliced:
                self.userspace = True
                if waiting_dst:
                    self.go(Event.SENT)
                    return False
                return super().step_read(now)
            if exc.errno == errno.EPIPE or self.src_is_pipe:
                self.go(self.write_failed(exc, CHUNK))
                return True
            raise _io_error("read", self.src.rfd, CHUNK, exc) from None
        if n == 0:
            return self.nothing_read(now)
        self.poll_at = None
        self.spliced = True
        self.moved += n
        self.go(Event.MOVED)
        return True


def make_pump(src: Endpoint, dst: Endpoint, *args: Any) -> Pump:
    """The zero-copy pump for this pair: direct when one side is a pipe, else via a private pipe."""
    if src.is_fifo(src.rfd) or dst.is_fifo(dst.wfd):
        return DirectSplicePump(src, dst, *args)
    return SplicePump(src, dst, *args)


AVAILABLE = hasattr(os, "splice")  # the session picks these movers only where the kernel has splice()
