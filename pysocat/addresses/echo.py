"""PIPE (unnamed pipe or, with a path, a named FIFO) and SOCKETPAIR: echo addresses."""

from __future__ import annotations

import os
import socket

from ..core.endpoint import Endpoint
from ..errors import SocatError
from ..options import OptionSet
from ..registry import OpenContext, register
from .common import fd_endpoint
from .files import named_pipe


def pipe(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    """PIPE: what is written comes back to be read; PIPE:<path> is a FIFO."""
    if params:
        return named_pipe(ctx, params[0], opts)
    try:
        rfd, wfd = os.pipe()
    except OSError as exc:
        raise SocatError(f"pipe(): {exc.strerror}") from None
    # our own pipe, both ends in this loop: a blocking write into a full pipe would
    # stop the very loop that drains it
    os.set_blocking(rfd, False)
    os.set_blocking(wfd, False)
    ep = fd_endpoint(ctx, opts, rfd, wfd)
    return ep


def socketpair(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    """SOCKETPAIR: a datagram socketpair used as an echo, like PIPE."""
    try:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    except OSError as exc:
        raise SocatError(f"socketpair(): {exc.strerror}") from None
    rfd, wfd = a.detach(), b.detach()
    os.set_blocking(rfd, False)
    os.set_blocking(wfd, False)
    return fd_endpoint(ctx, opts, rfd, wfd, datagram=True)


register("PIPE", ("filename",), "FD,FIFO,NAMED,OPEN", pipe, "FIFO", "ECHO", optional=1, features=("PIPE",),
         help="unnamed pipe (echo) or, with a path, a named pipe")
register("SOCKETPAIR", (), "FD,SOCKET", socketpair, features=("SOCKETPAIR",), help="socketpair echo")
