"""Datagram endpoints and the shared steps of datagram addresses (UDP, raw IP, UNIX, generic).

One read is one datagram, one write sends one datagram.  A :class:`DgramEndpoint`
knows where its writes go (``target``: ``None`` for a connected socket, else a
fixed address or the last sender), which senders it accepts, datagrams received
before it was handed over (``initial``), and whether it ends after them
(``oneshot``: the RECVFROM child).  Ancillary data of the first datagram becomes
``SOCAT_IP_*``-style environment variables for EXEC children, as socat does.
"""

from __future__ import annotations

import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ..core import log
from ..core.acceptor import Acceptor, Peer
from ..core.admission import PeerCheck, env_ip
from ..core.context import OpenContext
from ..core.endpoint import Conversions, Endpoint, Shut
from ..options import OptionSet, Phase
from .sockets import sockaddr_text

# Linux numbers the socket module does not always export.
IP_PKTINFO = 8
IP_RECVERR = 11
IP_RECVTTL = 12
SO_TIMESTAMP = 29
IPV6_PKTINFO = 50
IPV6_HOPLIMIT = 52
IPV6_TCLASS = 67

ANC_SIZE = 1024

Packet = tuple[bytes, Any, list[tuple[int, int, bytes]]]  # data, sender, ancillary


class DgramEndpoint(Endpoint):
    """A datagram socket: recvmsg/sendto semantics, one datagram per call."""

    def __init__(
        self,
        *args: Any,
        target: Any = None,
        reply_to_sender: bool = False,
        accept: Callable[[Any], bool] | None = None,
        initial: deque[bytes] | None = None,
        oneshot: bool = False,
        skip_ip: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.target = target  # where writes go; None: the socket is connected
        self.reply_to_sender = reply_to_sender  # writes go to the sender of the last datagram read
        self.accept = accept  # filter on the sender of a datagram read
        self.initial: deque[bytes] = initial if initial is not None else deque()
        self.oneshot = oneshot  # EOF once ``initial`` is read
        self.skip_ip = skip_ip  # raw IPv4: strip the IP header from what is read
        self.chatty = log.current().enabled("I")
        self.rconv = self.conv.copy()  # private: a oneshot EOF flips null_eof
        if self.initial or self.oneshot:
            self.r_pollable = False  # the engine must ask us even when the socket is quiet

    def read_into(self, buf: memoryview) -> int:
        if self.initial:
            data = self.initial.popleft()
            if not self.initial and not self.oneshot:
                self.r_pollable = True
            return self._deliver(buf, data, len(data))
        if self.oneshot:
            self.rconv.null_eof = True
            return 0
        assert self.sock is not None
        while True:
            n, anc, flags, sender = self.sock.recvmsg_into([buf], ANC_SIZE, socket.MSG_TRUNC)
            if anc and self.chatty:
                log_anc(anc)
            if self.accept is not None and sender is not None and not self.accept(sender):
                continue  # the filter logged why; the next datagram may be waiting
            if self.reply_to_sender and sender:
                self.target = sender
            if self.skip_ip:
                return self._strip_ip(buf, min(n, len(buf)))
            if flags & socket.MSG_TRUNC or n > len(buf):
                log.warn(f"datagram of {n} bytes truncated to {len(buf)} bytes (see option -b)")
                return len(buf)
            return n

    def _deliver(self, buf: memoryview, data: bytes, size: int) -> int:
        if self.skip_ip:
            buf[: min(size, len(buf))] = data[: len(buf)]
            return self._strip_ip(buf, min(size, len(buf)))
        if size > len(buf):
            log.warn(f"datagram of {size} bytes truncated to {len(buf)} bytes (see option -b)")
        n = min(size, len(buf))
        buf[:n] = data[:n]
        return n

    @staticmethod
    def _strip_ip(buf: memoryview, n: int) -> int:
        if n == 0 or buf[0] >> 4 != 4:
            return n
        hlen = (buf[0] & 0x0F) * 4
        rest = bytes(buf[hlen:n])
        buf[: len(rest)] = rest
        return len(rest)

    def write(self, data: memoryview | bytes) -> int:
        assert self.sock is not None
        if self.target is None:
            return self.sock.send(data)
        return self.sock.sendto(data, self.target)

    def shutdown_write(self) -> None:
        """A datagram socket has no stream to end; shut-null sends an empty datagram."""
        if self.write_shut or self.wfd is None:
            return
        self.write_shut = True
        if self.conv.shut is Shut.NULL:
            try:
                self.write(b"")
            except OSError:
                pass


def make_endpoint(ctx: OpenContext, sock: socket.socket, opts: OptionSet, **kw: Any) -> DgramEndpoint:
    """Wrap a datagram socket: non-blocking, LATE options applied."""
    sock.setblocking(False)
    fd = sock.fileno()
    opts.apply(Phase.LATE, fd)
    initial = kw.pop("initial", None)
    ep = DgramEndpoint(name=ctx.spec.text, rfd=fd, wfd=fd, sock=sock, datagram=True,
                       conv=Conversions.from_options(opts), initial=deque(initial or ()), **kw)
    return ep


# --- receiving the first datagram ------------------------------------------------------


def recv_packet(sock: socket.socket, bufsize: int, flags: int = 0) -> Packet:
    """One datagram with its sender and ancillary data (bufsize bounds what is kept)."""
    data, anc, _flags, sender = sock.recvmsg(max(bufsize, 1), ANC_SIZE, flags)
    return data, sender, anc


def drain(sock: socket.socket) -> list[Packet]:
    """Every datagram queued on ``sock`` now, without waiting."""
    out: list[Packet] = []
    sock.setblocking(False)
    while True:
        try:
            out.append(recv_packet(sock, 65536))
        except (BlockingIOError, InterruptedError):
            return out
        except OSError:
            return out


def screen(check: PeerCheck, family: int, sender: Any) -> bool:
    """range/sourceport/lowport on a datagram's sender; a W line for a refused one."""
    reason = check(sender)
    if reason is not None:
        log.warn(f"refusing packet from {sockaddr_text(family, sender)} due to {reason} option")
        return False
    return True


def filter_for(check: PeerCheck, family: int) -> Callable[[Any], bool]:
    """An ``accept`` predicate for :class:`DgramEndpoint` from a peer check."""
    return lambda sender: screen(check, family, sender)


def same_host(family: int, target: Any, with_port: bool = True) -> Callable[[Any], bool]:
    """Accept only datagrams from ``target`` (replies of a SENDTO peer)."""

    def check(sender: Any) -> bool:
        if family in (socket.AF_INET, socket.AF_INET6):
            ok = sender[0] == target[0] and (not with_port or sender[1] == target[1])
        else:
            ok = sender == target
        if not ok:
            log.info(f"recvfrom(): ignoring packet from unexpected address {sockaddr_text(family, sender)}")
        return bool(ok)

    return check


# --- serving peers: the first datagram from a sender makes the peer --------------------

Split = Callable[[Packet], tuple[socket.socket, list[bytes]]]


class DatagramAcceptor(Acceptor):
    """A receiving datagram socket (RECVFROM, UDP-LISTEN, DTLS server) as an acceptor.

    RECVFROM peers are answered through a duplicate of the receiving socket
    (their session ends after the one datagram); UDP-LISTEN peers get a
    socket of their own from ``split`` (bound to the same address, connected
    to the peer, with the peer's queued datagrams), so many can be served at once.
    """

    preforkable = False

    def __init__(self, sock: socket.socket, opts: OptionSet, check: PeerCheck, family: int,
                 make: Callable[[OpenContext, Peer], Endpoint], *, split: Split | None = None,
                 cleanups: list[Callable[[], None]] | None = None) -> None:
        super().__init__(sock, opts, check, make, cleanups)
        self.family = family
        self.split = split
        self.pending: deque[Packet] = deque()  # datagrams of other senders read while batching

    def accept(self) -> Peer | None:
        """Read one datagram and screen its sender; the peer it makes, or None."""
        received: Packet | None = (self.pending.popleft() if self.pending
                                   else self.take("recvmsg", lambda: recv_packet(self.sock, 65536)))
        if received is None:
            return None
        packet: Packet = received
        data, sender, anc = packet
        text = sockaddr_text(self.family, sender or "")
        if self.split is None:
            log.notice(f"receiving packet from {text}")
            if not screen(self.check, self.family, sender):
                return None
            return Peer(self.sock.dup(), sender, (data,), anc)
        if not screen(self.check, self.family, sender):
            return None
        log.notice(f"accepting {self.kind_name} connection from {text}")
        conn, batch = self.split(packet)
        return Peer(conn, sender, tuple(batch), anc)

    kind_name = "UDP"

    def export(self, ctx: OpenContext, peer: Peer) -> None:
        packet_env(ctx, peer.anc)
        peer_env(ctx, peer.conn, peer.address)


# --- environment for EXEC children --------------------------------------------------


def _ifname(index: int) -> str:
    try:
        return socket.if_indextoname(index)
    except OSError:
        return str(index)


def _env(ctx: OpenContext, values: dict[str, str]) -> None:
    ctx.rt.export(values)


def anc_items(anc: list[tuple[int, int, bytes]]) -> list[tuple[str, str, str, str]]:
    """Ancillary data as socat names it: (type, name, environment name, value)."""
    out: list[tuple[str, str, str, str]] = []
    for level, kind, data in anc:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(data) >= 12:
            index, spec, dst = struct.unpack("=I4s4s", data[:12])
            out += [("IP_PKTINFO", "if", "IP_IF", _ifname(index)),
                    ("IP_PKTINFO", "locaddr", "IP_LOCADDR", socket.inet_ntoa(spec)),
                    ("IP_PKTINFO", "dstaddr", "IP_DSTADDR", socket.inet_ntoa(dst))]
        elif level == socket.IPPROTO_IP and kind == socket.IP_TTL and data:
            out.append(("IP_TTL", "ttl", "IP_TTL", str(data[0] if len(data) < 4 else struct.unpack("=i", data[:4])[0])))
        elif level == socket.IPPROTO_IP and kind == socket.IP_TOS and data:
            out.append(("IP_TOS", "tos", "IP_TOS", str(data[0])))
        elif level == socket.IPPROTO_IP and kind in (socket.IP_OPTIONS, socket.IP_RECVOPTS):
            out.append(("IP_OPTIONS", "options", "IP_OPTIONS", "x" + data.hex()))
        elif level == socket.SOL_SOCKET and kind == SO_TIMESTAMP and len(data) >= 16:
            sec, usec = struct.unpack("=qq", data[:16])
            out.append(("SCM_TIMESTAMP", "timestamp", "TIMESTAMP", f"{time.ctime(sec)}, {usec:06d} usecs"))
        elif level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO and len(data) >= 20:
            addr = socket.inet_ntop(socket.AF_INET6, data[:16])
            out += [("IPV6_PKTINFO", "dstaddr", "IPV6_DSTADDR", env_ip(addr)),
                    ("IPV6_PKTINFO", "if", "IPV6_IF", _ifname(struct.unpack("=I", data[16:20])[0]))]
        elif level == socket.IPPROTO_IPV6 and kind == IPV6_HOPLIMIT and len(data) >= 4:
            out.append(("IPV6_HOPLIMIT", "hoplimit", "IPV6_HOPLIMIT", str(struct.unpack("=i", data[:4])[0])))
        elif level == socket.IPPROTO_IPV6 and kind == IPV6_TCLASS and len(data) >= 4:
            out.append(("IPV6_TCLASS", "tclass", "IPV6_TCLASS", f"x{struct.unpack('=I', data[:4])[0]:08x}"))
    return out


def log_anc(anc: list[tuple[int, int, bytes]]) -> None:
    """socat's I line per ancillary item: ``ancillary message: IP_TTL: ttl=53``."""
    for typ, name, _env_name, value in anc_items(anc):
        log.info(f"ancillary message: {typ}: {name}={value}")


def packet_env(ctx: OpenContext, anc: list[tuple[int, int, bytes]]) -> None:
    """Ancillary data of a datagram -> SOCAT_IP_DSTADDR, SOCAT_IP_TTL, SOCAT_TIMESTAMP, ..."""
    items = anc_items(anc)
    for typ, name, _env_name, value in items:
        log.info(f"ancillary message: {typ}: {name}={value}")
    _env(ctx, {env_name: value for _t, _n, env_name, value in items})


def peer_env(ctx: OpenContext, sock: socket.socket, peer: Any) -> None:
    """SOCAT_PEERADDR/PEERPORT (and SOCKADDR/SOCKPORT) for a datagram peer."""
    values: dict[str, str] = {}
    try:
        local = sock.getsockname()
    except OSError:
        local = None
    if sock.family in (socket.AF_INET, socket.AF_INET6) and peer:
        values = {"PEERADDR": env_ip(peer[0]), "PEERPORT": str(peer[1])}
        if local:
            values.update(SOCKADDR=env_ip(local[0]), SOCKPORT=str(local[1]))
    elif sock.family == socket.AF_UNIX and peer:
        values = {"PEERADDR": peer if isinstance(peer, str) else repr(peer)}
    _env(ctx, values)
