"""PROXY / PROXY-CONNECT: a TCP connection tunnelled through an HTTP proxy (CONNECT).

The proxy's reply is untrusted: the status line and headers are read line by
line with size, count and time bounds, and never past the empty line that ends
them, so the tunnelled bytes that follow stay for the relay.
"""

from __future__ import annotations

import base64
import re
import socket

from ..core import log
from ..core.endpoint import Endpoint
from ..errors import SocatError
from ..net.boundedio import Bounded, shown
from ..net.sockets import parse_port, pick_family, resolve, strip_brackets
from ..options import OptionSet
from ..registry import OpenContext, Opener, register
from .tcp import tcp_connector

DEFAULT_PROXYPORT = "8080"
MAX_LINE = 8192
MAX_HEADERS = 100
_STATUS = re.compile(rb"^HTTP/(\d)\.(\d)[ \t]+(\d{3})(?:[ \t].*)?$")


def _authorization(opts: OptionSet) -> bytes | None:
    """``user:password`` from proxyauth= or proxy-authorization-file= (taken as is, like socat)."""
    creds = opts.get("proxy-authorization")
    path = opts.get("proxy-authorization-file")
    if path is not None:
        try:
            with open(path, "rb") as fh:
                creds_b = fh.read(4096)
        except OSError as exc:
            raise SocatError(f'open("{path}"): {exc.strerror}') from None
        return creds_b
    return None if creds is None else creds.encode()


def request(host: str, port: int, creds: bytes | None) -> bytes:
    """The CONNECT request socat sends."""
    target = f"[{host}]" if ":" in host and not host.startswith("[") else host
    lines = [f"CONNECT {target}:{port} HTTP/1.0".encode()]
    if creds is not None:
        lines.append(b"Proxy-authorization: Basic " + base64.b64encode(creds))
    return b"\r\n".join(lines) + b"\r\n\r\n"


def read_reply(io: Bounded) -> None:
    """Read and check the status line and headers; SocatError unless 2xx."""
    status = io.line(MAX_LINE).rstrip(b"\r\n")
    match = _STATUS.match(status)
    if match is None:
        raise SocatError(f'proxy_connect: malformed reply from proxy "{shown(status)}"')
    code = int(match.group(3))
    log.info(f'proxy_connect: received answer "{shown(status)}"')
    for _ in range(MAX_HEADERS):
        line = io.line(MAX_LINE)
        if line in (b"\r\n", b"\n"):
            break
    else:
        raise SocatError(f"proxy_connect: more than {MAX_HEADERS} header lines in the reply")
    if not 200 <= code < 300:
        raise SocatError(f'proxy_connect: proxy server replied "{shown(status)}"')


def _target(ctx: OpenContext, host: str, port: int, opts: OptionSet) -> str:
    if not opts.get("proxy-resolve"):
        return strip_brackets(host)
    family = pick_family(socket.AF_UNSPEC, opts, ctx)
    fam, sa = resolve(host, port, family, socket.SOCK_STREAM)[0]
    return str(sa[0])


def _opener() -> Opener:
    tcp_open = tcp_connector(socket.AF_UNSPEC)

    def open_proxy(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        server, host, port = params[0], params[1], parse_port(params[2])
        proxyport = opts.get("proxyport") or DEFAULT_PROXYPORT
        parse_port(proxyport)
        opts.get("ignorecr")  # CRLF and LF line ends are both accepted
        creds = _authorization(opts)
        target = _target(ctx, host, port, opts)
        ep = tcp_open(ctx, (server, proxyport), opts)
        assert ep.sock is not None
        try:
            io = Bounded(ep.sock, "proxy_connect", opts.get("connect-timeout"))
            req = request(target, port, creds)
            first = req.split(b"\r\n", 1)[0]
            log.info(f'proxy_connect: sending "{shown(first)}"')
            io.send(req)
            read_reply(io)
        except BaseException:
            ep.close()
            raise
        log.notice(f"proxy_connect: tunnel to {target}:{port} established")
        return ep

    return open_proxy


register("PROXY", ("proxy-server", "host", "port"), "FD,SOCKET,CHILD,RETRY,IP4,IP6,TCP,IPAPP,HTTP", _opener(),
         "PROXY-CONNECT", checks=(None, None, parse_port), features=("PROXY",),
         help="TCP connection through an HTTP proxy (CONNECT)", waits=True)
