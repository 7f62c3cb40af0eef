"""UNIX-CONNECT, UNIX-LISTEN, UNIX-CLIENT and their ABSTRACT-* (Linux) twins."""

from __future__ import annotations

import errno
import os
import socket

from ..core import log
from ..core.acceptor import Acceptor
from ..core.admission import peer_filter
from ..core.endpoint import Endpoint
from ..errors import SocatError
from ..net.sockets import (
    UNIX_PATH_MAX,
    apply_named,
    bind_socket,
    connect_socket,
    listening,
    new_socket,
    remover,
    sockaddr_text,
    stream_endpoint,
    take_named,
    unlink_early,
    with_retry,
)
from ..options import OptionSet, Phase
from ..registry import OpenContext, Opener, register


def _address(path: str, abstract: bool) -> str:
    if not path:
        raise SocatError("UNIX socket path is empty")
    size = len(path.encode())
    if size > UNIX_PATH_MAX - (1 if abstract else 0):
        raise SocatError(f'UNIX socket path "{path}" is too long ({size} > {UNIX_PATH_MAX} bytes)')
    return "\0" + path if abstract else path


def _client_bind(sock: socket.socket, opts: OptionSet, abstract: bool) -> str | None:
    """bind= for a client; returns the file system path it created (None if none)."""
    local = opts.get("bind")
    if not local:
        return None
    bind_socket(sock, _address(local, abstract))
    return None if abstract else str(local)


def unix_endpoint(sock: socket.socket, opts: OptionSet, name: str) -> Endpoint:
    """A connected UNIX socket: stream, datagram, or seqpacket (one read is one record, 0 is EOF)."""
    ep = stream_endpoint(sock, opts, name, datagram=sock.type == socket.SOCK_DGRAM)
    if sock.type == socket.SOCK_SEQPACKET:
        ep.zero_copy = False  # record boundaries: no splice, one read then one write per record
    return ep


def connect_path(ctx: OpenContext, path: str, opts: OptionSet, abstract: bool = False,
                 allow_dgram: bool = False) -> Endpoint:
    """Connect a UNIX socket at ``path``: so-type if given, else stream, then datagram and seqpacket when allowed."""
    addr = _address(path, abstract)
    timeout = opts.get("connect-timeout")
    if opts.has("so-type"):  # socktype=5: SOCK_SEQPACKET only, as socat
        types = [opts.get("so-type")]
    else:
        types = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM, socket.SOCK_SEQPACKET] if allow_dgram else [])

    def attempt() -> tuple[socket.socket, int, str | None]:
        for kind in types:
            sock = new_socket(socket.AF_UNIX, kind, opts)
            bound = None
            try:
                bound = _client_bind(sock, opts, abstract)
                connect_socket(sock, addr, timeout)
                return sock, kind, bound
            except SocatError as exc:
                sock.close()
                if bound is not None:  # the next attempt binds the same path again
                    remover(bound)()
                if kind != types[-1] and "Protocol wrong type" in exc.message:
                    continue
                raise
        raise SocatError(f'connect(, {sockaddr_text(socket.AF_UNIX, addr)}): {os.strerror(errno.EPROTOTYPE)}')

    sock, kind, bound = with_retry(opts, attempt)
    opts.apply(Phase.PASTCONNECT, sock.fileno())
    ep = unix_endpoint(sock, opts, ctx.spec.text)
    if bound is not None and opts.get("unlink-close", True):
        ep.cleanups.append(remover(bound))
    return ep


def _connector(abstract: bool, allow_dgram: bool) -> Opener:
    def open_connect(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        return connect_path(ctx, params[0], opts, abstract, allow_dgram)

    return open_connect


def _listener(abstract: bool) -> Opener:
    def open_listen(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Acceptor:
        path = params[0]
        addr = _address(path, abstract)
        if not abstract:
            if opts.get("unlink-early"):
                unlink_early(path)
            elif os.path.lexists(path):
                raise SocatError(f'"{path}" exists')
        backlog = opts.get("backlog", socket.SOMAXCONN)
        named = take_named(opts)
        socktype = opts.get("so-type", socket.SOCK_STREAM)  # 5: SOCK_SEQPACKET

        sock = listening(opts, lambda: new_socket(socket.AF_UNIX, socktype, opts), addr, backlog)
        cleanup = remover(path) if not abstract and opts.get("unlink-close", True) else None
        try:
            if not abstract:
                apply_named(path, named)
            log.notice(f"listening on {sockaddr_text(socket.AF_UNIX, addr)}")
        except BaseException:
            sock.close()
            if cleanup:
                cleanup()
            raise
        return Acceptor(sock, opts, peer_filter(opts, socket.AF_UNIX),
                        lambda peer_ctx, peer: unix_endpoint(peer.conn, opts, peer_ctx.spec.text),
                        [cleanup] if cleanup else [])

    return open_listen


_U = "FD,SOCKET,NAMED,RETRY,UNIX"
_UL = "FD,SOCKET,NAMED,LISTEN,CHILD,RETRY,UNIX"
register("UNIX-CONNECT", ("filename",), _U, _connector(False, False),
         features=("UNIX",), help="connect to a UNIX stream socket")
register("UNIX-LISTEN", ("filename",), _UL, _listener(False), "UNIX-L", help="listen on a UNIX stream socket",
         serves=True)
register("UNIX-CLIENT", ("filename",), _U, _connector(False, True), "UNIX",
         help="connect to a UNIX socket, stream or datagram")
register("ABSTRACT-CONNECT", ("filename",), _U, _connector(True, False),
         features=("ABSTRACT_UNIXSOCKET",), help="connect to an abstract UNIX stream socket")
register("ABSTRACT-LISTEN", ("filename",), _UL, _listener(True), "ABSTRACT-L",
         help="listen on an abstract UNIX stream socket", serves=True)
register("ABSTRACT-CLIENT", ("filename",), _U, _connector(True, True), "ABSTRACT",
         help="connect to an abstract UNIX socket, stream or datagram")
