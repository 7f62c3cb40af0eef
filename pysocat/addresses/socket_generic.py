"""socat's generic socket addresses: SOCKET-CONNECT, -LISTEN, -SENDTO, -RECVFROM, -RECV, -DATAGRAM.

Parameters are numbers (domain, type, protocol) and a socket address in socat's
data notation: ``x`` followed by hex bytes (``x1f90x7f000001``), or a string
(``"/tmp/sock\\0"``), giving the bytes of the sockaddr after its family field.
The kernel needs a typed address from Python, so the domains understood are
AF_INET (2), AF_INET6 (10) and AF_UNIX (1).
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from ..core import log
from ..core.acceptor import Acceptor, Peer
from ..core.admission import peer_filter
from ..core.endpoint import Endpoint
from ..errors import SocatError, SpecError
from ..net.dgram import DatagramAcceptor, filter_for, make_endpoint, same_host
from ..net.sockets import bind_socket, connected, listening, new_socket, sockaddr_text, stream_endpoint
from ..options import OptionSet, Phase
from ..registry import Dir, OpenContext, Opener, register


def parse_int(text: str, what: str = "number") -> int:
    try:
        return int(text.strip(), 0)
    except ValueError:
        raise SpecError(f'invalid {what} "{text}"') from None


def dalan(text: str) -> bytes:
    """socat's data notation: x<hex> runs, quoted strings with \\0 escapes, or plain text."""
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "xX":
            j = i + 1
            while j < len(text) and text[j] in "0123456789abcdefABCDEF":
                j += 1
            digits = text[i + 1 : j]
            if len(digits) % 2:
                raise SpecError(f'invalid data "{text}": odd number of hex digits')
            out += bytes.fromhex(digits)
            i = j
        elif ch == '"':
            j = text.find('"', i + 1)
            if j < 0:
                raise SpecError(f'invalid data "{text}": missing closing quote')
            out += _unescape(text[i + 1 : j])
            i = j + 1
        else:
            out += _unescape(text[i:])
            break
    return bytes(out)


def _unescape(text: str) -> bytes:
    return text.encode().replace(b"\\0", b"\0").replace(b"\\n", b"\n")


def to_sockaddr(domain: int, data: bytes) -> Any:
    """Bytes after sa_family -> the address Python's socket module takes."""
    if domain == socket.AF_INET:
        data = data.ljust(6, b"\0")
        return socket.inet_ntoa(data[2:6]), struct.unpack("!H", data[:2])[0]
    if domain == socket.AF_INET6:
        data = data.ljust(26, b"\0")
        port, flow = struct.unpack("!HI", data[:6])
        return socket.inet_ntop(socket.AF_INET6, data[6:22]), port, flow, struct.unpack("=I", data[22:26])[0]
    if domain == socket.AF_UNIX:
        if data.startswith(b"\0"):
            return data.rstrip(b"\0") or data
        return data.split(b"\0", 1)[0].decode()
    raise SocatError(f"domain {domain}: socket addresses of this domain are not supported")


def _socket(domain: int, socktype: int, proto: int, opts: OptionSet) -> socket.socket:
    return new_socket(domain, opts.get("so-type", socktype), opts, opts.get("so-protocol", proto))


def _bind(sock: socket.socket, domain: int, opts: OptionSet) -> None:
    text = opts.get("bind")
    if text:
        bind_socket(sock, to_sockaddr(domain, dalan(text)))
    opts.apply(Phase.PASTBIND, sock.fileno())


def _connect(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    domain, proto = parse_int(params[0], "domain"), parse_int(params[1], "protocol")
    addr = to_sockaddr(domain, dalan(params[2]))

    sock = connected(opts, lambda: (_socket(domain, socket.SOCK_STREAM, proto, opts), addr),
                     lambda sock: _bind(sock, domain, opts))
    return stream_endpoint(sock, opts, ctx.spec.text, datagram=sock.type != socket.SOCK_STREAM)


def _listen(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Acceptor:
    domain, proto = parse_int(params[0], "domain"), parse_int(params[1], "protocol")
    addr = to_sockaddr(domain, dalan(params[2]))

    sock = listening(opts, lambda: _socket(domain, socket.SOCK_STREAM, proto, opts), addr,
                     opts.get("backlog", socket.SOMAXCONN))
    log.notice(f"listening on {sockaddr_text(domain, sock.getsockname())}")
    return Acceptor(sock, opts, peer_filter(opts, domain),
                    lambda peer_ctx, peer: stream_endpoint(peer.conn, opts, peer_ctx.spec.text))


def _params(params: tuple[str, ...]) -> tuple[int, int, int, bytes]:
    return (parse_int(params[0], "domain"), parse_int(params[1], "type"), parse_int(params[2], "protocol"),
            dalan(params[3]))


def _sender(datagram: bool) -> Opener:
    def open_sendto(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        domain, socktype, proto, data = _params(params)
        target = to_sockaddr(domain, data)
        sock = _socket(domain, socktype, proto, opts)
        try:
            _bind(sock, domain, opts)
        except BaseException:
            sock.close()
            raise
        accept = filter_for(peer_filter(opts, domain), domain) if datagram else same_host(domain, target)
        return make_endpoint(ctx, sock, opts, target=target, accept=accept)

    return open_sendto


def _local(params: tuple[str, ...], opts: OptionSet) -> tuple[int, socket.socket]:
    domain, socktype, proto, data = _params(params)
    addr = to_sockaddr(domain, data)
    sock = _socket(domain, socktype, proto, opts)
    try:
        bind_socket(sock, addr)
        opts.apply(Phase.PASTBIND, sock.fileno())
    except BaseException:
        sock.close()
        raise
    log.notice(f"receiving on {sockaddr_text(domain, sock.getsockname())}")
    return domain, sock


def _recv(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    domain, sock = _local(params, opts)
    ep = make_endpoint(ctx, sock, opts, accept=filter_for(peer_filter(opts, domain), domain))
    return ep


def _recvfrom(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> DatagramAcceptor:
    domain, sock = _local(params, opts)

    def make(peer_ctx: OpenContext, peer: Peer) -> Endpoint:
        return make_endpoint(peer_ctx, peer.conn, opts, target=peer.address, initial=list(peer.packets), oneshot=True)

    return DatagramAcceptor(sock, opts, peer_filter(opts, domain), domain, make)


_G = "FD,SOCKET"
register("SOCKET-CONNECT", ("domain", "protocol", "remote-address"), _G + ",CHILD,RETRY", _connect,
         features=("GENERICSOCKET",), help="connect a stream socket of any domain to a raw socket address")
register("SOCKET-LISTEN", ("domain", "protocol", "local-address"), _G + ",LISTEN,CHILD,RETRY,RANGE", _listen,
         help="listen on a stream socket of any domain at a raw socket address", serves=True)
register("SOCKET-SENDTO", ("domain", "type", "protocol", "remote-address"), _G, _sender(False),
         help="send datagrams of any domain and type to a raw socket address")
register("SOCKET-RECVFROM", ("domain", "type", "protocol", "local-address"), _G + ",CHILD,RANGE", _recvfrom,
         help="receive one datagram at a raw socket address and reply to its sender", serves=True)
register("SOCKET-RECV", ("domain", "type", "protocol", "local-address"), _G + ",RANGE", _recv,
         directions=Dir.READ, help="receive datagrams at a raw socket address (read only)")
register("SOCKET-DATAGRAM", ("domain", "type", "protocol", "remote-address"), _G + ",RANGE", _sender(True),
         "SOCKET-DGRAM", help="send datagrams to a raw socket address, read from anyone")
