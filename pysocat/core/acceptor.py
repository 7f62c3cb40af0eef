"""A listening address, opened: it waits for peers and makes an endpoint per peer.

Listening openers (TCP-LISTEN, UNIX-LISTEN, SOCKET-LISTEN, OPENSSL-LISTEN, ...)
return an :class:`Acceptor` instead of an endpoint; :mod:`.serve` decides how
peers are served (one, a process each, workers ahead of demand, or all in this
process).  Accepting is split in two, because with ``fork`` the two halves run
in different processes:

- :meth:`Acceptor.accept` (the listening process): take a connection and screen
  it (range, sourceport, lowport, tcpwrap, the ACCEPT-phase options);
- :meth:`Acceptor.open_peer` (the process that serves it): export ``SOCAT_PEER*``
  and build the endpoint, including slow per-peer work such as a TLS handshake.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import Any, NamedTuple

from ..options import OptionSet
from . import log
from .admission import PeerCheck, admit, set_env
from .context import OpenContext
from .endpoint import Endpoint

Ancillary = list[tuple[int, int, bytes]]


class Peer(NamedTuple):
    """An admitted peer: the socket that serves it (never the listening one) and its address.

    A datagram peer also brings the datagrams already read from it and their
    ancillary data (``packets``, ``anc``).
    """

    conn: socket.socket
    address: Any
    packets: tuple[bytes, ...] = ()
    anc: Ancillary = []


MakeEndpoint = Callable[[OpenContext, Peer], Endpoint]
Then = Callable[[OpenContext, Endpoint], Endpoint]


class Acceptor:
    """A listening stream socket with its admission rules and per-peer endpoint recipe.

    :class:`pysocat.dgram.DatagramAcceptor` is the datagram twin: its first
    packet from a peer makes the peer.
    """

    preforkable = True  # workers may block in accept() on the shared socket (streams only)

    def __init__(self, sock: socket.socket, opts: OptionSet, check: PeerCheck, make: MakeEndpoint,
                 cleanups: list[Callable[[], None]] | None = None) -> None:
        self.sock = sock
        self.opts = opts
        self.check = check
        self.make = make
        self.steps: list[Then] = []  # per-peer layers added on top (TLS)
        self.cleanups = cleanups if cleanups is not None else []
        self.fork = bool(opts.get("fork", False))
        self.concurrent = bool(opts.get("concurrent", False))
        self.max_children: int | None = opts.get("max-children")
        self.timeout: float | None = opts.get("accept-timeout")
        self.bound: Any = sock.getsockname()  # the real port of a ``:0`` listener
        self.closed = False
        self.listening = True
        self.drained = False  # the last accept() found nobody waiting
        self.exhausted = False  # the last accept() failed for want of descriptors or memory
        self.patient = True  # a refused peer may be drained for a moment (False when a loop serves others)
        sock.setblocking(False)

    def then(self, step: Then) -> Acceptor:
        """Add a layer that every peer's endpoint passes through (e.g. a TLS handshake)."""
        self.steps.append(step)
        return self

    def fileno(self) -> int:
        """The listening descriptor (wait for it to be readable)."""
        return self.sock.fileno()

    def accept(self) -> Peer | None:
        """Take one waiting connection and screen it; None if none was waiting or it was refused."""
        taken = self.take("accept", self.sock.accept)
        if taken is None:
            return None
        conn, peer = taken
        return Peer(conn, peer) if self.admit(conn, peer) else None

    def take(self, call: str, receive: Callable[[], Any]) -> Any:
        """``receive()`` on the non-blocking listening socket; None (with ``drained``/``exhausted``
        set, and a W line for a real failure) when it gave nothing."""
        self.drained = self.exhausted = False
        try:
            return receive()
        except BlockingIOError:
            self.drained = True
        except InterruptedError:
            pass
        except OSError as exc:
            log.warn(f"{call}({self.sock.fileno()}): {exc.strerror}")
            self.exhausted = exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
        return None

    def admit(self, conn: socket.socket, peer: Any) -> bool:
        """Screen a connection accepted elsewhere (a prefork worker's blocking accept)."""
        return admit(conn, peer, self.opts, self.check, self.patient)

    def open_peer(self, ctx: OpenContext, peer: Peer) -> Endpoint:
        """The endpoint for an admitted peer, with its SOCAT_PEER* variables exported."""
        self.export(ctx, peer)
        ep = self.make(ctx, peer)
        for step in self.steps:
            ep = step(ctx, ep)
        return ep

    def export(self, ctx: OpenContext, peer: Peer) -> None:
        """SOCAT_PEERADDR/PEERPORT/SOCKADDR/SOCKPORT for programs this peer's session starts."""
        set_env(ctx.rt, peer.conn, peer.address)

    def release(self, peer: Peer) -> None:
        """In the process that serves ``peer`` alone: the listening socket is not needed there."""
        self.stop_listening()

    def stop_listening(self) -> None:
        """Close the listening socket (no more peers); cleanups wait for :meth:`close`."""
        self.listening = False
        self.sock.close()

    def close(self) -> None:
        """Stop listening and run the cleanups (unlink-close)."""
        if self.closed:
            return
        self.closed = True
        self.stop_listening()
        for cleanup in self.cleanups:
            try:
                cleanup()
            except OSError:
                pass
