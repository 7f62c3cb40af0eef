"""OPENSSL (TLS client) and OPENSSL-LISTEN (TLS server): registration only.

The TLS code, and with it the ssl module, is loaded when such an address is
opened (pysocat.tls), so other runs do not pay for it at start-up.
"""

from __future__ import annotations

import socket

from ..endpoint import Endpoint
from ..options import OptionSet
from ..registry import OpenContext, Opener, register
from ..sockets import parse_port


def _lazy(server: bool, base: int) -> Opener:
    def opener(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        from .. import tls

        return (tls._server if server else tls._client)(base)(ctx, params, opts)

    return opener


_C = "FD,SOCKET,CHILD,RETRY,IP4,IP6,TCP,IPAPP,OPENSSL"
_L = "FD,SOCKET,LISTEN,CHILD,RETRY,RANGE,IP4,IP6,TCP,IPAPP,OPENSSL"
register("OPENSSL", ("host", "port"), _C, _lazy(False, socket.AF_UNSPEC), "OPENSSL-CONNECT", "SSL",
         checks=(None, parse_port), features=("OPENSSL",), help="TLS client (verifies the server by default)")
register("OPENSSL-LISTEN", ("port",), _L, _lazy(True, socket.AF_UNSPEC), "SSL-L", checks=(parse_port,),
         help="TLS server (requires a client certificate unless verify=0)")
