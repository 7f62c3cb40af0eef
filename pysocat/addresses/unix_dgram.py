"""UNIX-SENDTO, UNIX-RECVFROM, UNIX-RECV and their ABSTRACT-* (Linux) twins: datagram sockets.

``so-type`` (alias ``type``) selects another socket type, e.g. 5 for SOCK_SEQPACKET
with UNIX-SENDTO (then a connected socket).  A sender without ``bind`` gets an
autobound abstract address so that replies can reach it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from ..core import log
from ..core.acceptor import Peer
from ..core.admission import peer_filter
from ..core.endpoint import Endpoint
from ..errors import SocatError
from ..net.dgram import DatagramAcceptor, make_endpoint
from ..net.sockets import (
    apply_named,
    bind_socket,
    connect_socket,
    new_socket,
    remover,
    sockaddr_text,
    take_named,
    unlink_early,
    with_retry,
)
from ..options import OptionSet, Phase
from ..registry import Dir, OpenContext, Opener, register
from .unix import _address, unix_endpoint


def _socket(opts: OptionSet) -> socket.socket:
    return new_socket(socket.AF_UNIX, opts.get("so-type", socket.SOCK_DGRAM), opts, opts.get("so-protocol", 0))


def _sender(abstract: bool) -> Opener:
    def open_sendto(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        target = _address(params[0], abstract)
        sock = _socket(opts)
        try:
            local = opts.get("bind")
            bind_socket(sock, _address(local, abstract) if local else "")
            opts.apply(Phase.PASTBIND, sock.fileno())
            if sock.type != socket.SOCK_DGRAM:
                connect_socket(sock, target, opts.get("connect-timeout"))
                ep = unix_endpoint(sock, opts, ctx.spec.text)  # seqpacket: records, 0 is EOF
            else:
                ep = make_endpoint(ctx, sock, opts, target=target)
        except BaseException:
            sock.close()
            raise
        if local and not abstract and opts.get("unlink-close", True):
            ep.cleanups.append(remover(local))
        return ep

    return open_sendto


def _bound(path: str, abstract: bool, opts: OptionSet) -> tuple[socket.socket, list[Callable[[], None]]]:
    addr = _address(path, abstract)
    if not abstract:
        if opts.get("unlink-early"):
            unlink_early(path)
        elif os.path.lexists(path):
            raise SocatError(f'"{path}" exists')
    named = take_named(opts)
    sock = with_retry(opts, lambda: _socket(opts))
    try:
        bind_socket(sock, addr)
        if not abstract:
            apply_named(path, named)
        opts.apply(Phase.PASTBIND, sock.fileno())
    except BaseException:
        sock.close()
        raise
    cleanups: list[Callable[[], None]] = []
    if not abstract and opts.get("unlink-close", True):
        cleanups.append(remover(path))
    log.notice(f"receiving on {sockaddr_text(socket.AF_UNIX, addr)}")
    return sock, cleanups


def _receiver(abstract: bool) -> Opener:
    def open_recv(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        sock, cleanups = _bound(params[0], abstract, opts)
        ep = make_endpoint(ctx, sock, opts)
        ep.cleanups.extend(cleanups)
        return ep

    return open_recv


def _recvfrom(abstract: bool) -> Opener:
    def open_recvfrom(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> DatagramAcceptor:
        sock, cleanups = _bound(params[0], abstract, opts)

        def make(peer_ctx: OpenContext, peer: Peer) -> Endpoint:
            ep = make_endpoint(peer_ctx, peer.conn, opts, target=peer.address or None, initial=list(peer.packets),
                               oneshot=True)
            if not peer.address:
                ep.wfd = None  # an unbound sender cannot be answered
            return ep

        return DatagramAcceptor(sock, opts, peer_filter(opts, socket.AF_UNIX), socket.AF_UNIX, make,
                                cleanups=cleanups)

    return open_recvfrom


_U = "FD,SOCKET,NAMED,RETRY,UNIX"
register("UNIX-SENDTO", ("filename",), _U, _sender(False), help="send datagrams to a UNIX socket, read replies")
register("UNIX-RECVFROM", ("filename",), _U + ",CHILD", _recvfrom(False),
         help="receive one datagram on a UNIX socket and reply to its sender (fork: a child per datagram)",
         serves=True)
register("UNIX-RECV", ("filename",), _U, _receiver(False), directions=Dir.READ,
         help="receive datagrams on a UNIX socket (read only)")
register("ABSTRACT-SENDTO", ("filename",), _U, _sender(True), help="UNIX-SENDTO in the abstract namespace")
register("ABSTRACT-RECVFROM", ("filename",), _U + ",CHILD", _recvfrom(True),
         help="UNIX-RECVFROM in the abstract namespace", serves=True)
register("ABSTRACT-RECV", ("filename",), _U, _receiver(True), directions=Dir.READ,
         help="UNIX-RECV in the abstract namespace")
