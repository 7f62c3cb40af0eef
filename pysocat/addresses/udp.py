"""UDP (UDP4, UDP6): connected client, LISTEN, SENDTO, RECVFROM, RECV, DATAGRAM; UDPLITE twins.

The openers are shared with raw IP (rawip.py): an :class:`IpKind` says which
socket type and protocol, and whether the second parameter is a port.

UDP-LISTEN locks to the first peer.  With ``fork`` each new peer gets a child
owning a fresh socket bound to the same port and connected to that peer, so the
kernel delivers that peer's datagrams to the child (a connected socket wins over
the listener); the datagrams the peer sent before that are drained from the
listener and handed to the child first, in order.  UDP-RECVFROM serves one
datagram (with ``fork``, a child per datagram) and replies to its sender.
"""

from __future__ import annotations

import os
import socket
from collections import deque
from typing import Any, NamedTuple

from ..core import log
from ..core.acceptor import Peer
from ..core.admission import PeerCheck, peer_filter
from ..core.endpoint import Endpoint
from ..errors import SocatError, SpecError
from ..net.dgram import (
    DatagramAcceptor,
    Packet,
    drain,
    filter_for,
    make_endpoint,
    same_host,
)
from ..net.sockets import (
    bind_address,
    bind_socket,
    connected,
    new_socket,
    parse_port,
    pick_family,
    resolve,
    sockaddr_text,
    split_bind,
    with_retry,
)
from ..options import OptionSet, Phase
from ..registry import Dir, OpenContext, Opener, register
from ..version import has_udplite


class IpKind(NamedTuple):
    """What differs between UDP, UDPLITE and raw IP."""

    name: str  # for log lines: UDP, UDPLITE, PROTO
    socktype: int
    proto: int | None  # None: the protocol is a parameter (raw IP)

    def number(self, text: str) -> int:
        """The port (UDP) or protocol (raw IP) parameter."""
        if self.proto is None:
            return parse_proto(text)
        return parse_port(text, "udp")


def parse_proto(text: str) -> int:
    """An IP protocol number 0..255 or a name from /etc/protocols."""
    text = text.strip()
    if text.isdigit() or (text.startswith("-") and text[1:].isdigit()):
        value = int(text)
        if not 0 <= value <= 255:
            raise SpecError(f'invalid protocol number "{text}": must be in 0..255')
        return value
    try:
        return socket.getprotobyname(text)
    except OSError:
        raise SpecError(f'unknown protocol "{text}"') from None


UDP = IpKind("UDP", socket.SOCK_DGRAM, socket.IPPROTO_UDP)
UDPLITE = IpKind("UDPLITE", socket.SOCK_DGRAM, 136)
RAWIP = IpKind("PROTO", socket.SOCK_RAW, None)


def _listen_family(base: int, opts: OptionSet, ctx: OpenContext) -> int:
    family = pick_family(base, opts, ctx)
    if family == socket.AF_UNSPEC:
        text = opts.get("bind")
        host = split_bind(text, family)[0] if text else ""
        ipv6 = ":" in host if host else os.environ.get("SOCAT_DEFAULT_LISTEN_IP") == "6"
        family = socket.AF_INET6 if ipv6 else socket.AF_INET
    return family


def _socket(kind: IpKind, family: int, opts: OptionSet, proto: int) -> socket.socket:
    proto = opts.get("so-protocol", proto)
    return new_socket(family, kind.socktype, opts, proto)


def _target(host: str, num: int, family: int, kind: IpKind) -> tuple[int, Any]:
    port = 0 if kind.proto is None else num
    infos = resolve(host, port, family, socket.SOCK_DGRAM)
    return infos[0]


def _bind_local(sock: socket.socket, kind: IpKind, opts: OptionSet, port: int | None = None) -> None:
    """bind= / sourceport (a port, for UDP) before sending, then PASTBIND options."""
    if kind.proto is None:
        text = opts.get("bind")
        if text:
            host = split_bind(text, sock.family)[0]
            for fam, sa in resolve(host, 0, sock.family, socket.SOCK_DGRAM, True):
                if fam == sock.family:
                    bind_socket(sock, sa)
                    break
    else:
        local = bind_address(sock.family, opts, socket.SOCK_DGRAM, port)
        if opts.get("lowport") and local is None:
            local = ("::" if sock.family == socket.AF_INET6 else "0.0.0.0", 0)
        if local is not None:
            bind_socket(sock, local, bool(opts.get("lowport")) and port is None)
            salen = 28 if sock.family == socket.AF_INET6 else 16
            log.debug(f"bind({sock.fileno()}, {sockaddr_text(sock.family, sock.getsockname())}, {salen})")
    opts.apply(Phase.PASTBIND, sock.fileno())


def _local(kind: IpKind, family: int, opts: OptionSet, num: int) -> socket.socket:
    """A socket bound to the port (UDP) or protocol (raw) a receiving address names."""
    sock = _socket(kind, family, opts, kind.proto if kind.proto is not None else num)
    try:
        if kind.proto is None:
            _bind_local(sock, kind, opts)
        else:
            opts.has("sourceport")
            addr = bind_address(family, opts, socket.SOCK_DGRAM, num)
            if addr is None:
                addr = ("::" if family == socket.AF_INET6 else "0.0.0.0", num)
            bind_socket(sock, addr)
            opts.apply(Phase.PASTBIND, sock.fileno())
    except BaseException:
        sock.close()
        raise
    return sock


def _describe(kind: IpKind, sock: socket.socket, num: int) -> str:
    if kind.proto is None:
        return f"IP protocol {num}"
    return f"{kind.name} {sockaddr_text(sock.family, sock.getsockname())}"


# --- clients -----------------------------------------------------------------------------


def _connector(kind: IpKind, base: int) -> Opener:
    """UDP-CONNECT: a connected socket; the kernel drops datagrams from others."""

    def open_connect(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        num = kind.number(params[1])
        family = pick_family(base, opts, ctx)

        def make() -> tuple[socket.socket, Any]:
            fam, sa = _target(params[0], num, family, kind)
            return _socket(kind, fam, opts, kind.proto if kind.proto is not None else num), sa

        sock = connected(opts, make, lambda sock: _bind_local(sock, kind, opts))
        log.notice(f"successfully connected from local address {sockaddr_text(sock.family, sock.getsockname())}")
        return make_endpoint(ctx, sock, opts)

    return open_connect


def _sender(kind: IpKind, base: int, datagram: bool) -> Opener:
    """SENDTO: writes go to host:port, replies only from there; DATAGRAM: replies from anyone in range."""

    def open_sendto(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        num = kind.number(params[1])
        family = pick_family(base, opts, ctx)
        fam, sa = _target(params[0], num, family, kind)
        sock = _socket(kind, fam, opts, kind.proto if kind.proto is not None else num)
        try:
            _bind_local(sock, kind, opts)
        except BaseException:
            sock.close()
            raise
        if datagram:
            accept = filter_for(peer_filter(opts, fam), fam)
        else:
            accept = same_host(fam, sa, with_port=kind.proto is not None)
        return make_endpoint(ctx, sock, opts, target=sa, accept=accept, skip_ip=kind.proto is None)

    return open_sendto


# --- receivers -------------------------------------------------------------------------


def _serving(kind: IpKind, base: int, ctx: OpenContext, params: tuple[str, ...],
             opts: OptionSet) -> tuple[int, int, bool, PeerCheck]:
    """What RECVFROM and LISTEN start from: port or protocol, family, many peers, peer check."""
    family = _listen_family(base, opts, ctx)
    many = bool(opts.get("fork", False) or opts.get("concurrent", False))
    return kind.number(params[0]), family, many, peer_filter(opts, family)


def _receiver(kind: IpKind, base: int) -> Opener:
    """RECV: every datagram (in range) is read; nothing is written."""

    def open_recv(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        num = kind.number(params[0])
        family = _listen_family(base, opts, ctx)
        sock = with_retry(opts, lambda: _local(kind, family, opts, num))
        log.notice(f"receiving on {_describe(kind, sock, num)}")
        ep = make_endpoint(ctx, sock, opts, accept=filter_for(peer_filter(opts, family), family),
                           skip_ip=kind.proto is None)
        return ep

    return open_recv


def _recvfrom(kind: IpKind, base: int) -> Opener:
    """RECVFROM: each datagram is a peer whose replies go to its sender (fork/concurrent: many)."""

    def open_recvfrom(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> DatagramAcceptor:
        num, family, _many, check = _serving(kind, base, ctx, params, opts)
        sock = with_retry(opts, lambda: _local(kind, family, opts, num))
        log.notice(f"receiving on {_describe(kind, sock, num)}")

        def make(peer_ctx: OpenContext, peer: Peer) -> Endpoint:
            return make_endpoint(peer_ctx, peer.conn, opts, target=peer.address, initial=list(peer.packets),
                                 oneshot=True, skip_ip=kind.proto is None)

        return DatagramAcceptor(sock, opts, check, family, make)

    return open_recvfrom


def _listener(kind: IpKind, base: int) -> Opener:
    """LISTEN: lock to the first peer; with fork or concurrent, a connected socket per peer address."""

    def open_listen(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> DatagramAcceptor:
        num, family, many, check = _serving(kind, base, ctx, params, opts)
        proto = kind.proto if kind.proto is not None else num

        def bound() -> socket.socket:
            sock = _socket(kind, family, opts, proto)
            try:
                if many:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                addr = bind_address(family, opts, socket.SOCK_DGRAM, num if kind.proto is not None else 0)
                if addr is None:
                    addr = ("::" if family == socket.AF_INET6 else "0.0.0.0", 0)
                bind_socket(sock, addr)
                opts.apply(Phase.PASTBIND, sock.fileno())
            except BaseException:
                sock.close()
                raise
            return sock

        opts.has("sourceport")
        sock = with_retry(opts, bound)
        log.notice(f"listening on {_describe(kind, sock, num)}")

        def split(packet: Packet) -> tuple[socket.socket, list[bytes]]:
            data, sender, _anc = packet
            if not many:  # one peer: the listening socket itself is locked to it
                _connect_peer(sock, sender, opts)
                return sock.dup(), [data]
            child = _socket(kind, family, opts, proto)
            try:
                child.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                bind_socket(child, sock.getsockname())
                _connect_peer(child, sender, opts)
            except BaseException:
                child.close()
                raise
            batch = [data]
            rest: list[Packet] = []
            for item in [*acceptor.pending, *drain(sock), *drain(child)]:
                (batch.append(item[0]) if _same(item[1], sender, kind) else rest.append(item))
            acceptor.pending = deque(rest)
            return child, batch

        def make(peer_ctx: OpenContext, peer: Peer) -> Endpoint:
            return make_endpoint(peer_ctx, peer.conn, opts, initial=list(peer.packets), skip_ip=kind.proto is None)

        acceptor = DatagramAcceptor(sock, opts, check, family, make, split=split)
        acceptor.kind_name = kind.name
        return acceptor

    return open_listen


def _same(a: Any, b: Any, kind: IpKind) -> bool:
    return bool(a[0] == b[0] and (kind.proto is None or a[1] == b[1]))


def _connect_peer(sock: socket.socket, peer: Any, opts: OptionSet) -> None:
    opts.apply(Phase.CONNECT, sock.fileno())
    try:
        sock.connect(peer)
    except OSError as exc:
        raise SocatError(f"connect({sock.fileno()}, {{{sockaddr_text(sock.family, peer)}}}): {exc.strerror}") from None


def register_family(kind: IpKind, prefix: str, groups: str, features: tuple[str, ...], what: str) -> None:
    """Register the connect/listen/sendto/recvfrom/recv/datagram rows of one IP datagram family."""
    fams = (("", socket.AF_UNSPEC, groups), ("4", socket.AF_INET, groups.replace(",IP6", "")),
            ("6", socket.AF_INET6, groups.replace(",IP4", "")))
    nums = "port" if kind.proto is not None else "protocol"
    check = parse_port if kind.proto is not None else parse_proto
    for suffix, fam, grp in fams:
        over = f" over IPv{suffix}" if suffix else ""
        head = prefix + suffix
        feats = features if not suffix else ()
        if kind.proto is not None:
            register(f"{head}-CONNECT", ("host", nums), grp, _connector(kind, fam), head,
                     checks=(None, check), features=feats, help=f"{what} client{over}")
            register(f"{head}-LISTEN", (nums,), grp + ",LISTEN,CHILD,RANGE", _listener(kind, fam), f"{head}-L",
                     checks=(check,), help=f"{what} server, one peer (or one child per peer with fork){over}",
                     serves=True)
        register(f"{head}-SENDTO", ("host", nums), grp, _sender(kind, fam, False), f"{head}-SEND",
                 *((head,) if kind.proto is None else ()),
                 checks=(None, check), features=feats if kind.proto is None else (),
                 help=f"send {what} datagrams to host, read replies from there{over}")
        register(f"{head}-RECVFROM", (nums,), grp + ",CHILD,RANGE", _recvfrom(kind, fam), checks=(check,),
                 help=f"receive one {what} datagram and reply to its sender (fork: a child per datagram){over}",
                 serves=True)
        register(f"{head}-RECV", (nums,), grp + ",RANGE", _receiver(kind, fam), checks=(check,),
                 directions=Dir.READ, help=f"receive {what} datagrams from anyone (read only){over}")
        register(f"{head}-DATAGRAM", ("host", nums), grp + ",RANGE", _sender(kind, fam, True), f"{head}-DGRAM",
                 checks=(None, check), help=f"send {what} datagrams to host, read from anyone in range{over}")


register_family(UDP, "UDP", "FD,SOCKET,RETRY,IP4,IP6,UDP,IPAPP", ("UDP",), "UDP")
if has_udplite():  # only where the kernel has it; -V says WITH_UDPLITE under the same test
    register_family(UDPLITE, "UDPLITE", "FD,SOCKET,RETRY,IP4,IP6,UDP,IPAPP", ("UDPLITE",), "UDP-Lite")
