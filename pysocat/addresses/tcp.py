"""TCP, TCP4, TCP6 clients and TCP-LISTEN, TCP4-LISTEN, TCP6-LISTEN servers."""

from __future__ import annotations

import os
import socket

from ..core import log
from ..core.acceptor import Acceptor
from ..core.admission import peer_filter
from ..core.endpoint import Endpoint
from ..net.sockets import (
    bind_address,
    connect_inet,
    listening,
    new_socket,
    parse_port,
    pick_family,
    sockaddr_text,
    split_bind,
    stream_endpoint,
)
from ..options import OptionSet
from ..registry import EndpointOpener, OpenContext, Opener, register


def _connector(base: int) -> EndpointOpener:
    def open_tcp(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        host, port = params[0], parse_port(params[1])
        family = pick_family(base, opts, ctx)
        return connect_inet(ctx, host, port, family, opts, socket.SOCK_STREAM)

    return open_tcp


def _listener(base: int) -> Opener:
    def open_listen(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Acceptor:
        port = parse_port(params[0])
        family = pick_family(base, opts, ctx)
        bind_text = opts.get("bind")
        if family == socket.AF_UNSPEC:
            host = split_bind(bind_text, family)[0] if bind_text else ""
            ipv6 = ":" in host if host else os.environ.get("SOCAT_DEFAULT_LISTEN_IP") == "6"
            family = socket.AF_INET6 if ipv6 else socket.AF_INET
        opts.has("sourceport")
        addr = bind_address(family, opts, socket.SOCK_STREAM, port)
        backlog = opts.get("backlog", socket.SOMAXCONN)
        sock = listening(opts, lambda: new_socket(family, socket.SOCK_STREAM, opts), addr, backlog)
        log.notice(f"listening on {sockaddr_text(family, sock.getsockname())}")
        return Acceptor(sock, opts, peer_filter(opts, family),
                        lambda peer_ctx, peer: stream_endpoint(peer.conn, opts, peer_ctx.spec.text))

    return open_listen


_C = "FD,SOCKET,CHILD,RETRY,IP4,IP6,TCP,IPAPP"
_L = "FD,SOCKET,LISTEN,CHILD,RETRY,RANGE,IP4,IP6,TCP,IPAPP"
register("TCP", ("host", "port"), _C, _connector(socket.AF_UNSPEC), "TCP-CONNECT", checks=(None, parse_port),
         features=("IP4", "IP6", "TCP"), help="TCP client")
register("TCP4", ("host", "port"), _C.replace(",IP6", ""), _connector(socket.AF_INET), "TCP4-CONNECT", checks=(None, parse_port),
         help="TCP client over IPv4")
register("TCP6", ("host", "port"), _C.replace(",IP4", ""), _connector(socket.AF_INET6), "TCP6-CONNECT", checks=(None, parse_port),
         help="TCP client over IPv6")
register("TCP-LISTEN", ("port",), _L, _listener(socket.AF_UNSPEC), "TCP-L", checks=(parse_port,),
         features=("LISTEN", "LIBWRAP", "RETRY"), help="TCP server", serves=True)
register("TCP4-LISTEN", ("port",), _L.replace(",IP6", ""), _listener(socket.AF_INET), "TCP4-L", checks=(parse_port,),
         help="TCP server over IPv4", serves=True)
register("TCP6-LISTEN", ("port",), _L.replace(",IP4", ""), _listener(socket.AF_INET6), "TCP6-L", checks=(parse_port,),
         help="TCP server over IPv6", serves=True)

# Hooks for families layered on a TCP connection (OPENSSL, PROXY, SOCKS): the same
# client and listener openers, returning a plain TCP endpoint whose ``sock`` they wrap.
tcp_connector = _connector
tcp_listener = _listener
