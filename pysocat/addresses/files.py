"""OPEN, CREATE, GOPEN and PIPE:<path> (named FIFO)."""

from __future__ import annotations

import os
import stat

from ..core import log
from ..core.endpoint import Endpoint
from ..errors import SocatError
from ..net.sockets import apply_named, is_socket, remover, take_named, unlink_early
from ..options import OptionSet
from ..registry import Dir, OpenContext, register
from .common import access_flags, fd_endpoint

_OPEN_FLAGS = {
    "creat": os.O_CREAT,
    "excl": os.O_EXCL,
    "append": os.O_APPEND,
    "trunc": os.O_TRUNC,
    "nofollow": os.O_NOFOLLOW,
    "sync": os.O_SYNC,
    "noatime": getattr(os, "O_NOATIME", 0),
    "noctty": os.O_NOCTTY,
    "nonblock": os.O_NONBLOCK,
    "direct": getattr(os, "O_DIRECT", 0),
}
_ACCESS = {"rdonly": os.O_RDONLY, "wronly": os.O_WRONLY, "rdwr": os.O_RDWR}


def _flags(opts: OptionSet, base: int) -> int:
    flags = base
    for name, mode in _ACCESS.items():
        if opts.get(name):
            flags = (flags & ~os.O_ACCMODE) | mode
    for name, bit in _OPEN_FLAGS.items():
        value = opts.get(name)
        if value is True:
            flags |= bit
        elif value is False:
            flags &= ~bit
    return flags


def _early(path: str, opts: OptionSet) -> None:
    if opts.get("unlink-early"):
        unlink_early(path)
    early = opts.get("perm-early")
    if early is not None and os.path.lexists(path):
        try:
            os.chmod(path, early)
        except OSError as exc:
            raise SocatError(f'chmod("{path}", {early:#o}): {exc.strerror}') from None


def _open(path: str, flags: int, mode: int) -> int:
    try:
        return os.open(path, flags | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise SocatError(f'open("{path}", 0{flags:o}, 0{mode:o}): {exc.strerror}') from None


def _file_endpoint(ctx: OpenContext, opts: OptionSet, path: str, fd: int) -> Endpoint:
    ep = fd_endpoint(ctx, opts, fd, fd)
    if opts.get("unlink-late"):
        remover(path)()
    elif opts.get("unlink-close"):
        ep.cleanups.append(remover(path))
    return ep


def open_file(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    """OPEN:<filename>: open() an existing entry (creat to create it)."""
    path = params[0]
    _early(path, opts)
    fd = _open(path, _flags(opts, access_flags(ctx.direction)), opts.get("perm", 0o666))
    return _file_endpoint(ctx, opts, path, fd)


def create_file(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    """CREATE:<filename>: creat(), write only."""
    path = params[0]
    _early(path, opts)
    fd = _open(path, _flags(opts, os.O_CREAT | os.O_WRONLY | os.O_TRUNC), opts.get("perm", 0o666))
    return _file_endpoint(ctx, opts, path, fd)


def gopen(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    """GOPEN:<filename>: a UNIX socket is connected; anything else opened (append/create)."""
    path = params[0]
    _early(path, opts)
    if is_socket(path):
        from .unix import connect_path

        return connect_path(ctx, path, opts, allow_dgram=True)
    base = access_flags(ctx.direction) | os.O_CREAT
    if ctx.direction & Dir.WRITE:
        base |= os.O_APPEND
    fd = _open(path, _flags(opts, base), opts.get("perm", 0o666))
    return _file_endpoint(ctx, opts, path, fd)


def named_pipe(ctx: OpenContext, path: str, opts: OptionSet) -> Endpoint:
    """PIPE:<filename>: open a FIFO, creating it (and removing it at close) if missing."""
    _early(path, opts)
    created = False
    try:
        st = os.stat(path)
        if not stat.S_ISFIFO(st.st_mode):
            log.warn(f'"{path}" exists and is not a named pipe')
    except FileNotFoundError:
        named = take_named(opts)  # applied to the new FIFO before the (blocking) open
        mode = 0o666 if named[0] is None else named[0]
        try:
            os.mkfifo(path, mode)
        except OSError as exc:
            raise SocatError(f'mkfifo("{path}", 0{mode:o}): {exc.strerror}') from None
        created = True
    cleanup = remover(path) if opts.get("unlink-close", created) else None
    try:
        if created:
            apply_named(path, named)
        fd = _open(path, _flags(opts, access_flags(ctx.direction)), 0o666)
    except BaseException:  # also a signal while open() waits for the other side
        if cleanup is not None:
            cleanup()
        raise
    ep = fd_endpoint(ctx, opts, fd, fd)
    if cleanup is not None:
        ep.cleanups.append(cleanup)
    return ep


_FILE = "FD,REG,NAMED,OPEN,FIFO,CHR,BLK,TERMIOS"
register("OPEN", ("filename",), _FILE, open_file, "FILE", features=("FILE",), help="open() a file")
register("CREATE", ("filename",), "FD,REG,NAMED,OPEN", create_file, "CREAT", features=("CREAT",),
         help="create a file (write only)", directions=Dir.WRITE)
register("GOPEN", ("filename",), _FILE + ",SOCKET,UNIX", gopen, features=("GOPEN",),
         help="generic open: file, device, FIFO or UNIX socket")
