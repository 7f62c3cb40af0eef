"""Bounded, deadline-limited reads and writes for proxy handshakes.

A proxy or SOCKS server's reply is untrusted input: every read here has a size
limit and a deadline, never reads past what the protocol step needs (tunnelled
data that follows the reply stays in the socket for the relay), and ends with a
:class:`SocatError` naming ``what`` on EOF, overflow or timeout.
"""

from __future__ import annotations

import select
import socket
import time

from ..errors import SocatError

DEFAULT_TIMEOUT = 60.0  # seconds a proxy may take to answer when no connect-timeout is set


class Bounded:
    """One handshake over a connected socket, with one deadline for all of it."""

    def __init__(self, sock: socket.socket, what: str, timeout: float | None) -> None:
        self.sock = sock
        self.what = what
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.deadline = time.monotonic() + self.timeout
        sock.setblocking(False)

    def _wait(self, events: int) -> None:
        poller = select.poll()
        poller.register(self.sock.fileno(), events)
        while True:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise SocatError(f"{self.what}: no reply within {self.timeout:g} seconds")
            if poller.poll(min(left * 1000, 2**31 - 1)):
                return

    def send(self, data: bytes) -> None:
        """Send all of ``data`` before the deadline."""
        view = memoryview(data)
        while view:
            try:
                n = self.sock.send(view)
            except (BlockingIOError, InterruptedError):
                self._wait(select.POLLOUT)
                continue
            except OSError as exc:
                raise SocatError(f"{self.what}: send(): {exc.strerror or exc}") from None
            view = view[n:]

    def _recv(self, size: int, flags: int = 0) -> bytes:
        while True:
            try:
                return self.sock.recv(size, flags)
            except (BlockingIOError, InterruptedError):
                self._wait(select.POLLIN)
            except OSError as exc:
                raise SocatError(f"{self.what}: recv(): {exc.strerror or exc}") from None

    def exact(self, size: int, part: str = "reply") -> bytes:
        """Exactly ``size`` bytes, or an error for a truncated reply."""
        got = bytearray()
        while len(got) < size:
            data = self._recv(size - len(got))
            if not data:
                raise SocatError(f"{self.what}: connection closed by the server after {len(got)} of {size} bytes of its {part}")
            got += data
        return bytes(got)

    def line(self, limit: int) -> bytes:
        """One line up to and including LF (at most ``limit`` bytes), read no further."""
        got = bytearray()
        while True:
            peek = self._recv(limit - len(got), socket.MSG_PEEK)
            if not peek:
                raise SocatError(f"{self.what}: connection closed by the server in the middle of its reply")
            cut = peek.find(b"\n")
            take = len(peek) if cut < 0 else cut + 1
            got += self.exact(take)
            if cut >= 0:
                return bytes(got)
            if len(got) >= limit:
                raise SocatError(f"{self.what}: reply line longer than {limit} bytes")


def shown(data: bytes, limit: int = 80) -> str:
    """Untrusted bytes as a printable, short, one-line text for a log message."""
    text = data[:limit].decode("latin-1")
    out = "".join(ch if " " <= ch <= "~" else f"\\x{ord(ch):02x}" for ch in text)
    return out + ("..." if len(data) > limit else "")
