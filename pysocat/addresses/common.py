"""Helpers shared by the family modules (fd endpoints, open flags)."""

from __future__ import annotations

import os

from ..core.endpoint import Conversions, Endpoint
from ..options import OptionSet, Phase
from ..registry import Dir, OpenContext


def access_flags(direction: Dir) -> int:
    """O_RDONLY / O_WRONLY / O_RDWR for how the address will be used."""
    if direction == Dir.READ:
        return os.O_RDONLY
    if direction == Dir.WRITE:
        return os.O_WRONLY
    return os.O_RDWR


def fd_endpoint(
    ctx: OpenContext, opts: OptionSet, rfd: int | None, wfd: int | None, *, datagram: bool = False,
    keep: tuple[int, ...] = (),
) -> Endpoint:
    """An endpoint over descriptors, with FD and LATE options applied."""
    rfd = rfd if ctx.direction & Dir.READ else None
    wfd = wfd if ctx.direction & Dir.WRITE else None
    for fd in {rfd, wfd} - {None}:
        assert fd is not None
        opts.apply(Phase.FD, fd)
        opts.apply(Phase.LATE, fd)
    ep = Endpoint(
        name=ctx.spec.text, rfd=rfd, wfd=wfd, datagram=datagram, conv=Conversions.from_options(opts), keep_fds=keep
    )
    ep.borrowed = ctx.rt.library
    return ep
