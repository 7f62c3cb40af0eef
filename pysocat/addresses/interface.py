"""INTERFACE:<name>: a packet socket (AF_PACKET) bound to a network interface.

As socat: ``socket(PF_PACKET, SOCK_RAW, 0)`` bound to the interface for every
protocol (ETH_P_ALL); what is read is one whole frame with its link-level header
(none on a TUN device), and each write sends one frame out of the interface.
``so-type=2`` (SOCK_DGRAM) gives cooked packets instead.  The ``iff-*`` options
set or clear interface flags (e.g. ``iff-promisc``).  Needs root (CAP_NET_RAW).
"""

from __future__ import annotations

import socket

from ..core import log
from ..core.endpoint import Endpoint
from ..errors import SocatError
from ..net.dgram import make_endpoint
from ..net.sockets import new_socket
from ..options import OptionSet, Phase
from ..registry import OpenContext, register
from .tun import iff_masks, set_flags

ETH_P_ALL = 0x0003


def open_interface(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    name = params[0]
    try:
        socket.if_nametoindex(name)
    except OSError:
        raise SocatError(f'unknown interface "{name}"') from None
    on, off = iff_masks(opts)
    sock = new_socket(socket.AF_PACKET, opts.get("so-type", socket.SOCK_RAW), opts, opts.get("so-protocol", 0))
    try:
        try:
            sock.bind((name, ETH_P_ALL))
        except OSError as exc:
            raise SocatError(f'bind({sock.fileno()}, {{AF=17 "{name}"}}): {exc.strerror}') from None
        opts.apply(Phase.PASTBIND, sock.fileno())
        set_flags(name, on, off)
    except BaseException:
        sock.close()
        raise
    log.notice(f'sending and receiving packets on interface "{name}"')
    return make_endpoint(ctx, sock, opts, target=(name, ETH_P_ALL))


register("INTERFACE", ("interface",), "FD,SOCKET,INTERFACE", open_interface, features=("INTERFACE",),
         help="a packet socket on a network interface: one read or write is one link-level frame")
