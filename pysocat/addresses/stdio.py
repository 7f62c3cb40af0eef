"""STDIO (``-``), STDIN, STDOUT, STDERR and FD:<num>."""

from __future__ import annotations

import os

from ..core.endpoint import Endpoint
from ..errors import SocatError, SpecError
from ..options import OptionSet
from ..registry import Dir, OpenContext, Opener, register
from .common import fd_endpoint

GROUPS = "FD,FIFO,CHR,BLK,REG,SOCKET,TERMIOS,UNIX,IP4,IP6,UDP,TCP"

_NAMES = {0: "standard input", 1: "standard output", 2: "standard error"}


def guard_standard_fds() -> frozenset[int]:
    """Hold closed fds 0-2 with /dev/null so nothing else lands on them; which were closed."""
    closed: set[int] = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.add(fd)
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    return frozenset(closed)


def _check(ctx: OpenContext, fds: tuple[int, ...]) -> None:
    for fd in fds:
        if fd in ctx.rt.closed_stdio:
            raise SocatError(f"{_NAMES[fd]} (fd {fd}) is closed")


def _std(rfd: int | None, wfd: int | None) -> Opener:
    def opener(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
        used = tuple(fd for fd, way in ((rfd, Dir.READ), (wfd, Dir.WRITE)) if fd is not None and ctx.direction & way)
        _check(ctx, used)
        return fd_endpoint(ctx, opts, rfd, wfd, keep=(0, 1, 2))

    return opener


def open_fd(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    """FD:<num>: an already open descriptor."""
    text = params[0].strip()
    if not text.isdigit():
        raise SpecError(f'FD: "{text}" is not a file descriptor number')
    fd = int(text)
    try:
        os.fstat(fd)
    except OSError as exc:
        raise SocatError(f"fstat({fd}): {exc.strerror}") from None
    _check(ctx, (fd,))
    return fd_endpoint(ctx, opts, fd, fd, keep=(fd,))


register("STDIO", (), GROUPS, _std(0, 1), features=("STDIO",), help="standard input and output")
register("STDIN", (), GROUPS, _std(0, None), help="standard input", directions=Dir.READ)
register("STDOUT", (), GROUPS, _std(None, 1), help="standard output", directions=Dir.WRITE)
register("STDERR", (), GROUPS, _std(None, 2), help="standard error", directions=Dir.WRITE)
register("FD", ("num",), GROUPS, open_fd, features=("FDNUM",), help="an already open file descriptor")
