"""SOCKS4, SOCKS4A and SOCKS5 clients (CONNECT), and SOCKS5-LISTEN (BIND).

Our own small implementation: the handshakes are a few fixed-size messages,
read with exact sizes and one deadline (connect-timeout, else 60 s), so a
truncated, oversized or silent reply ends in one E line.  (A library such as
python-socks would add a dependency and its own socket handling for no gain:
we need the bare connected socket back for the relay.)
"""

from __future__ import annotations

import os
import socket
import struct

from ..core import log
from ..core.endpoint import Endpoint
from ..errors import SocatError, SpecError
from ..net.boundedio import Bounded
from ..net.sockets import parse_port, pick_family, resolve, sockaddr_text, strip_brackets
from ..options import OptionSet
from ..registry import OpenContext, Opener, register
from .tcp import tcp_connector

DEFAULT_SOCKSPORT = "1080"

SOCKS4_REPLIES = {
    91: "request rejected or failed",
    92: "request rejected because SOCKS server cannot connect to identd on the client",
    93: "request rejected because the client program and identd report different user-ids",
}

SOCKS5_REPLIES = {
    1: "general SOCKS server failure",
    2: "connection not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}


def _user(opts: OptionSet) -> str:
    user = opts.get("socksuser")
    if user is None:
        user = os.environ.get("LOGNAME") or os.environ.get("USER") or "anonymous"
    return str(user)


# --- SOCKS4 / SOCKS4A ---------------------------------------------------------------


def socks4_request(host: str, port: int, user: bytes, ip: bytes | None) -> bytes:
    """CONNECT request; ``ip`` None means SOCKS4A (the server resolves ``host``)."""
    if b"\0" in user:
        raise SpecError("socksuser must not contain a NUL byte")
    if ip is None:
        name = host.encode() if host.isascii() else host.encode("idna")
        if b"\0" in name or len(name) > 255:
            raise SpecError(f'SOCKS4A host name "{host}" is invalid')
        return struct.pack("!BBH4s", 4, 1, port, b"\0\0\0\1") + user + b"\0" + name + b"\0"
    return struct.pack("!BBH4s", 4, 1, port, ip) + user + b"\0"


def socks4_check(reply: bytes) -> None:
    """Check the 8-byte reply (VN is 0; some servers send 4)."""
    vn, cd = reply[0], reply[1]
    if vn not in (0, 4):
        raise SocatError(f"socks: invalid reply version {vn} from the SOCKS server")
    if cd == 90:
        return
    why = SOCKS4_REPLIES.get(cd, f"unknown reply code {cd}")
    raise SocatError(f"socks: {why}")


def _socks4(a: bool) -> Opener:
    tcp_open = tcp_connector(socket.AF_UNSPEC)

    def open_socks4(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        server, host, port = params[0], params[1], parse_port(params[2])
        socksport = opts.get("socksport") or DEFAULT_SOCKSPORT
        parse_port(socksport)
        user = _user(opts).encode()
        ip: bytes | None = None
        if not a:
            fam, sa = resolve(host, port, socket.AF_INET, socket.SOCK_STREAM)[0]
            ip = socket.inet_aton(sa[0])
        ep = tcp_open(ctx, (server, socksport), opts)
        assert ep.sock is not None
        try:
            io = Bounded(ep.sock, "socks", opts.get("connect-timeout"))
            log.info(f"sending socks4{'a' if a else ''} request VN=4 DC=1 DSTPORT={port} "
                     f"DSTIP={'0.0.0.1' if ip is None else socket.inet_ntoa(ip)} USERID={user.decode(errors='replace')}")
            io.send(socks4_request(host, port, user, ip))
            socks4_check(io.exact(8))
        except BaseException:
            ep.close()
            raise
        log.info("socks: request granted")
        return ep

    return open_socks4


# --- SOCKS5 -------------------------------------------------------------------------


def socks5_address(host: str, port: int) -> bytes:
    """ATYP + address + port of a SOCKS5 request."""
    import ipaddress

    bare = strip_brackets(host)
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        name = bare.encode("idna") if not bare.isascii() else bare.encode()
        if not name or len(name) > 255:
            raise SpecError(f'SOCKS5 host name "{host}" must be 1 to 255 bytes long') from None
        return b"\3" + bytes((len(name),)) + name + struct.pack("!H", port)
    atyp = b"\1" if ip.version == 4 else b"\4"
    return atyp + ip.packed + struct.pack("!H", port)


def socks5_greeting(user: str | None, password: str | None) -> bytes:
    methods = b"\0\2" if user is not None and password is not None else b"\0"
    return b"\5" + bytes((len(methods),)) + methods


def socks5_auth(io: Bounded, user: str | None, password: str | None) -> None:
    """Method selection and, when chosen, username/password authentication (RFC 1929)."""
    ver, method = io.exact(2, "method selection")
    if ver != 5:
        raise SocatError(f"socks5: invalid reply version {ver} from the SOCKS server")
    if method == 0:
        return
    if method == 0xFF:
        raise SocatError("socks5: the SOCKS server accepts none of our authentication methods")
    if method != 2 or user is None or password is None:
        raise SocatError(f"socks5: the SOCKS server chose authentication method {method} that we did not offer")
    u, p = user.encode(), password.encode()
    if not 1 <= len(u) <= 255 or not 1 <= len(p) <= 255:
        raise SpecError("socks5: user name and password must be 1 to 255 bytes long")
    io.send(b"\1" + bytes((len(u),)) + u + bytes((len(p),)) + p)
    ver, status = io.exact(2, "authentication reply")
    if status != 0:
        raise SocatError("socks5: authentication failed (user name or password rejected)")


def socks5_reply(io: Bounded) -> tuple[str, int]:
    """Read one reply; return the bound (host, port) or raise naming the refusal."""
    import ipaddress

    ver, rep, _rsv, atyp = io.exact(4)
    if ver != 5:
        raise SocatError(f"socks5: invalid reply version {ver} from the SOCKS server")
    if rep != 0:
        raise SocatError(f"socks5: {SOCKS5_REPLIES.get(rep, f'unknown reply code {rep}')}")
    if atyp == 1:
        host = str(ipaddress.IPv4Address(io.exact(4)))
    elif atyp == 4:
        host = str(ipaddress.IPv6Address(io.exact(16)))
    elif atyp == 3:
        size = io.exact(1)[0]
        host = io.exact(size).decode("latin-1")
    else:
        raise SocatError(f"socks5: invalid address type {atyp} in the reply")
    (port,) = struct.unpack("!H", io.exact(2))
    return host, port


def _socks5(command: int) -> Opener:
    tcp_open = tcp_connector(socket.AF_UNSPEC)

    def open_socks5(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        if len(params) == 3:  # socat 1.8: <socks-server>[:<socks-port>]:<host>:<port>
            server, host, port = params[0], params[1], parse_port(params[2])
            socksport = str(parse_port(opts.get("socksport") or DEFAULT_SOCKSPORT))
        else:
            server, socksport, host, port = params[0], str(parse_port(params[1])), params[2], parse_port(params[3])
        user, password = opts.get("socksuser"), opts.get("sockspass")
        if (user is None) != (password is None):
            raise SpecError('socks5: options "socksuser" and "sockspass" go together')
        if opts.get("proxy-resolve"):
            fam, sa = resolve(host, port, pick_family(socket.AF_UNSPEC, opts, ctx), socket.SOCK_STREAM)[0]
            host = str(sa[0])
        target = socks5_address(host, port)
        ep = tcp_open(ctx, (server, socksport), opts)
        assert ep.sock is not None
        try:
            io = Bounded(ep.sock, "socks5", opts.get("connect-timeout"))
            io.send(socks5_greeting(user, password))
            socks5_auth(io, user, password)
            io.send(b"\5" + bytes((command,)) + b"\0" + target)
            bound = socks5_reply(io)
            if command == 2:
                family = socket.AF_INET6 if ":" in bound[0] else socket.AF_INET
                log.notice(f"listening on {sockaddr_text(family, bound)} (at the SOCKS server)")
                io = Bounded(ep.sock, "socks5", 365 * 86400.0)  # a listener waits for its peer
                peer = socks5_reply(io)
                family = socket.AF_INET6 if ":" in peer[0] else socket.AF_INET
                log.notice(f"accepting connection from {sockaddr_text(family, peer)} (through the SOCKS server)")
            else:
                log.info(f"socks5: connected; the server's local address is {bound[0]}:{bound[1]}")
        except BaseException:
            ep.close()
            raise
        return ep

    return open_socks5


_G4 = "FD,SOCKET,CHILD,RETRY,IP4,IP6,TCP,IPAPP,SOCKS4"
_G5 = "FD,SOCKET,CHILD,RETRY,IP4,IP6,TCP,IPAPP,SOCKS5"
register("SOCKS4", ("socks-server", "host", "port"), _G4, _socks4(False), "SOCKS",
         checks=(None, None, parse_port), features=("SOCKS4",), help="TCP connection through a SOCKS4 server", waits=True)
register("SOCKS4A", ("socks-server", "host", "port"), _G4, _socks4(True), checks=(None, None, parse_port),
         features=("SOCKS4A",), help="TCP connection through a SOCKS4A server (it resolves the host)", waits=True)
register("SOCKS5-CONNECT", ("socks-server", "socks-port", "host", "port"), _G5, _socks5(1), "SOCKS5",
         optional=1, syntax=":<socks-server>[:<socks-port>]:<host>:<port>", checks=(None, None, None, parse_port),
         features=("SOCKS5",),
         help="TCP connection through a SOCKS5 server (RFC 1928; optional user/password)", waits=True)
register("SOCKS5-LISTEN", ("socks-server", "socks-port", "listen-host", "listen-port"), _G5.replace("CHILD,", ""),
         _socks5(2), optional=1, syntax=":<socks-server>[:<socks-port>]:<listen-host>:<listen-port>",
         checks=(None, None, None, parse_port),
         help="accept one connection at a SOCKS5 server (BIND)", waits=True)
