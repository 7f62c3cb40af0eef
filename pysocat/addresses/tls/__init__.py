"""OPENSSL (TLS client), OPENSSL-LISTEN (TLS server) and their DTLS twins: registration only.

The TLS code, and with it the ssl module, is loaded when such an address is
opened (pysocat.tls), so other runs do not pay for it at start-up.  DTLS
(pysocat.dtls) needs pyOpenSSL, the optional extra ``dtls``: its address types
exist only when pyOpenSSL is installed (looked up, not imported, here).  DTLS is
part of socat's WITH_OPENSSL feature, so it adds no feature name to -V.
"""

from __future__ import annotations

import importlib.util
import socket

from ...core.acceptor import Acceptor
from ...core.endpoint import Endpoint
from ...net.sockets import parse_port
from ...options import OptionSet
from ...registry import OpenContext, Opener, register


def _lazy(server: bool, base: int) -> Opener:
    def opener(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint | Acceptor:
        method = opts.values.get("openssl-method")
        if HAVE_DTLS and isinstance(method, str) and method.strip().upper().startswith("DTLS"):
            return _lazy_dtls(server)(ctx, params, opts)  # as socat: a DTLS method makes it DTLS over UDP
        from . import stream as tls

        return (tls._server if server else tls._client)(base)(ctx, params, opts)

    return opener


_C = "FD,SOCKET,CHILD,RETRY,IP4,IP6,TCP,IPAPP,OPENSSL"
_L = "FD,SOCKET,LISTEN,CHILD,RETRY,RANGE,IP4,IP6,TCP,IPAPP,OPENSSL"
register("OPENSSL", ("host", "port"), _C, _lazy(False, socket.AF_UNSPEC), "OPENSSL-CONNECT", "SSL",
         checks=(None, parse_port), features=("OPENSSL",), help="TLS client (verifies the server by default)", waits=True)
register("OPENSSL-LISTEN", ("port",), _L, _lazy(True, socket.AF_UNSPEC), "SSL-L", checks=(parse_port,),
         help="TLS server (requires a client certificate unless verify=0)", serves=True)


# --- DTLS (issue 6): only with pyOpenSSL, the optional extra "dtls" ----------------------------
HAVE_DTLS = importlib.util.find_spec("OpenSSL") is not None


def _lazy_dtls(server: bool) -> Opener:
    def opener(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint | Acceptor:
        from . import dtls

        return dtls.OPENERS[server](ctx, params, opts)

    return opener


if HAVE_DTLS:
    register("OPENSSL-DTLS-CLIENT", ("host", "port"), "FD,SOCKET,CHILD,RETRY,IP4,IP6,UDP,IPAPP,OPENSSL",
             _lazy_dtls(False), "OPENSSL-DTLS-CONNECT", "DTLS", "DTLS-C", "DTLS-CLIENT", "DTLS-CONNECT",
             checks=(None, parse_port), help="DTLS client over UDP (verifies the server by default)", waits=True)
    register("OPENSSL-DTLS-SERVER", ("port",), "FD,SOCKET,LISTEN,CHILD,RETRY,RANGE,IP4,IP6,UDP,IPAPP,OPENSSL",
             _lazy_dtls(True), "OPENSSL-DTLS-LISTEN", "DTLS-L", "DTLS-LISTEN", "DTLS-SERVER", checks=(parse_port,),
             help="DTLS server over UDP, one peer (a child per peer with fork)", serves=True)
