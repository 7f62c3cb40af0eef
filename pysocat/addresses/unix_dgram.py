"""UNIX-SENDTO, UNIX-RECVFROM, UNIX-RECV and their ABSTRACT-* (Linux) twins: datagram sockets.

``so-type`` (alias ``type``) selects another socket type, e.g. 5 for SOCK_SEQPACKET
with UNIX-SENDTO (then a connected socket).  A sender without ``bind`` gets an
autobound abstract address so that replies can reach it.
"""

from __future__ import annotations

import os
import socket

from .. import log
from ..core.admission import peer_filter
from ..core.endpoint import Endpoint
from ..core.serve import ChildTracker
from ..dgram import fork_child, make_endpoint, peer_env, screen, wait_packet
from ..errors import SocatError
from ..options import OptionSet, Phase
from ..registry import Dir, OpenContext, Opener, register
from ..sockets import (
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


def _bound(path: str, abstract: bool, opts: OptionSet) -> tuple[socket.socket, list[object]]:
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
    cleanups: list[object] = []
    if not abstract and opts.get("unlink-close", True):
        cleanups.append(remover(path))
    log.notice(f"receiving on {sockaddr_text(socket.AF_UNIX, addr)}")
    return sock, cleanups


def _receiver(abstract: bool) -> Opener:
    def open_recv(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        sock, cleanups = _bound(params[0], abstract, opts)
        ep = make_endpoint(ctx, sock, opts)
        ep.cleanups.extend(cleanups)  # type: ignore[arg-type]
        return ep

    return open_recv


def _recvfrom(abstract: bool) -> Opener:
    def open_recvfrom(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        sock, cleanups = _bound(params[0], abstract, opts)
        fork = opts.get("fork", False)
        tracker = ChildTracker() if fork else None
        check = peer_filter(opts, socket.AF_UNIX)
        try:
            while True:
                data, sender, _anc = wait_packet(sock, tracker, opts.get("max-children"))
                log.notice(f"receiving packet from {sockaddr_text(socket.AF_UNIX, sender or '')}")
                if not screen(check, socket.AF_UNIX, sender):
                    continue
                if tracker is not None and not fork_child(tracker):
                    continue
                peer_env(ctx, sock, sender)
                ep = make_endpoint(ctx, sock, opts, target=sender or None, initial=[data], oneshot=True)
                if not sender:
                    ep.wfd = None  # an unbound sender cannot be answered
                ep.cleanups.extend(cleanups)  # type: ignore[arg-type]
                return ep
        except BaseException:
            sock.close()
            for cleanup in cleanups:
                cleanup()  # type: ignore[operator]
            raise

    return open_recvfrom


_U = "FD,SOCKET,NAMED,RETRY,UNIX"
register("UNIX-SENDTO", ("filename",), _U, _sender(False), help="send datagrams to a UNIX socket, read replies")
register("UNIX-RECVFROM", ("filename",), _U + ",CHILD", _recvfrom(False),
         help="receive one datagram on a UNIX socket and reply to its sender (fork: a child per datagram)")
register("UNIX-RECV", ("filename",), _U, _receiver(False), directions=Dir.READ,
         help="receive datagrams on a UNIX socket (read only)")
register("ABSTRACT-SENDTO", ("filename",), _U, _sender(True), help="UNIX-SENDTO in the abstract namespace")
register("ABSTRACT-RECVFROM", ("filename",), _U + ",CHILD", _recvfrom(True),
         help="UNIX-RECVFROM in the abstract namespace")
register("ABSTRACT-RECV", ("filename",), _U, _receiver(True), directions=Dir.READ,
         help="UNIX-RECV in the abstract namespace")
