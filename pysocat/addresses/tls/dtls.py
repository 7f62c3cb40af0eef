"""DTLS for OPENSSL-DTLS-CLIENT and OPENSSL-DTLS-SERVER, on pyOpenSSL (the ``dtls`` extra).

The standard library's ssl module has no DTLS; pyOpenSSL exposes OpenSSL's.  The
datagram side is the UDP one: the client opens as UDP-CONNECT does, the server as
UDP-LISTEN does (with ``fork``, one child per peer, each owning a socket connected
to its peer), and the handshake then runs on that connected socket, as socat does.

OpenSSL talks to memory BIOs and this module moves the datagrams itself, so that:

* datagrams the UDP-LISTEN parent received before the child took over (the
  ClientHello) are handed to OpenSSL first, one datagram at a time;
* every record OpenSSL produces is sent as a datagram of its own, as OpenSSL does
  on a datagram BIO, with the path MTU of the connected socket set as OpenSSL
  would query it (handshake messages are fragmented to fit);
* the handshake never blocks the process without a bound: it waits with poll()
  for the peer or for OpenSSL's retransmission timer (DTLSv1_get_timeout /
  DTLSv1_handle_timeout), and ``connect-timeout`` (or ``-T``) ends it;
* one read is one record: decrypted records are queued and handed out one per
  read, and ``r_pollable`` is False while some are waiting.

Options and checks are those of OPENSSL (pysocat.tls): verification on by
default on both sides, the server's name checked against the host parameter
unless ``commonname`` overrides it, DTLS 1.2 unless DTLS1 is asked for.
"""

from __future__ import annotations

import select
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from OpenSSL import SSL

from ...core import log
from ...core.acceptor import Acceptor
from ...core.endpoint import Endpoint, SessionEndpoint, Shut
from ...core.waiting import wait
from ...errors import SocatError, SpecError
from ...net.sockets import strip_brackets
from ...options import OptionSet
from ...registry import OpenContext, lookup
from .stream import (
    _SHORT,
    DEFAULT_CIPHERS,
    SHUT_FLUSH_TIMEOUT,
    _handshake_timeout,
    _ip,
    _retrying,
    check_noops,
    load_dh_params,
    name_matches,
    set_peer_env,
    version_bounds,
)

DTLS1_VERSION = 0xFEFF
DTLS1_2_VERSION = 0xFEFD
_VERSIONS = {"DTLS1": DTLS1_VERSION, "DTLS1.0": DTLS1_VERSION, "DTLS1.2": DTLS1_2_VERSION}
RECORD_HEADER = 13  # type, version, epoch, sequence number, length
MAX_PLAIN = 16384  # plaintext of one record
RECV_SIZE = 65536
IP_MTU = 14  # Linux getsockopt numbers the socket module may not export
IPV6_MTU = 24
DEFAULT_MTU = 1500
CLOSE_FLUSH_TIMEOUT = 1.0

# OpenSSL's X509_verify_cert_error_string() for the usual verification failures
_VERIFY_ERRORS = {
    2: "unable to get issuer certificate",
    7: "certificate signature failure",
    9: "certificate is not yet valid",
    10: "certificate has expired",
    18: "self-signed certificate",
    19: "self-signed certificate in certificate chain",
    20: "unable to get local issuer certificate",
    21: "unable to verify the first certificate",
    24: "invalid CA certificate",
    26: "unsupported certificate purpose",
    28: "certificate rejected",
}


# --- options -> SSL.Context --------------------------------------------------------------


def parse_version(option: str, text: str) -> int:
    """``DTLS1.2``, ``DTLSv1.2``, ``dtls1``, ``1.2`` ... -> an OpenSSL DTLS version number."""
    key = text.strip().upper().replace("V", "").replace("_", ".")
    if key[:1].isdigit():
        key = "DTLS" + key
    if key not in _VERSIONS:
        raise SpecError(f'invalid value for option "{option}={text}": expected DTLS1 or DTLS1.2 (a DTLS version)')
    return _VERSIONS[key]


def _check_dtls_method(key: str, method: str) -> None:
    if not key.startswith("DTLS"):
        raise SpecError(f'option "method={method}": not a DTLS method (DTLS, DTLS1, DTLS1.2)')


def _older(a: int, b: int) -> bool:
    """DTLS version numbers count down: DTLS1.0 (0xFEFF) is older than DTLS1.2 (0xFEFD)."""
    return a > b


def _reason(exc: BaseException) -> str:
    """The reason text of a pyOpenSSL error (first entry of OpenSSL's error queue)."""
    if isinstance(exc, SSL.Error) and exc.args and isinstance(exc.args[0], list):
        for entry in exc.args[0]:
            if isinstance(entry, tuple) and len(entry) >= 3 and entry[2]:
                return str(entry[2])
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _file_error(call: str, path: str, exc: BaseException) -> SocatError:
    return SocatError(f'{call}("{path}"): {_reason(exc)}')


class VerifyNote:
    """The first verification failure OpenSSL reported (for the E line)."""

    def __init__(self) -> None:
        self.code: int | None = None

    def callback(self, _conn: SSL.Connection, _cert: Any, errnum: int, _depth: int, ok: int) -> bool:
        if not ok and self.code is None:
            self.code = errnum
        return bool(ok)

    def describe(self, exc: BaseException) -> str:
        why = _reason(exc)
        if "certificate verify failed" in why and self.code is not None:
            return f"certificate verify failed: {_VERIFY_ERRORS.get(self.code, f'X509 error {self.code}')}"
        return why


def make_context(opts: OptionSet, server: bool) -> tuple[SSL.Context, bool, VerifyNote]:
    """The SSL.Context for this address, whether the peer is verified, and its verify note."""
    ctx = SSL.Context(SSL.DTLS_SERVER_METHOD if server else SSL.DTLS_CLIENT_METHOD)
    ctx.set_options(SSL.OP_NO_QUERY_MTU | SSL.OP_NO_COMPRESSION | SSL.OP_NO_TICKET)
    verify = bool(opts.get("openssl-verify", True))
    low, high = version_bounds(opts, parse_version, "DTLS", _check_dtls_method)
    weak = False
    try:
        if low is None:
            low = DTLS1_2_VERSION
            if high is not None and _older(high, DTLS1_2_VERSION):
                low = high  # asked for DTLS1 explicitly
        weak = _older(low, DTLS1_2_VERSION)
        ctx.set_min_proto_version(low)
        if high is not None:
            ctx.set_max_proto_version(high)
    except SSL.Error as exc:
        raise SocatError(f"SSL_CTX_set_min/max_proto_version(): {_reason(exc)}") from None
    cipher = opts.get("openssl-cipherlist")
    try:
        if cipher is not None:
            ctx.set_cipher_list((cipher + (":@SECLEVEL=0" if weak else "")).encode())
        else:
            ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0" if weak else DEFAULT_CIPHERS.encode())
    except SSL.Error as exc:
        raise SocatError(f'SSL_CTX_set_cipher_list(, "{cipher}"): {_reason(exc)}') from None
    check_noops(opts)
    cert = opts.get("openssl-certificate")
    key = opts.get("openssl-key")
    if cert is not None:
        try:
            ctx.use_certificate_chain_file(cert)
        except (OSError, SSL.Error) as exc:
            raise _file_error("SSL_CTX_use_certificate_file", cert, exc) from None
        try:
            ctx.use_privatekey_file(key or cert)
            ctx.check_privatekey()
        except (OSError, SSL.Error) as exc:
            raise _file_error("SSL_CTX_use_PrivateKey_file", key or cert, exc) from None
    elif key is not None:
        raise SocatError('option "key" needs option "cert"')
    elif server:
        log.warn('no certificate given; consider option "cert"')
    load_dh_params(opts, cert, server, ctx.load_tmp_dh, (OSError, SSL.Error), _file_error)
    note = VerifyNote()
    cafile, capath = opts.get("openssl-cafile"), opts.get("openssl-capath")
    if verify:
        mode = SSL.VERIFY_PEER | (SSL.VERIFY_FAIL_IF_NO_PEER_CERT if server else 0)
        ctx.set_verify(mode, note.callback)
        try:
            if cafile is not None or capath is not None:
                ctx.load_verify_locations(cafile, capath)
            else:
                ctx.set_default_verify_paths()
        except (OSError, SSL.Error) as exc:
            raise _file_error("SSL_CTX_load_verify_locations", cafile or capath or "", exc) from None
    else:
        ctx.set_verify(SSL.VERIFY_NONE)
    return ctx, verify, note


# --- the peer certificate as the ssl module describes it ----------------------------------

_LONG = {short: long for long, short in _SHORT.items()}


def peer_cert(conn: SSL.Connection) -> dict[str, Any] | None:
    """The peer's certificate as ``ssl.getpeercert()`` gives it: subject, issuer, subjectAltName."""
    from cryptography import x509

    cert = conn.get_peer_certificate(as_cryptography=True)
    if cert is None:
        return None

    def name(value: x509.Name) -> tuple[tuple[tuple[str, str], ...], ...]:
        return tuple(
            tuple((_LONG.get(attr.rfc4514_attribute_name, attr.rfc4514_attribute_name),
                   attr.value if isinstance(attr.value, str) else attr.value.hex()) for attr in rdn)
            for rdn in value.rdns
        )

    out: dict[str, Any] = {"subject": name(cert.subject), "issuer": name(cert.issuer)}
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return out
    out["subjectAltName"] = tuple(
        [("DNS", dns) for dns in san.get_values_for_type(x509.DNSName)]
        + [("IP Address", str(ip)) for ip in san.get_values_for_type(x509.IPAddress)]
    )
    return out


# --- the connection ------------------------------------------------------------------------


def records(data: bytes) -> list[bytes]:
    """Split OpenSSL's output into DTLS records (each is sent as one datagram)."""
    out: list[bytes] = []
    pos = 0
    while pos + RECORD_HEADER <= len(data):
        end = pos + RECORD_HEADER + int.from_bytes(data[pos + 11 : pos + 13], "big")
        out.append(data[pos:end])
        pos = end
    if pos < len(data):
        out.append(data[pos:])
    return out


def path_mtu(sock: socket.socket) -> int:
    """The UDP payload that fits the path of a connected socket (OpenSSL asks the same)."""
    v6 = sock.family == socket.AF_INET6
    try:
        mtu = sock.getsockopt(socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP, IPV6_MTU if v6 else IP_MTU)
    except OSError:
        mtu = DEFAULT_MTU
    return max(mtu - (48 if v6 else 28), 256)


class DTLSConn:
    """One DTLS session on a connected, non-blocking UDP socket."""

    def __init__(self, sock: socket.socket, context: SSL.Context, server: bool, sni: str | None,
                 initial: deque[bytes], note: VerifyNote) -> None:
        self.sock = sock
        self.server = server
        self.note = note
        self.obj = SSL.Connection(context, None)
        if server:
            self.obj.set_accept_state()
        else:
            self.obj.set_connect_state()
            if sni:
                self.obj.set_tlsext_host_name(sni.encode("idna"))
        self.obj.set_ciphertext_mtu(path_mtu(sock))
        self.inq = initial  # datagrams received before the handshake, not yet given to OpenSSL
        self.plain: deque[bytes] = deque()  # decrypted records, one per read
        self.out: deque[bytes] = deque()  # datagrams the socket has not taken yet
        self.peer_closed = False
        self.sent_close = False

    @property
    def what(self) -> str:
        return "SSL_accept()" if self.server else "SSL_connect()"

    # -- datagrams ------------------------------------------------------------------------
    def _collect(self) -> None:
        while True:
            try:
                data = self.obj.bio_read(RECV_SIZE)
            except SSL.WantReadError:
                return
            if not data:
                return
            self.out.extend(records(data))

    def flush(self) -> bool:
        """Send queued datagrams; True when all are gone (other errors go to the caller)."""
        self._collect()
        while self.out:
            try:
                self.sock.send(self.out[0])
            except (BlockingIOError, InterruptedError):
                return False
            self.out.popleft()
        return True

    def _flush_quiet(self) -> None:
        try:
            self.flush()
        except OSError:
            pass

    def _flush_wait(self, deadline: float) -> None:
        while not self.flush():
            left = deadline - time.monotonic()
            if left <= 0 or not wait([], [self.sock.fileno()], left)[1]:
                return

    def _give(self, datagram: bytes) -> None:
        if datagram:
            self.obj.bio_write(datagram)

    # -- handshake --------------------------------------------------------------------------
    def handshake(self, timeout: float | None) -> None:
        """Complete the handshake within ``timeout`` seconds (None: OpenSSL's retransmission limit)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                try:
                    self.obj.do_handshake()
                    break
                except SSL.WantReadError:
                    pass
                self.flush()
                if self.inq:
                    self._give(self.inq.popleft())
                    continue
                self._wait_datagram(deadline)
            self.flush()
            self._pump()  # records that came in the datagram that ended the handshake
        except TimeoutError:
            self._flush_quiet()
            raise SocatError(f"{self.what}: handshake timed out after {timeout} seconds") from None
        except SSL.ZeroReturnError:
            raise SocatError(f"{self.what}: connection closed by peer during handshake") from None
        except SSL.Error as exc:
            self._flush_quiet()  # the alert OpenSSL produced
            raise SocatError(f"{self.what}: {self.note.describe(exc)}") from None
        except OSError as exc:
            raise SocatError(f"{self.what}: {exc.strerror or exc}") from None

    def _wait_datagram(self, deadline: float | None) -> None:
        """Hand OpenSSL the next datagram, retransmitting on its timer meanwhile."""
        poller = select.poll()
        while True:
            timer = self.obj.DTLSv1_get_timeout()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError
            waits = [t for t in (timer, left) if t is not None]
            wait = min(waits) if waits else None
            poller.register(self.sock.fileno(), select.POLLIN | (select.POLLOUT if self.out else 0))
            events = poller.poll(None if wait is None else max(wait, 0.0) * 1000 + 1)
            if events and events[0][1] & select.POLLOUT:
                self.flush()
            if events and events[0][1] & (select.POLLIN | select.POLLERR):
                try:
                    data = self.sock.recv(RECV_SIZE)
                except (BlockingIOError, InterruptedError):
                    continue
                self._give(data)
                return
            if self.obj.DTLSv1_handle_timeout():  # the timer ran out: OpenSSL retransmits its flight
                self.flush()

    # -- data -----------------------------------------------------------------------------------
    def _pump(self) -> None:
        """Decrypt what OpenSSL has been given into ``plain``, one record per entry."""
        while True:
            try:
                data = self.obj.recv(RECV_SIZE)
            except SSL.WantReadError:
                break
            except SSL.ZeroReturnError:
                self.peer_closed = True
                break
            except SSL.Error as exc:
                self._flush_quiet()
                raise SocatError(f"SSL_read(): {self.note.describe(exc)}") from None
            if data:
                self.plain.append(data)
        self._flush_quiet()  # e.g. a retransmitted flight the peer asked for by repeating its own

    def buffered(self) -> bool:
        """Something can be read without the socket becoming readable."""
        return bool(self.plain or self.inq) or self.peer_closed

    def read_into(self, buf: memoryview) -> int:
        """One record (or what fits of it) into ``buf``; 0 at close_notify; BlockingIOError when empty."""
        while not self.plain and not self.peer_closed:
            self._give(self.inq.popleft() if self.inq else self.sock.recv(RECV_SIZE))
            self._pump()
        if not self.plain:
            return 0
        record = self.plain[0]
        n = min(len(buf), len(record))
        buf[:n] = record[:n]
        if n < len(record):
            self.plain[0] = record[n:]  # the rest on the next read, as SSL_read does
        else:
            self.plain.popleft()
        return n

    def write(self, data: memoryview | bytes) -> int:
        """Encrypt ``data`` as one record (more above 16 KiB); all of it counts as written."""
        if self.out and not self.flush():
            raise BlockingIOError
        view = memoryview(data)
        try:
            for start in range(0, len(view), MAX_PLAIN):
                self.obj.send(bytes(view[start : start + MAX_PLAIN]))
        except SSL.Error as exc:
            raise SocatError(f"SSL_write(): {_reason(exc)}") from None
        self.flush()
        return len(view)

    def close_notify(self, timeout: float) -> None:
        """Send close_notify (once); reading may go on afterwards."""
        if self.sent_close:
            return
        self.sent_close = True
        try:
            self.obj.shutdown()
        except SSL.Error:
            pass
        try:
            self._flush_wait(time.monotonic() + timeout)
        except OSError:
            pass


# --- the endpoint -------------------------------------------------------------------------


class DTLSEndpoint(SessionEndpoint):
    """A connected UDP endpoint whose datagrams are DTLS records (userspace only)."""

    dtls: DTLSConn

    def read_into(self, buf: memoryview) -> int:
        n = self.dtls.read_into(buf)
        if n == 0 and self.dtls.peer_closed:
            self.rconv.null_eof = True  # close_notify is EOF (an empty datagram is not)
        return n

    def write(self, data: memoryview | bytes) -> int:
        return self.dtls.write(data)

    def shutdown_write(self) -> None:
        if self.write_shut or self.wfd is None:
            return
        self.write_shut = True
        if self.conv.shut is not Shut.NONE:
            self.dtls.close_notify(SHUT_FLUSH_TIMEOUT)

    def close(self) -> None:
        if not self.closed:
            self.dtls.close_notify(CLOSE_FLUSH_TIMEOUT)
        super().close()


def _wrap(ctx: OpenContext, plain: Endpoint, context: SSL.Context, server: bool, sni: str | None,
          opts: OptionSet, note: VerifyNote) -> DTLSEndpoint:
    sock = plain.sock
    assert sock is not None
    initial: deque[bytes] = getattr(plain, "initial", deque())
    conn = DTLSConn(sock, context, server, sni, initial, note)
    try:
        conn.handshake(_handshake_timeout(ctx, opts))
    except BaseException:
        plain.close()
        raise
    ep = DTLSEndpoint(name=plain.name, rfd=plain.rfd, wfd=plain.wfd, sock=sock, datagram=True, conv=plain.conv,
                      cleanups=plain.cleanups)
    ep.dtls = ep.session = conn
    ep.zero_copy = False
    ep.rconv, ep.wconv = plain.conv.copy(), plain.wconv  # rconv private: close_notify sets null_eof
    peer = peer_cert(conn.obj)
    if peer:
        set_peer_env(ctx, peer)
    log.info(f"SSL connection using {conn.obj.get_cipher_name()}")
    log.info(f"SSL protocol version used: {conn.obj.get_protocol_version_name()}")
    return ep


def _reject(ep: DTLSEndpoint, message: str) -> SocatError:
    """Tell the peer (close_notify) and give the error to raise."""
    ep.close()
    return SocatError(message)


# --- openers -----------------------------------------------------------------------------------


def open_client(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    """OPENSSL-DTLS-CLIENT:<host>:<port>: UDP-CONNECT, then the DTLS handshake."""
    host = params[0]
    if not host:
        raise SpecError("OPENSSL-DTLS-CLIENT: empty host name")
    context, verify, note = make_context(opts, server=False)
    check_name = opts.get("openssl-commonname") or strip_brackets(host)
    sni: str | None = opts.get("openssl-snihost") or check_name
    if opts.get("openssl-no-sni") or (sni is not None and _ip(sni) is not None) or not sni:
        sni = None
    udp_open = lookup("UDP-CONNECT").opener

    def attempt() -> Endpoint:
        note.code = None
        plain = udp_open(ctx, params, opts)
        assert isinstance(plain, Endpoint)  # a datagram client, never a listener
        ep = _wrap(ctx, plain, context, False, sni, opts, note)
        if verify:
            peer = peer_cert(ep.dtls.obj)
            if not peer:
                raise _reject(ep, "SSL_connect(): no peer certificate")
            if not name_matches(peer, check_name):
                raise _reject(ep, f'certificate is valid but its commonName does not match hostname "{check_name}"')
        return ep

    return _retrying(opts, attempt)


def open_server(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Acceptor:
    """OPENSSL-DTLS-SERVER:<port>: UDP-LISTEN's acceptor, with the handshake on every peer."""
    context, verify, note = make_context(opts, server=True)
    cn = opts.get("openssl-commonname")
    opts.get("openssl-snihost"), opts.get("openssl-no-sni")
    acceptor = lookup("UDP-LISTEN").opener(ctx, params, opts)
    assert isinstance(acceptor, Acceptor)

    def handshake(peer_ctx: OpenContext, plain: Endpoint) -> Endpoint:
        ep = _wrap(peer_ctx, plain, context, True, None, opts, note)
        if verify and cn:
            peer = peer_cert(ep.dtls.obj)
            if not peer or not name_matches(peer, cn):
                raise _reject(ep, f'certificate is valid but its commonName does not match hostname "{cn}"')
        return ep

    return acceptor.then(handshake)


OPENERS: dict[bool, Callable[[OpenContext, tuple[str, ...], OptionSet], Endpoint | Acceptor]] = {
    False: open_client, True: open_server,
}
