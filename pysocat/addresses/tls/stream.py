"""TLS for OPENSSL (client) and OPENSSL-LISTEN (server), on the standard ssl module.

Secure by default, on both sides: the peer's certificate is verified (a server
therefore requires a client certificate, as socat since 1.7.3), the client checks
the server's name against the host parameter unless ``commonname`` overrides it,
and TLS below 1.2 is used only when asked for.  Every failure is one E line.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable
from typing import TypeVar

from ...core import log
from ...core.acceptor import Acceptor
from ...core.endpoint import Endpoint, SessionEndpoint, Shut
from ...errors import SocatError, SpecError
from ...net.sockets import strip_brackets, with_retry
from ...options import OptionSet
from ...registry import OpenContext, Opener
from ..tcp import tcp_connector, tcp_listener
from .conn import TLSConn, describe

_VERSIONS = {
    "SSL3": ssl.TLSVersion.SSLv3,
    "TLS1": ssl.TLSVersion.TLSv1,
    "TLS1.0": ssl.TLSVersion.TLSv1,
    "TLS1.1": ssl.TLSVersion.TLSv1_1,
    "TLS1.2": ssl.TLSVersion.TLSv1_2,
    "TLS1.3": ssl.TLSVersion.TLSv1_3,
}
SHUT_FLUSH_TIMEOUT = 5.0
# Python's default list, but DSA (DSS) certificates allowed as socat allows them
DEFAULT_CIPHERS = "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!SHA1:!AESCCM"


def parse_version(option: str, text: str) -> ssl.TLSVersion:
    """``TLS1.2``, ``TLSv1.2``, ``tls1.2``, ``1.2`` ... -> a TLSVersion."""
    key = text.strip().upper().replace("V", "").replace("_", ".")
    if key[:1].isdigit():
        key = "TLS" + key
    if key in ("SSL3.0",):
        key = "SSL3"
    if key not in _VERSIONS:
        raise SpecError(f'invalid value for option "{option}={text}": expected one of SSL3, TLS1, TLS1.1, TLS1.2, TLS1.3')
    return _VERSIONS[key]


V = TypeVar("V")


def version_bounds(opts: OptionSet, parse: Callable[[str, str], V], generic: str,
                   check_method: Callable[[str, str], None]) -> tuple[V | None, V | None]:
    """Lowest and highest protocol version from method= then min-/max-proto-version.

    ``method`` names one version (both bounds) unless it is the family's ``generic``
    name; ``check_method(KEY, text)`` refuses the methods the family cannot do.
    """
    low: V | None = None
    high: V | None = None
    method = opts.get("openssl-method")
    if method is not None:
        key = method.strip().upper()
        check_method(key, method)
        if key != generic:
            low = high = parse("method", method)
    text = opts.get("openssl-min-proto-version")
    if text is not None:
        low = parse("min-proto-version", text)
    text = opts.get("openssl-max-proto-version")
    if text is not None:
        high = parse("max-proto-version", text)
    return low, high


def _check_tls_method(key: str, method: str) -> None:
    if key.startswith("DTLS"):  # with pyOpenSSL installed the address was opened as DTLS instead
        raise SpecError(f'option "method={method}": DTLS needs pyOpenSSL (the "dtls" extra)')
    if key in ("SSL2", "SSL3", "SSL23", "SSLV2", "SSLV3", "SSLV23"):
        raise SpecError(f'option "method={method}": method not supported (obsolete or not TLS)')


def _file_error(call: str, path: str, exc: BaseException) -> SocatError:
    why = exc.strerror if isinstance(exc, OSError) and not isinstance(exc, ssl.SSLError) and exc.strerror else describe(exc)
    return SocatError(f'{call}("{path}"): {why}')


def load_dh_params(
    opts: OptionSet,
    cert: str | None,
    server: bool,
    load: Callable[[str], object],
    errors: tuple[type[BaseException], ...],
    fail: Callable[[str, str, BaseException], SocatError],
) -> None:
    """DH parameters from dhparam=, else (server) from the certificate file, as socat (e.g. for DSA)."""
    path = opts.get("openssl-dhparam")
    if path is None and server and cert is not None and _has_dh_params(cert):
        path = cert
    if path is None:
        return
    try:
        load(path)
    except errors as exc:
        raise fail("PEM_read_bio_DHparams", path, exc) from None


def _has_dh_params(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return b" DH PARAMETERS-----" in fh.read(1 << 20)
    except OSError:
        return False


def check_noops(opts: OptionSet) -> None:
    """compress, pseudo, egd: accepted, and said honestly to have no effect (TLS and DTLS)."""
    compress = opts.get("openssl-compress")
    if compress is not None and compress.lower() not in ("none", "auto"):
        raise SpecError(f'invalid value for option "compress={compress}": expected none or auto')
    if compress is not None and compress.lower() == "auto":
        log.warn('option "compress=auto": TLS compression is not available; not compressing')
    if opts.get("openssl-pseudo"):
        log.warn('option "pseudo" is not supported and has no effect (the ssl module seeds itself)')
    if opts.get("openssl-egd") is not None:
        log.warn('option "egd" is not supported and has no effect (no entropy daemon is needed)')


def make_context(opts: OptionSet, server: bool) -> tuple[ssl.SSLContext, bool]:
    """The SSLContext for this address; also whether the peer is verified."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # checked by us, against commonname or the host parameter
    if server:
        ctx.num_tickets = 0  # no resumption; unread tickets would make a client's close a reset
    verify = opts.get("openssl-verify", True)
    low, high = version_bounds(opts, parse_version, "TLS", _check_tls_method)
    weak = False
    try:
        if low is not None:
            ctx.minimum_version = low
            weak = low < ssl.TLSVersion.TLSv1_2
        else:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if high is not None:
            ctx.maximum_version = high
            if low is None and high < ssl.TLSVersion.TLSv1_2:
                ctx.minimum_version = high  # asked for an old version explicitly
                weak = True
    except (ValueError, ssl.SSLError) as exc:
        raise SocatError(f"SSL_CTX_set_min/max_proto_version(): {describe(exc)}") from None
    cipher = opts.get("openssl-cipherlist")
    try:
        if cipher is not None:
            ctx.set_ciphers(cipher + (":@SECLEVEL=0" if weak else ""))
        elif weak:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        else:
            ctx.set_ciphers(DEFAULT_CIPHERS)
    except ssl.SSLError as exc:
        raise SocatError(f'SSL_CTX_set_cipher_list(, "{cipher}"): {describe(exc)}') from None
    check_noops(opts)
    cert = opts.get("openssl-certificate")
    key = opts.get("openssl-key")
    if cert is not None:
        try:
            ctx.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise _file_error("SSL_CTX_use_certificate_file", cert, exc) from None
    elif key is not None:
        raise SocatError('option "key" needs option "cert"')
    elif server:
        log.warn('no certificate given; consider option "cert"')
    load_dh_params(opts, cert, server, ctx.load_dh_params, (OSError, ssl.SSLError), _file_error)
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        cafile, capath = opts.get("openssl-cafile"), opts.get("openssl-capath")
        try:
            if cafile is not None or capath is not None:
                ctx.load_verify_locations(cafile, capath)
            else:
                ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH if server else ssl.Purpose.SERVER_AUTH)
        except (OSError, ssl.SSLError) as exc:
            raise _file_error("SSL_CTX_load_verify_locations", cafile or capath or "", exc) from None
    else:
        ctx.verify_mode = ssl.CERT_NONE
        opts.get("openssl-cafile"), opts.get("openssl-capath")
    return ctx, bool(verify)


# --- server name check ------------------------------------------------------------


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(strip_brackets(text).split("%")[0])
    except ValueError:
        return None


def _dns_match(pattern: str, name: str) -> bool:
    """RFC 6125: exact, or one ``*`` as the whole left-most label."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern == name:
        return True
    if pattern.startswith("*.") and "*" not in pattern[2:]:
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:] and pattern[2:].count(".") >= 1
    return False


def name_matches(cert: dict, name: str) -> bool:  # type: ignore[type-arg]
    """Whether the verified peer certificate is valid for ``name`` (DNS name or IP)."""
    ip = _ip(name)
    sans = cert.get("subjectAltName", ())
    dns = [value for kind, value in sans if kind == "DNS"]
    if ip is not None:
        if any(kind == "IP Address" and _ip(value.strip()) == ip for kind, value in sans):
            return True
    elif dns:
        return any(_dns_match(pattern, name) for pattern in dns)
    if sans:
        return False
    # no subjectAltName at all: the commonName (an IP address may be written as [::1])
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName" and (_dns_match(value, name) if ip is None else _ip(value) == ip):
                return True
    return False


# --- the endpoint -----------------------------------------------------------------


class TLSEndpoint(SessionEndpoint):
    """A TCP endpoint whose bytes pass through a TLS session (userspace only)."""

    tls: TLSConn

    def read_into(self, buf: memoryview) -> int:
        return self.tls.read_into(buf)

    def write(self, data: memoryview | bytes) -> int:
        return self.tls.write(data)

    def shutdown_write(self) -> None:
        if self.write_shut or self.wfd is None:
            return
        self.write_shut = True
        if self.conv.shut is Shut.NONE:
            return
        self.tls.close_notify(SHUT_FLUSH_TIMEOUT)
        if self.conv.shut is Shut.CLOSE:
            return
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        if not self.closed and not self.tls.sent_close:
            self.tls.sent_close = True
            try:
                self.tls.obj.unwrap()
            except (ssl.SSLError, ValueError):
                pass
            try:
                self.tls.flush()
            except OSError:
                pass
        if not self.closed:
            self.tls.drain()
        super().close()


_SHORT = {"countryName": "C", "commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU",
          "localityName": "L", "stateOrProvinceName": "ST"}


def _oneline(name: tuple) -> str:  # type: ignore[type-arg]
    """OpenSSL's one-line form of a distinguished name: ``C = XY, CN = host, O = org``."""
    return ", ".join(f"{_SHORT.get(key, key)} = {value}" for rdn in name for key, value in rdn)


def set_peer_env(ctx: OpenContext, cert: dict) -> None:  # type: ignore[type-arg]
    """SOCAT_OPENSSL_X509_SUBJECT, _ISSUER and one variable per subject field, as socat."""
    values = {"SUBJECT": _oneline(cert.get("subject", ())), "ISSUER": _oneline(cert.get("issuer", ()))}
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            values.setdefault(key.upper(), value)
    ctx.rt.export({f"OPENSSL_X509_{key}": value for key, value in values.items()})


def _handshake_timeout(ctx: OpenContext, opts: OptionSet) -> float | None:
    timeout: float | None = opts.get("connect-timeout")
    return ctx.cfg.total_timeout if timeout is None else timeout


def _wrap(ctx: OpenContext, plain: Endpoint, tls_ctx: ssl.SSLContext, server: bool, sni: str | None,
          opts: OptionSet) -> TLSEndpoint:
    sock = plain.sock
    assert sock is not None
    conn = TLSConn(sock, tls_ctx, server, sni)
    try:
        conn.handshake(_handshake_timeout(ctx, opts))
    except BaseException:
        plain.close()
        raise
    ep = TLSEndpoint(name=plain.name, rfd=plain.rfd, wfd=plain.wfd, sock=sock, conv=plain.conv,
                     cleanups=plain.cleanups)
    ep.tls = ep.session = conn
    ep.zero_copy = False
    ep.rconv, ep.wconv = plain.rconv, plain.wconv
    peer = conn.obj.getpeercert()
    if peer:
        set_peer_env(ctx, peer)
    cipher = conn.obj.cipher()
    if cipher is not None:
        log.info(f"SSL connection using {cipher[0]}")
    log.info(f"SSL protocol version used: {conn.obj.version()}")
    return ep


def _retrying(opts: OptionSet, attempt: Callable[[], Endpoint]) -> Endpoint:
    """retry/forever/interval around connect *and* handshake (socat retries the whole open)."""
    result: Endpoint = with_retry(opts, attempt, consume=True)
    return result


def _client(base: int) -> Opener:
    tcp_open = tcp_connector(base)

    def open_openssl(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        host = params[0]
        tls_ctx, verify = make_context(opts, server=False)
        check_name = opts.get("openssl-commonname") or strip_brackets(host)
        sni: str | None = opts.get("openssl-snihost") or check_name
        if opts.get("openssl-no-sni") or (sni is not None and _ip(sni) is not None) or not sni:
            sni = None
        def attempt() -> Endpoint:
            plain = tcp_open(ctx, params, opts)
            ep = _wrap(ctx, plain, tls_ctx, False, sni, opts)
            if verify:
                peer = ep.tls.obj.getpeercert()
                if not peer:
                    ep.close()
                    raise SocatError("SSL_connect(): no peer certificate")
                if not name_matches(peer, check_name):
                    ep.close()
                    raise SocatError(f'certificate is valid but its commonName does not match hostname "{check_name}"')
            return ep

        return _retrying(opts, attempt)

    return open_openssl


def _server(base: int) -> Opener:
    tcp_open = tcp_listener(base)

    def open_openssl_listen(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Acceptor:
        tls_ctx, verify = make_context(opts, server=True)
        cn = opts.get("openssl-commonname")
        opts.get("openssl-snihost"), opts.get("openssl-no-sni")
        acceptor = tcp_open(ctx, params, opts)
        assert isinstance(acceptor, Acceptor)

        def handshake(peer_ctx: OpenContext, plain: Endpoint) -> Endpoint:
            ep = _wrap(peer_ctx, plain, tls_ctx, True, None, opts)
            if verify and cn:
                peer = ep.tls.obj.getpeercert()
                if not peer or not name_matches(peer, cn):
                    ep.close()
                    raise SocatError(f'certificate is valid but its commonName does not match hostname "{cn}"')
            return ep

        return acceptor.then(handshake)

    return open_openssl_listen
