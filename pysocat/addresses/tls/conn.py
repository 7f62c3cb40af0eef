"""A TLS connection over a non-blocking socket, driven through memory BIOs.

The standard library's ``ssl.SSLObject`` does the protocol; this module moves the
raw bytes itself so that pysocat decides exactly when records are read:

* incoming ciphertext is handed to OpenSSL **one record at a time**, so no
  unprocessed record ever sits inside OpenSSL when we send close_notify (the
  second ``SSL_shutdown`` call made by ``unwrap()`` would otherwise read and
  silently drop application data that is in flight: that is why a plain
  ``SSLSocket.unwrap()`` is not used for half-close);
* outgoing ciphertext that the socket did not take is kept here, and the
  plaintext it stands for is reported as written only once it is all sent.

Reads and writes never block; they raise :class:`BlockingIOError` when they
need the socket to become ready.  :meth:`TLSConn.buffered` tells the engine
that decrypted (or complete undecrypted) data is waiting although the socket
itself may not be readable.
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import time
from typing import cast

from ...errors import SocatError

RECORD_HEADER = 5
RECV_CHUNK = 65536
PLAIN_CHUNK = 16384  # one TLS record's worth of plaintext per write


_PLAIN = {"PEM lib": "not a PEM certificate or key"}


def describe(exc: BaseException) -> str:
    """A one-line reason for a TLS failure, naming what went wrong."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = exc.verify_message or "unknown reason"
        return f"certificate verify failed: {why}"
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None)
        if reason:
            return str(reason).lower().replace("_", " ")
        text = str(exc.args[1] if len(exc.args) > 1 else exc)
        text = re.sub(r"^\[\w+\]\s*|\s*\(_ssl\.c:\d+\)$", "", text)  # Python's "[SSL] ... (_ssl.c:N)" wrapping
        return _PLAIN.get(text, text)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


class TLSConn:
    """One TLS session on a connected, non-blocking socket."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, server: bool, sni: str | None) -> None:
        self.sock = sock
        self.server = server
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.incoming, self.outgoing, server_side=server, server_hostname=sni)
        self.raw_in = bytearray()  # received ciphertext not yet handed to OpenSSL
        self.raw_eof = False
        self.out = bytearray()  # ciphertext not yet taken by the socket
        self.owed = 0  # plaintext bytes that ``out`` stands for, reported once sent
        self.sent_close = False
        self.peer_closed = False

    @property
    def what(self) -> str:
        return "SSL_accept()" if self.server else "SSL_connect()"

    # -- raw ciphertext ----------------------------------------------------------------
    def _record_end(self) -> int:
        """Length of the first complete record in ``raw_in``, or 0."""
        if len(self.raw_in) < RECORD_HEADER:
            return 0
        end = RECORD_HEADER + int.from_bytes(self.raw_in[3:5], "big")
        return end if len(self.raw_in) >= end else 0

    def _feed(self) -> bool:
        """Hand one more record (or EOF) to OpenSSL; False when the socket has nothing."""
        end = self._record_end()
        if not end:
            if self.raw_eof:
                return False
            try:
                data = self.sock.recv(RECV_CHUNK)
            except (BlockingIOError, InterruptedError):
                return False
            if not data:
                self.raw_eof = True
                if self.raw_in:  # a truncated record: let OpenSSL see it, then EOF
                    self.incoming.write(bytes(self.raw_in))
                    self.raw_in.clear()
                self.incoming.write_eof()
                return True
            self.raw_in += data
            end = self._record_end()
            if not end:
                return True  # a partial record; the rest arrives later
        self.incoming.write(bytes(self.raw_in[:end]))
        del self.raw_in[:end]
        return True

    def _collect(self) -> None:
        if self.outgoing.pending:
            self.out += self.outgoing.read()

    def flush(self) -> bool:
        """Send what we can of ``out``; True when it is all gone."""
        self._collect()
        while self.out:
            try:
                n = self.sock.send(self.out)
            except (BlockingIOError, InterruptedError):
                return False
            del self.out[:n]  # other errors (EPIPE, ECONNRESET) go to the engine as for TCP
        return True

    def flush_wait(self, deadline: float | None) -> None:
        """Flush, waiting for the socket (bounded by ``deadline``)."""
        while not self.flush():
            self._wait(select.POLLOUT, deadline)

    def _wait(self, events: int, deadline: float | None) -> None:
        poller = select.poll()
        poller.register(self.sock.fileno(), events)
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise TimeoutError
        if not poller.poll(None if left is None else left * 1000):
            raise TimeoutError

    # -- handshake ---------------------------------------------------------------------
    def handshake(self, timeout: float | None) -> None:
        """Complete the handshake within ``timeout`` seconds (None: no bound)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                try:
                    self.obj.do_handshake()
                    self.flush_wait(deadline)
                    return
                except ssl.SSLWantReadError:
                    self.flush_wait(deadline)
                    while not self._feed():
                        self._wait(select.POLLIN, deadline)
        except TimeoutError:
            raise SocatError(f"{self.what}: handshake timed out after {timeout} seconds") from None
        except ssl.SSLEOFError:
            raise SocatError(f"{self.what}: connection closed by peer during handshake") from None
        except (ssl.SSLError, ssl.CertificateError) as exc:
            self._send_alert()
            self.drain()  # so closing sends FIN after the alert, not a reset that may hide it
            raise SocatError(f"{self.what}: {describe(exc)}") from None
        except OSError as exc:
            raise SocatError(f"{self.what}: {exc.strerror or exc}") from None

    def _send_alert(self) -> None:
        """Best effort: let the peer see the alert OpenSSL produced."""
        try:
            self.flush()
        except OSError:
            pass

    # -- data ----------------------------------------------------------------------------
    def buffered(self) -> bool:
        """Data can be read without the socket becoming readable."""
        return self.peer_closed or self.obj.pending() > 0 or self._record_end() > 0

    def read_into(self, buf: memoryview) -> int:
        """Decrypt into ``buf``; 0 at EOF; BlockingIOError when nothing is there."""
        total, size = 0, len(buf)
        while total < size:
            try:
                n: int = cast(int, self.obj.read(size - total, buf[total:]))  # with a buffer: a count
            except ssl.SSLWantReadError:
                self._collect()
                if not self._feed():
                    break
                continue
            except ssl.SSLZeroReturnError:
                n = 0
            except ssl.SSLEOFError:
                n = 0  # the peer closed TCP without close_notify (a "ragged" EOF)
            except ssl.SSLError as exc:
                self._send_alert()
                raise SocatError(f"SSL_read(): {describe(exc)}") from None
            if n == 0:
                self.peer_closed = True
                break
            total += n
        if self.out or self.outgoing.pending:
            self.flush()  # e.g. a KeyUpdate answer produced while reading
        if total == 0 and not self.peer_closed:
            raise BlockingIOError
        return total

    def write(self, data: memoryview | bytes) -> int:
        """Encrypt and send; the count is reported once its ciphertext is all sent."""
        if self.out or self.outgoing.pending or self.owed:
            if not self.flush():
                raise BlockingIOError
            if self.owed:  # the same data again: its ciphertext is now all sent
                n, self.owed = self.owed, 0
                return n
        try:
            n = self.obj.write(data[:PLAIN_CHUNK])
        except ssl.SSLError as exc:
            raise SocatError(f"SSL_write(): {describe(exc)}") from None
        if not self.flush():
            self.owed = n
            raise BlockingIOError
        return n

    def drain(self, limit: int = 1 << 20) -> None:
        """Discard unread input (e.g. session tickets) so closing sends FIN, not RST.

        A reset would make the peer drop data it has received but not yet read.
        """
        while limit > 0:
            try:
                data = self.sock.recv(min(limit, RECV_CHUNK))
            except OSError:
                return
            if not data:
                return
            limit -= len(data)

    def close_notify(self, timeout: float) -> None:
        """Send close_notify (once); reading may go on afterwards."""
        if self.sent_close:
            return
        self.sent_close = True
        try:
            self.obj.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass  # close_notify is queued; the peer's answer is read as EOF later
        except (ssl.SSLError, ValueError):
            return
        deadline = time.monotonic() + timeout
        events = select.POLLOUT | select.POLLIN
        try:
            while not self.flush():
                # Keep taking the peer's data while we wait: a peer that cannot send
                # would stop reading, and neither side could move (the data stays
                # buffered in raw_in for the engine to decrypt later).
                self._wait(events, deadline)
                if not events & select.POLLIN:
                    continue
                try:
                    data = self.sock.recv(RECV_CHUNK)
                except (BlockingIOError, InterruptedError):
                    continue
                if data:
                    self.raw_in += data
                else:
                    events = select.POLLOUT  # the peer's EOF is read again later by _feed
        except OSError:  # includes TimeoutError
            pass
