"""The one option table: every address option declared once, typed and phased.

The spec parser hands raw ``(name, value)`` pairs to :func:`resolve`, which checks
names, aliases, groups and values and returns an :class:`OptionSet`.  Openers ask
the set for special values (``opts.get``) and let it apply declarative options to
a descriptor at each :class:`Phase` (``opts.apply``).  ``-hh``, the man-page test
and the parser all read :data:`TABLE`.
"""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
import socket
from collections.abc import Callable, Iterable
from enum import Enum, IntEnum
from typing import Any, NamedTuple

from .errors import SpecError


class Phase(IntEnum):
    """When, inside an open, an option takes effect (socat's phases, in order)."""

    INIT = 0
    EARLY = 1
    PREOPEN = 2
    OPEN = 3
    FD = 4
    PASTSOCKET = 5
    PREBIND = 6
    BIND = 7
    PASTBIND = 8
    PRELISTEN = 9
    LISTEN = 10
    PRECONNECT = 11
    CONNECT = 12
    PASTCONNECT = 13
    ACCEPT = 14
    LATE = 15
    TRANSFER = 16


class OptType(Enum):
    """Value types, with their parsers below."""

    BOOL = "BOOL"
    INT = "INT"
    SIZE = "SIZE"
    TIME = "TIMEVAL"
    MODE = "MODE_T"
    USER = "USER"
    GROUP = "GROUP"
    STRING = "STRING"
    CHAR = "CHAR"
    SOCKOPT = "SOCKOPT"


Applier = Callable[[int, Any], None]


class OptionDesc(NamedTuple):
    """One row of the table."""

    name: str
    type: OptType
    groups: frozenset[str]
    phase: Phase
    aliases: tuple[str, ...] = ()
    apply: Applier | None = None
    lo: int | None = None
    hi: int | None = None
    help: str = ""


# --- value parsers ---------------------------------------------------------------

_TRUE = {"1", "yes", "true", "on"}
_FALSE = {"0", "no", "false", "off"}


def _bad(desc: OptionDesc, raw: str | None, expect: str) -> SpecError:
    shown = desc.name if raw is None else f"{desc.name}={raw}"
    return SpecError(f'invalid value for option "{shown}": {expect}')


def _int(desc: OptionDesc, raw: str | None, base: int = 0) -> int:
    if raw is None or not raw.strip():
        raise _bad(desc, raw, "missing numerical value")
    text = raw.strip()
    digits = text.lstrip("+-")
    if not text.isascii() or not digits[:1].isdigit():
        raise _bad(desc, raw, "missing numerical value")
    if base == 0 and len(text) > 1 and text[0] == "0" and text.isdigit():
        base = 8  # C strtol semantics, as socat: a leading zero means octal
    try:
        value = int(text, base)
    except ValueError:
        raise _bad(desc, raw, "trailing garbage after the number") from None
    lo = desc.lo if desc.lo is not None else -(2**31)
    hi = desc.hi if desc.hi is not None else 2**31 - 1
    if not lo <= value <= hi:
        raise _bad(desc, raw, f"out of range {lo}..{hi}")
    return value


ID_MAX = 2**32 - 2  # (uid_t)-1 means "unchanged"


def _ident(desc: OptionDesc, raw: str | None, kind: str, by_name: Callable[[str], int]) -> int:
    """A user or group name, or a numeric id in 0..2**32-2."""
    if not raw:
        raise _bad(desc, raw, f"missing {kind} name or id")
    if raw.isascii() and raw.isdigit():
        value = int(raw)
        if value > ID_MAX:
            raise _bad(desc, raw, f"{kind} id out of range 0..{ID_MAX}")
        return value
    if "\0" in raw:
        raise _bad(desc, raw, f"invalid {kind} name")
    try:
        return by_name(raw)
    except KeyError:
        raise _bad(desc, raw, f'unknown {kind} "{raw}"') from None


def parse_value(desc: OptionDesc, raw: str | None) -> Any:
    """Convert the raw text of an option value to its typed value."""
    t = desc.type
    if t is OptType.BOOL:
        if raw is None:
            return True
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise _bad(desc, raw, "expected 0 or 1")
    if t is OptType.INT:
        return _int(desc, raw)
    if t is OptType.SIZE:
        if raw is None:
            raise _bad(desc, raw, "missing numerical value")
        return _int(desc, raw)
    if t is OptType.TIME:
        try:
            value = float(raw) if raw is not None else None
        except ValueError:
            value = None
        if value is None or value != value or value < 0 or value == float("inf"):
            raise _bad(desc, raw, "expected seconds (e.g. 1.5)")
        return value
    if t is OptType.MODE:
        if raw is None:
            raise _bad(desc, raw, "missing octal mode")
        try:
            mode = int(raw, 8)
        except ValueError:
            raise _bad(desc, raw, "expected an octal mode like 0600") from None
        if not 0 <= mode <= 0o7777:
            raise _bad(desc, raw, "octal mode out of range 0..7777")
        return mode
    if t is OptType.USER:
        return _ident(desc, raw, "user", lambda name: pwd.getpwnam(name).pw_uid)
    if t is OptType.GROUP:
        return _ident(desc, raw, "group", lambda name: grp.getgrnam(name).gr_gid)
    if t is OptType.CHAR:
        if raw is None or raw == "":
            raise _bad(desc, raw, "missing character")
        if len(raw) == 1:
            return ord(raw)
        try:
            value = int(raw, 0)
        except ValueError:
            raise _bad(desc, raw, "expected one character or its code like 0x1d") from None
        if not 0 <= value <= 255:
            raise _bad(desc, raw, "character code out of range 0..255")
        return value
    if t is OptType.SOCKOPT:
        return _sockopt_value(desc, raw)
    if raw is None:
        raise _bad(desc, raw, "missing value")
    return raw


def _sockopt_value(desc: OptionDesc, raw: str | None) -> tuple[int, int, int | bytes]:
    """``level:optname:value``; value as int, ``x<hex>`` bytes, or a string."""
    parts = (raw or "").split(":", 2)
    if len(parts) != 3:
        raise _bad(desc, raw, "expected <level>:<optname>:<value>")
    try:
        level, name = int(parts[0], 0), int(parts[1], 0)
    except ValueError:
        raise _bad(desc, raw, "level and optname must be numbers") from None
    text = parts[2]
    kind = desc.name.rsplit("-", 1)[-1]
    if kind == "bin" or (kind in ("setsockopt", "listen") and text[:1] in ("x", "X")):
        hexdigits = text[1:] if text[:1] in ("x", "X") else text
        try:
            return level, name, bytes.fromhex(hexdigits)
        except ValueError:
            raise _bad(desc, raw, "expected x followed by hex digits") from None
    if kind == "string":
        return level, name, text.encode() + b"\0"
    try:
        return level, name, int(text, 0)
    except ValueError:
        raise _bad(desc, raw, "expected an integer value") from None


# --- appliers ---------------------------------------------------------------------


def _sockopt(level: int, opt: int) -> Applier:
    def apply(fd: int, value: Any) -> None:
        sock = socket.socket(fileno=fd)
        try:
            sock.setsockopt(level, opt, int(value))
        finally:
            sock.detach()

    return apply


def _linger(fd: int, value: Any) -> None:
    import struct

    sock = socket.socket(fileno=fd)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, int(value)))
    finally:
        sock.detach()


def _generic_sockopt(fd: int, value: Any) -> None:
    level, name, data = value
    sock = socket.socket(fileno=fd)
    try:
        sock.setsockopt(level, name, data)
    finally:
        sock.detach()


def _fl(flag: int) -> Applier:
    def apply(fd: int, value: Any) -> None:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, (flags | flag) if value else (flags & ~flag))

    return apply


def _cloexec(fd: int, value: Any) -> None:
    os.set_inheritable(fd, not value)


def _fchown_user(fd: int, value: Any) -> None:
    os.fchown(fd, int(value), -1)


def _fchown_group(fd: int, value: Any) -> None:
    os.fchown(fd, -1, int(value))


def _fchmod(fd: int, value: Any) -> None:
    os.fchmod(fd, int(value))


def _lock(op: int) -> Applier:
    def apply(fd: int, value: Any) -> None:
        if value:
            fcntl.flock(fd, op)

    return apply


def _record_lock(kind: int, wait: bool) -> Applier:
    def apply(fd: int, value: Any) -> None:
        if value:
            fcntl.lockf(fd, kind if wait else kind | fcntl.LOCK_NB)

    return apply


def _umask(fd: int, value: Any) -> None:
    os.umask(int(value))


def _setsid(fd: int, value: Any) -> None:
    if value:
        os.setsid()


FS_IOC_GETFLAGS, FS_IOC_SETFLAGS = 0x80086601, 0x40086602


def _fs_flag(bit: int) -> Applier:
    """chattr-style inode flags (FS_IOC_SETFLAGS), as socat's fs-* options."""

    def apply(fd: int, value: Any) -> None:
        import array

        flags = array.array("i", [0])
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, flags, True)
        flags[0] = (flags[0] | bit) if value else (flags[0] & ~bit)
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, flags, True)

    return apply


def _seek(whence: int) -> Applier:
    def apply(fd: int, value: Any) -> None:
        os.lseek(fd, int(value), whence)

    return apply


# --- the table --------------------------------------------------------------------

TABLE: list[OptionDesc] = []


def _opt(
    name: str,
    type_: OptType,
    groups: str,
    phase: Phase,
    *aliases: str,
    apply: Applier | None = None,
    lo: int | None = None,
    hi: int | None = None,
    help: str = "",
) -> None:
    TABLE.append(
        OptionDesc(name, type_, frozenset(groups.split(",")), phase, aliases, apply, lo, hi, help)
    )


B, N, S, T = OptType.BOOL, OptType.INT, OptType.STRING, OptType.TIME
SIZE_MAX = 2**63 - 1

# Application-level options, valid for every address (socat's APPL group).
_opt("readbytes", OptType.SIZE, "APPL", Phase.TRANSFER, "bytes", lo=0, hi=SIZE_MAX,
     help="read at most this many bytes from the address, then treat it as EOF")
_opt("ignoreeof", B, "APPL", Phase.TRANSFER, help="on EOF keep reading (like tail -f)")
_opt("crlf", B, "APPL", Phase.TRANSFER, "crnl", help="convert LF to CRLF when writing, CRLF to LF when reading")
_opt("cr", B, "APPL", Phase.TRANSFER, help="convert LF to CR when writing, CR to LF when reading")
_opt("escape", OptType.CHAR, "APPL", Phase.TRANSFER, help="a byte read from this address that acts as EOF")
_opt("shut-none", B, "APPL", Phase.TRANSFER, help="do not shut down this address on EOF of the other")
_opt("shut-down", B, "APPL", Phase.TRANSFER, help="shutdown(SHUT_WR) this address on EOF of the other")
_opt("shut-close", B, "APPL", Phase.TRANSFER, help="close this address on EOF of the other")
_opt("lockfile", S, "APPL", Phase.INIT, help="fail when this lock file exists, else create it")
_opt("waitlock", S, "APPL", Phase.INIT, help="wait until this lock file can be created")

# Descriptor options.
_opt("nonblock", B, "FD", Phase.FD, "o-nonblock", "o-ndelay", "ndelay", apply=_fl(os.O_NONBLOCK), help="set O_NONBLOCK")
_opt("cloexec", B, "FD", Phase.FD, apply=_cloexec, help="set FD_CLOEXEC")
_opt("user", OptType.USER, "FD", Phase.FD, "owner", "uid", apply=_fchown_user, help="change owner of the file or socket")
_opt("group", OptType.GROUP, "FD", Phase.FD, "gid", apply=_fchown_group, help="change group of the file or socket")
_opt("perm", OptType.MODE, "FD", Phase.FD, "mode", apply=_fchmod, help="permissions (octal), also used at creation")

_opt("cool-write", B, "FD", Phase.TRANSFER, "coolwrite",
     help="EPIPE or ECONNRESET when writing here ends the direction quietly (N line), not with an error")
_opt("shut-null", B, "FD", Phase.TRANSFER, help="on EOF of the other address send an empty packet here")
_opt("null-eof", B, "FD", Phase.TRANSFER, help="an empty packet read from here means EOF")
_opt("end-close", B, "FD", Phase.TRANSFER,
     help="the address is shared: no shutdown on EOF, no kill of an EXEC child; its fds are just closed at the end")
_opt("perm-late", OptType.MODE, "FD", Phase.LATE, apply=_fchmod, help="chmod after the address is open")
_opt("user-late", OptType.USER, "FD", Phase.LATE, apply=_fchown_user, help="chown after the address is open")
_opt("group-late", OptType.GROUP, "FD", Phase.LATE, apply=_fchown_group, help="chgrp after the address is open")
_opt("flock-ex", B, "FD", Phase.FD, apply=_lock(fcntl.LOCK_EX), help="flock() exclusive, waiting")
_opt("flock-ex-nb", B, "FD", Phase.FD, "flock-nb", apply=_lock(fcntl.LOCK_EX | fcntl.LOCK_NB),
     help="flock() exclusive, failing if locked")
_opt("flock-sh", B, "FD", Phase.FD, apply=_lock(fcntl.LOCK_SH), help="flock() shared, waiting")
_opt("flock-sh-nb", B, "FD", Phase.FD, apply=_lock(fcntl.LOCK_SH | fcntl.LOCK_NB), help="flock() shared, failing if locked")
_opt("f-setlk-wr", B, "FD", Phase.FD, "setlk", "f-setlk", apply=_record_lock(fcntl.LOCK_EX, False),
     help="fcntl write lock, failing if locked")
_opt("f-setlkw-wr", B, "FD", Phase.FD, "setlkw", "f-setlkw", "lock", apply=_record_lock(fcntl.LOCK_EX, True),
     help="fcntl write lock, waiting")
_opt("f-setlk-rd", B, "FD", Phase.FD, "setlk-rd", apply=_record_lock(fcntl.LOCK_SH, False),
     help="fcntl read lock, failing if locked")
_opt("f-setlkw-rd", B, "FD", Phase.FD, "setlkw-rd", apply=_record_lock(fcntl.LOCK_SH, True),
     help="fcntl read lock, waiting")

# Named file system entries.
_opt("umask", OptType.MODE, "NAMED", Phase.EARLY, apply=_umask, help="set the process umask before creating entries")
_opt("unlink-late", B, "NAMED", Phase.LATE, help="remove the entry right after opening it")
_opt("perm-early", OptType.MODE, "NAMED", Phase.PREOPEN, help="chmod the existing entry before opening it")
_opt("unlink-early", B, "NAMED", Phase.EARLY, help="remove a stale UNIX socket at the path first (never another file type)")
_opt("unlink-close", B, "NAMED", Phase.LATE, help="remove the entry when the address is closed")

# open() flags.
_opt("creat", B, "OPEN", Phase.OPEN, "o-creat", "create", help="O_CREAT: create the file if missing")
_opt("excl", B, "OPEN", Phase.OPEN, "o-excl", help="O_EXCL: fail when the file exists (with creat)")
_opt("append", B, "OPEN", Phase.OPEN, "o-append", help="O_APPEND")
_opt("trunc", B, "OPEN", Phase.OPEN, "o-trunc", help="O_TRUNC")
_opt("nofollow", B, "OPEN", Phase.OPEN, "o-nofollow", help="O_NOFOLLOW: refuse a symlink")
_opt("sync", B, "OPEN", Phase.OPEN, "o-sync", help="O_SYNC")
_opt("noatime", B, "OPEN,FD", Phase.FD, "o-noatime", apply=_fl(getattr(os, "O_NOATIME", 0)),
     help="O_NOATIME: do not update the access time")
_opt("direct", B, "OPEN", Phase.OPEN, "o-direct", help="O_DIRECT")
_opt("rdonly", B, "OPEN", Phase.OPEN, "o-rdonly", help="O_RDONLY: open for reading only")
_opt("wronly", B, "OPEN", Phase.OPEN, "o-wronly", help="O_WRONLY: open for writing only")
_opt("rdwr", B, "OPEN", Phase.OPEN, "o-rdwr", help="O_RDWR: open for reading and writing")
_opt("noctty", B, "OPEN", Phase.OPEN, "o-noctty", help="O_NOCTTY")

_opt("ftruncate", OptType.SIZE, "REG", Phase.LATE, "truncate", apply=lambda fd, v: os.ftruncate(fd, int(v)),
     lo=0, hi=SIZE_MAX, help="truncate the file to this size after opening")
_opt("fs-noatime", B, "REG", Phase.FD, "ext2-noatime", apply=_fs_flag(0x80), help="inode flag: no atime updates (chattr +A)")
_opt("fs-append", B, "REG", Phase.FD, "ext2-append", apply=_fs_flag(0x20), help="inode flag: append only (chattr +a)")
_opt("fs-immutable", B, "REG", Phase.FD, "ext2-immutable", apply=_fs_flag(0x10),
     help="inode flag: immutable (chattr +i)")
_opt("fs-sync", B, "REG", Phase.FD, "ext2-sync", apply=_fs_flag(0x08), help="inode flag: synchronous updates (chattr +S)")
_opt("fs-nodump", B, "REG", Phase.FD, "ext2-nodump", apply=_fs_flag(0x40), help="inode flag: no dump (chattr +d)")
_opt("seek", OptType.SIZE, "REG", Phase.LATE, "lseek", "seek-set",
     apply=_seek(os.SEEK_SET), lo=0, hi=SIZE_MAX,
     help="seek to this offset after opening")
_opt("seek-cur", OptType.INT, "REG", Phase.LATE, apply=_seek(os.SEEK_CUR),
     lo=-(2**62), hi=2**62, help="seek relative to the current offset")
_opt("seek-end", OptType.INT, "REG", Phase.LATE, apply=_seek(os.SEEK_END),
     lo=-(2**62), hi=2**62, help="seek relative to the end of the file")

# Sockets.
_opt("reuseaddr", B, "SOCKET", Phase.PASTSOCKET, "so-reuseaddr",
     apply=_sockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR), help="SO_REUSEADDR")
_opt("reuseport", B, "SOCKET", Phase.PASTSOCKET, "so-reuseport",
     apply=_sockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT), help="SO_REUSEPORT")
_opt("keepalive", B, "SOCKET", Phase.PASTSOCKET, "so-keepalive",
     apply=_sockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE), help="SO_KEEPALIVE")
_opt("rcvbuf", N, "SOCKET", Phase.PASTSOCKET, "so-rcvbuf", "recvbuf",
     apply=_sockopt(socket.SOL_SOCKET, socket.SO_RCVBUF), lo=0, hi=2**31 - 1, help="SO_RCVBUF size")
_opt("sndbuf", N, "SOCKET", Phase.PASTSOCKET, "so-sndbuf", "sendbuf",
     apply=_sockopt(socket.SOL_SOCKET, socket.SO_SNDBUF), lo=0, hi=2**31 - 1, help="SO_SNDBUF size")
_opt("linger", N, "SOCKET", Phase.PASTSOCKET, "so-linger", apply=_linger, lo=0, hi=2**31 - 1,
     help="SO_LINGER seconds")
_opt("setsockopt", OptType.SOCKOPT, "SOCKET", Phase.PASTSOCKET, "sockopt", apply=_generic_sockopt,
     help="<level>:<optname>:<int or x-hex>")
_opt("setsockopt-int", OptType.SOCKOPT, "SOCKET", Phase.PASTSOCKET, "sockopt-int", apply=_generic_sockopt,
     help="<level>:<optname>:<int>")
_opt("setsockopt-bin", OptType.SOCKOPT, "SOCKET", Phase.PASTSOCKET, "sockopt-bin", apply=_generic_sockopt,
     help="<level>:<optname>:x<hex>")
_opt("setsockopt-string", OptType.SOCKOPT, "SOCKET", Phase.PASTSOCKET, "sockopt-string",
     apply=_generic_sockopt, help="<level>:<optname>:<text>")
_opt("setsockopt-listen", OptType.SOCKOPT, "LISTEN", Phase.PASTSOCKET, "sockopt-listen", apply=_generic_sockopt,
     help="<level>:<optname>:<int or x-hex> on the listening socket only")
_opt("bind", S, "SOCKET", Phase.BIND, help="local address to bind before connecting or listening")
_opt("connect-timeout", T, "SOCKET", Phase.CONNECT, help="give up connecting after this many seconds")
_opt("pf", S, "SOCKET", Phase.INIT, "protocol-family", help="ip4 or ip6: address family to use")

# IP and TCP.
_opt("ipv6-v6only", B, "IP6", Phase.PASTSOCKET, "ipv6only",
     apply=_sockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY), help="IPV6_V6ONLY")
_opt("nodelay", B, "TCP", Phase.PASTSOCKET, "tcp-nodelay",
     apply=_sockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), help="TCP_NODELAY")
_opt("keepidle", N, "TCP", Phase.PASTSOCKET, "tcp-keepidle",
     apply=_sockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE), lo=1, hi=32767, help="TCP_KEEPIDLE seconds")
_opt("keepintvl", N, "TCP", Phase.PASTSOCKET, "tcp-keepintvl",
     apply=_sockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL), lo=1, hi=32767, help="TCP_KEEPINTVL seconds")
_opt("keepcnt", N, "TCP", Phase.PASTSOCKET, "tcp-keepcnt",
     apply=_sockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT), lo=1, hi=127, help="TCP_KEEPCNT probes")
_opt("maxseg", N, "TCP", Phase.PASTSOCKET, "mss", "tcp-maxseg",
     apply=_sockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG), lo=1, hi=65535, help="TCP_MAXSEG")
_opt("sourceport", N, "IPAPP", Phase.BIND, "sp", lo=0, hi=65535,
     help="client: bind this source port; listener: accept only peers from it")
_opt("lowport", B, "IPAPP", Phase.BIND, help="client: bind a port in 640..1023; listener: accept only such peers")

# Listening and children.
_opt("backlog", N, "LISTEN", Phase.LISTEN, lo=0, hi=2**31 - 1, help="listen() backlog (default SOMAXCONN)")
_opt("accept-timeout", T, "LISTEN", Phase.ACCEPT, "listen-timeout", help="give up waiting for a peer after seconds")
_opt("range", S, "RANGE", Phase.ACCEPT, help="accept only peers in <addr>/<bits> or <addr>:<mask>")
_opt("tcpwrap", S, "RANGE", Phase.ACCEPT, "tcpwrappers", "libwrap",
     help="check peers with TCP wrappers under this daemon name (hosts.allow/hosts.deny)")
_opt("hosts-allow", S, "RANGE", Phase.ACCEPT, "tcpwrap-hosts-allow-table", "allow-table",
     help="TCP wrappers allow table instead of /etc/hosts.allow")
_opt("hosts-deny", S, "RANGE", Phase.ACCEPT, "tcpwrap-hosts-deny-table", "deny-table",
     help="TCP wrappers deny table instead of /etc/hosts.deny")
_opt("tcpwrap-etc", S, "RANGE", Phase.ACCEPT, "tcpwrap-dir", help="directory holding hosts.allow and hosts.deny")
_opt("fork", B, "CHILD", Phase.ACCEPT, help="serve each peer in a child process and keep listening")
_opt("max-children", N, "CHILD", Phase.ACCEPT, lo=1, hi=2**31 - 1,
     help="at most this many live children (with concurrent: open sessions)")
_opt("concurrent", B, "CHILD", Phase.ACCEPT,
     help="serve every peer in this one process's event loop (no fork); pysocat only")

# Child processes (EXEC, SYSTEM).
_opt("pipes", B, "EXEC", Phase.INIT, help="talk to the child over two pipes instead of a socketpair")
_opt("socketpair", B, "EXEC", Phase.INIT, help="talk to the child over a socketpair (default)")
_opt("stderr", B, "EXEC", Phase.INIT, help="the child's stderr goes to the channel too")
_opt("fdin", N, "EXEC", Phase.INIT, lo=0, hi=1023, help="the child reads the channel on this fd")
_opt("fdout", N, "EXEC", Phase.INIT, lo=0, hi=1023, help="the child writes the channel on this fd")
_opt("setsid", B, "EXEC,PROCESS", Phase.LATE, "sid", apply=_setsid,
     help="start a new session (the child's with EXEC/SYSTEM, else pysocat's own)")
_opt("setpgid", B, "EXEC", Phase.INIT, "pgid", help="the child starts a new process group")
_opt("path", S, "EXEC", Phase.INIT, help="PATH used to find the program")
_opt("nofork", B, "EXEC", Phase.INIT, help="exec the program in place of pysocat, on the first address's fds")
_opt("dash", B, "EXEC", Phase.INIT, "login", help="argv[0] starts with '-' (login shell)")

# Terminals and processes (issue 5).  Appliers for TERMIOS live in termios_opts.


def _su(fd: int, value: Any) -> None:
    from .privileges import switch_user

    switch_user(int(value))


def _setuid(fd: int, value: Any) -> None:
    os.setuid(int(value))


def _setgid(fd: int, value: Any) -> None:
    if os.geteuid() == 0:
        os.setgroups([int(value)])
    os.setgid(int(value))


def _chroot(fd: int, value: Any) -> None:
    os.chroot(str(value))
    os.chdir("/")


def _ctty(fd: int, value: Any) -> None:
    if value:
        from .termios_opts import ctty

        ctty(fd)


_opt("pty", B, "EXEC", Phase.INIT, help="talk to the child over a new pseudo terminal")
_opt("sigint", B, "EXEC", Phase.LATE, help="pass SIGINT to the child instead of ending pysocat")
_opt("sigquit", B, "EXEC", Phase.LATE, help="pass SIGQUIT to the child instead of ending pysocat")
_opt("sighup", B, "EXEC", Phase.LATE, help="pass SIGHUP to the child instead of ending pysocat")
_opt("substuser", OptType.USER, "PROCESS", Phase.LATE, "su", apply=_su,
     help="become this user (groups, gid and uid; after chroot)")
_opt("substuser-delayed", OptType.USER, "PROCESS", Phase.LATE, "su-d", apply=_su,
     help="become this user once the address is open (privileged set-up first)")
_opt("setuid", OptType.USER, "PROCESS", Phase.LATE, apply=_setuid, help="set the user id (after setgid)")
_opt("setgid", OptType.GROUP, "PROCESS", Phase.LATE, apply=_setgid, help="set the group id and supplementary groups")
_opt("chroot", S, "PROCESS", Phase.LATE, apply=_chroot, help="change the root directory (user resolved before)")
_opt("chroot-early", S, "PROCESS", Phase.EARLY, apply=_chroot, help="change the root directory before opening")

_opt("pty-wait-slave", B, "PTY", Phase.EARLY, "wait-slave", "waitslave",
     help="PTY: wait until a program opens the slave side")
_opt("pty-interval", T, "PTY", Phase.EARLY, "pty-intervall", help="PTY: seconds between checks for wait-slave")
_opt("symbolic-link", S, "PTY", Phase.LATE, "link", help="PTY: a symbolic link to the slave device")
_opt("openpty", B, "PTY", Phase.INIT, help="PTY: allocate with openpty() (the default)")
_opt("ptmx", B, "PTY", Phase.INIT, help="PTY: allocate through /dev/ptmx (same result on Linux)")

_opt("history-file", S, "READLINE", Phase.INIT, "history", help="READLINE: load and save the history in this file")
_opt("noprompt", B, "READLINE", Phase.INIT, help="READLINE: do not use the last output line as the prompt")
_opt("noecho", S, "READLINE", Phase.INIT, help="READLINE: after a prompt matching this regex read without echo")
_opt("prompt", S, "READLINE", Phase.INIT, help="READLINE: a fixed prompt")


def _termios_rows() -> None:
    import termios as t

    from . import termios_opts as to

    i, o, c, lf = to.IFLAG, to.OFLAG, to.CFLAG, to.LFLAG
    flags: list[tuple[str, int, int, tuple[str, ...], str]] = [
        ("ignbrk", i, t.IGNBRK, (), "ignore BREAK"), ("brkint", i, t.BRKINT, (), "BREAK sends SIGINT"),
        ("ignpar", i, t.IGNPAR, (), "ignore parity errors"), ("parmrk", i, t.PARMRK, (), "mark parity errors"),
        ("inpck", i, t.INPCK, (), "input parity check"), ("istrip", i, t.ISTRIP, (), "strip the eighth bit"),
        ("inlcr", i, t.INLCR, (), "translate NL to CR on input"), ("igncr", i, t.IGNCR, (), "ignore CR on input"),
        ("icrnl", i, t.ICRNL, (), "translate CR to NL on input"), ("iuclc", i, t.IUCLC, (), "map upper to lower case"),
        ("ixon", i, t.IXON, (), "XON/XOFF flow control on output"), ("ixany", i, t.IXANY, (), "any byte restarts"),
        ("ixoff", i, t.IXOFF, ("tandem",), "XON/XOFF flow control on input"),
        ("imaxbel", i, t.IMAXBEL, (), "ring the bell when the input queue is full"),
        ("opost", o, t.OPOST, (), "output processing"), ("olcuc", o, t.OLCUC, (), "map lower to upper case"),
        ("onlcr", o, t.ONLCR, (), "translate NL to CR-NL on output"), ("ocrnl", o, t.OCRNL, (), "translate CR to NL"),
        ("onocr", o, t.ONOCR, (), "no CR in column 0"), ("onlret", o, t.ONLRET, (), "NL does CR"),
        ("ofill", o, t.OFILL, (), "fill characters for delays"), ("ofdel", o, t.OFDEL, (), "fill character is DEL"),
        ("nldly", o, t.NLDLY, (), "newline delay"), ("ffdly", o, t.FFDLY, (), "form feed delay"),
        ("bsdly", o, t.BSDLY, (), "backspace delay"), ("vtdly", o, t.VTDLY, (), "vertical tab delay"),
        ("cstopb", c, t.CSTOPB, (), "two stop bits"), ("cread", c, t.CREAD, (), "enable the receiver"),
        ("parenb", c, t.PARENB, (), "parity generation and check"), ("parodd", c, t.PARODD, (), "odd parity"),
        ("hupcl", c, t.HUPCL, ("hup",), "hang up on last close"), ("clocal", c, t.CLOCAL, (), "ignore modem lines"),
        ("crtscts", c, t.CRTSCTS, (), "RTS/CTS flow control"),
        ("isig", lf, t.ISIG, (), "INTR, QUIT, SUSP generate signals"), ("icanon", lf, t.ICANON, (), "canonical mode"),
        ("xcase", lf, t.XCASE, (), "upper case terminal"), ("echo", lf, t.ECHO, (), "echo input"),
        ("echoe", lf, t.ECHOE, ("crterase",), "ERASE erases"), ("echok", lf, t.ECHOK, (), "KILL erases the line"),
        ("echonl", lf, t.ECHONL, (), "echo NL"), ("echoctl", lf, t.ECHOCTL, ("ctlecho",), "echo controls as ^X"),
        ("echoprt", lf, t.ECHOPRT, ("prterase",), "print erased characters"),
        ("echoke", lf, t.ECHOKE, ("crtkill",), "KILL erases each character"),
        ("flusho", lf, t.FLUSHO, (), "output is being flushed"), ("noflsh", lf, t.NOFLSH, (), "no flush after signals"),
        ("tostop", lf, t.TOSTOP, (), "SIGTTOU for background output"), ("pendin", lf, t.PENDIN, (), "reprint input"),
        ("iexten", lf, t.IEXTEN, (), "implementation-defined input processing"),
    ]
    for name, fld, bit, aliases, text in flags:
        _opt(name, B, "TERMIOS", Phase.FD, *aliases, apply=to.flag(fld, bit), help=f"termios: {text}")
    choices: list[tuple[str, int, int, int]] = [
        ("cs5", c, t.CSIZE, t.CS5), ("cs6", c, t.CSIZE, t.CS6), ("cs7", c, t.CSIZE, t.CS7), ("cs8", c, t.CSIZE, t.CS8),
        ("nl0", o, t.NLDLY, t.NL0), ("nl1", o, t.NLDLY, t.NL1),
        ("cr0", o, t.CRDLY, t.CR0), ("cr1", o, t.CRDLY, t.CR1), ("cr2", o, t.CRDLY, t.CR2), ("cr3", o, t.CRDLY, t.CR3),
        ("tab0", o, t.TABDLY, t.TAB0), ("tab1", o, t.TABDLY, t.TAB1), ("tab2", o, t.TABDLY, t.TAB2),
        ("tab3", o, t.TABDLY, t.TAB3), ("bs0", o, t.BSDLY, t.BS0), ("bs1", o, t.BSDLY, t.BS1),
        ("vt0", o, t.VTDLY, t.VT0), ("vt1", o, t.VTDLY, t.VT1), ("ff0", o, t.FFDLY, t.FF0), ("ff1", o, t.FFDLY, t.FF1),
    ]
    for name, fld, mask, value in choices:
        _opt(name, B, "TERMIOS", Phase.FD, apply=to.choice(fld, mask, value), help=f"termios: set {name}")
    _opt("xtabs", B, "TERMIOS", Phase.FD, apply=to.choice(o, t.TABDLY, t.XTABS), help="termios: expand tabs")
    _opt("csize", N, "TERMIOS", Phase.FD, lo=0, hi=3, apply=to.field_index(c, t.CSIZE, (t.CS5, t.CS6, t.CS7, t.CS8)),
         help="termios: character size 0..3 (cs5..cs8)")
    _opt("crdly", N, "TERMIOS", Phase.FD, lo=0, hi=3, apply=to.field_index(o, t.CRDLY, (t.CR0, t.CR1, t.CR2, t.CR3)),
         help="termios: carriage return delay 0..3")
    _opt("tabdly", N, "TERMIOS", Phase.FD, lo=0, hi=3,
         apply=to.field_index(o, t.TABDLY, (t.TAB0, t.TAB1, t.TAB2, t.TAB3)), help="termios: tab delay 0..3")
    chars: list[tuple[str, int, tuple[str, ...]]] = [
        ("vintr", t.VINTR, ("intr",)), ("vquit", t.VQUIT, ("quit",)), ("verase", t.VERASE, ("erase",)),
        ("vkill", t.VKILL, ("kill",)), ("veof", t.VEOF, ("eof",)), ("veol", t.VEOL, ("eol",)),
        ("veol2", t.VEOL2, ("eol2",)), ("vswtc", t.VSWTC, ("swtc", "swtch")), ("vstart", t.VSTART, ("start",)),
        ("vstop", t.VSTOP, ("stop",)), ("vsusp", t.VSUSP, ("susp",)), ("vreprint", t.VREPRINT, ("reprint", "rprnt")),
        ("vdiscard", t.VDISCARD, ("discard",)), ("vwerase", t.VWERASE, ("werase",)), ("vlnext", t.VLNEXT, ("lnext",)),
        ("vmin", t.VMIN, ("min",)), ("vtime", t.VTIME, ("time",)),
    ]
    for name, index, aliases in chars:
        what = "count" if name in ("vmin", "vtime") else "character code"
        _opt(name, N, "TERMIOS", Phase.FD, *aliases, lo=0, hi=255, apply=to.control_char(index),
             help=f"termios: {name[1:].upper()} {what} (0..255)")
    for rate in sorted(to.RATES):
        _opt(f"b{rate}", B, "TERMIOS", Phase.FD, apply=to.rate_const(rate), help=f"termios: {rate} baud both ways")
    _opt("ispeed", N, "TERMIOS", Phase.FD, lo=0, hi=2**31 - 1, apply=to.speed(False, to.ISPEED),
         help="termios: input baud rate")
    _opt("ospeed", N, "TERMIOS", Phase.FD, lo=0, hi=2**31 - 1, apply=to.speed(False, to.OSPEED),
         help="termios: output baud rate")
    _opt("raw", B, "TERMIOS", Phase.FD, apply=to.preset(to._stty_raw), help="termios: like stty raw (deprecated)")
    _opt("termios-rawer", B, "TERMIOS", Phase.FD, "rawer", apply=to.preset(to._rawer),
         help="termios: raw and no echo")
    _opt("termios-cfmakeraw", B, "TERMIOS", Phase.FD, "cfmakeraw", apply=to.preset(to._cfmakeraw),
         help="termios: as cfmakeraw()")
    _opt("sane", B, "TERMIOS", Phase.FD, apply=to.preset(to._sane), help="termios: like stty sane")
    _opt("tiocsctty", B, "TERMIOS", Phase.LATE, "ctty", apply=_ctty,
         help="make the terminal the controlling terminal (of the child with EXEC,pty)")


_termios_rows()


# Retrying.
_opt("retry", N, "RETRY", Phase.INIT, lo=0, hi=2**31 - 1, help="retry a failed connect/bind this many times")
_opt("forever", B, "RETRY", Phase.INIT, help="retry without limit")
_opt("interval", T, "RETRY", Phase.INIT, help="seconds between retries (default 1)")


# --- Datagrams (issue 4) ------------------------------------------------------------
# IP, IPv6 and socket options of the datagram, raw IP, generic socket and TUN addresses.


def _family_of(fd: int) -> int:
    sock = socket.socket(fileno=fd)
    try:
        return int(sock.family)
    finally:
        sock.detach()


def _ip_literal(name: str, text: str, version: int) -> bytes:
    import ipaddress

    try:
        addr = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        try:
            fam = socket.AF_INET if version == 4 else socket.AF_INET6
            addr = ipaddress.ip_address(socket.getaddrinfo(text, None, fam)[0][4][0])
        except (OSError, UnicodeError):
            raise SpecError(f'option "{name}={text}": not an IPv{version} address') from None
    if addr.version != version:
        raise SpecError(f'option "{name}={text}": not an IPv{version} address')
    return addr.packed


def _ifindex(name: str, text: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        return socket.if_nametoindex(text)
    except OSError:
        raise SpecError(f'option "{name}": unknown interface "{text}"') from None


def _need(fd: int, family: int, name: str) -> None:
    from .errors import SocatError

    if _family_of(fd) != family:
        want = "IPv4" if family == socket.AF_INET else "IPv6"
        raise SocatError(f'option "{name}" needs an {want} socket')


def _is_ifname(text: str) -> bool:
    try:
        socket.if_nametoindex(text)
    except OSError:
        return False
    return True


def _multicast(name: str, text: str, version: int) -> bytes:
    import ipaddress

    packed = _ip_literal(name, text, version)
    if not ipaddress.ip_address(packed).is_multicast:
        raise SpecError(f'option "{name}": "{text}" is not a multicast address')
    return packed


def _add_membership(fd: int, value: Any) -> None:
    """group[:interface-address][:interface-name] -> struct ip_mreqn."""
    import struct

    _need(fd, socket.AF_INET, "ip-add-membership")
    parts = str(value).split(":")
    group = _multicast("ip-add-membership", parts[0], 4)
    local, index = b"\0\0\0\0", 0
    if len(parts) == 2:
        try:
            local = _ip_literal("ip-add-membership", parts[1], 4)
        except SpecError:
            index = _ifindex("ip-add-membership", parts[1])
    elif len(parts) >= 3:
        local = _ip_literal("ip-add-membership", parts[1], 4)
        index = _ifindex("ip-add-membership", parts[2])
    _setsockopt_raw(fd, socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group + local + struct.pack("=i", index))


def _add_source_membership(fd: int, value: Any) -> None:
    """group:interface-address:source-address -> struct ip_mreq_source."""
    _need(fd, socket.AF_INET, "ip-add-source-membership")
    parts = str(value).split(":")
    if len(parts) != 3:
        raise SpecError('option "ip-add-source-membership": expected <group>:<interface-address>:<source>')
    group = _multicast("ip-add-source-membership", parts[0], 4)
    local = _ip_literal("ip-add-source-membership", parts[1], 4)
    source = _ip_literal("ip-add-source-membership", parts[2], 4)
    _setsockopt_raw(fd, socket.IPPROTO_IP, 39, group + local + source)  # IP_ADD_SOURCE_MEMBERSHIP


def _join_group(fd: int, value: Any) -> None:
    """group:interface -> struct ipv6_mreq."""
    import struct

    _need(fd, socket.AF_INET6, "ipv6-join-group")
    text = str(value)
    if text.startswith("["):
        end = text.find("]")
        group_text, rest = text[1:end], text[end + 1 :].lstrip(":")
    else:
        head, _, tail = text.rpartition(":")
        group_text, rest = text, ""
        if tail and (tail.isdigit() and head.count(":") >= 2 or _is_ifname(tail)):
            group_text, rest = head, tail
    group = _multicast("ipv6-join-group", group_text, 6)
    index = _ifindex("ipv6-join-group", rest) if rest else 0
    _setsockopt_raw(fd, socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group + struct.pack("=I", index))


def _multicast_if(fd: int, value: Any) -> None:
    import struct

    text = str(value)
    if _family_of(fd) == socket.AF_INET6:
        _setsockopt_raw(fd, socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF,
                        struct.pack("=I", _ifindex("ip-multicast-if", text)))
        return
    try:
        data = _ip_literal("ip-multicast-if", text, 4)
    except SpecError:
        data = b"\0" * 8 + struct.pack("=i", _ifindex("ip-multicast-if", text))
    _setsockopt_raw(fd, socket.IPPROTO_IP, socket.IP_MULTICAST_IF, data)


def _setsockopt_raw(fd: int, level: int, opt: int, data: bytes | int) -> None:
    sock = socket.socket(fileno=fd)
    try:
        sock.setsockopt(level, opt, data)
    finally:
        sock.detach()


def _ip_or_ip6(v4: tuple[int, int], v6: tuple[int, int] | None) -> Applier:
    """An IPv4 option that maps to its IPv6 twin on an IPv6 socket (where there is one)."""

    def apply(fd: int, value: Any) -> None:
        level, opt = v6 if v6 is not None and _family_of(fd) == socket.AF_INET6 else v4
        _setsockopt_raw(fd, level, opt, int(value))

    return apply


def _bindtodevice(fd: int, value: Any) -> None:
    _setsockopt_raw(fd, socket.SOL_SOCKET, socket.SO_BINDTODEVICE, str(value).encode() + b"\0")


def _ip_options(fd: int, value: Any) -> None:
    text = str(value)
    try:
        data = bytes.fromhex(text[1:] if text[:1] in "xX" else text)
    except ValueError:
        raise SpecError(f'option "ip-options={text}": expected x followed by hex digits') from None
    _setsockopt_raw(fd, socket.IPPROTO_IP, socket.IP_OPTIONS, data)


_IP, _IP6 = socket.IPPROTO_IP, socket.IPPROTO_IPV6
_opt("so-broadcast", B, "SOCKET", Phase.PASTSOCKET, "broadcast",
     apply=_sockopt(socket.SOL_SOCKET, socket.SO_BROADCAST), help="SO_BROADCAST: allow sending to broadcast addresses")
_opt("so-timestamp", B, "SOCKET", Phase.PASTSOCKET, "timestamp", apply=_sockopt(socket.SOL_SOCKET, 29),
     help="SO_TIMESTAMP: receive times; EXEC children see SOCAT_TIMESTAMP")
_opt("so-bindtodevice", S, "SOCKET", Phase.PASTSOCKET, "bindtodevice", "interface", "if", apply=_bindtodevice,
     help="SO_BINDTODEVICE: use only this network interface (root)")
_opt("so-type", N, "SOCKET", Phase.INIT, "type", "socktype", lo=0, hi=255,
     help="socket type (e.g. 5 = SOCK_SEQPACKET) for the UNIX and generic socket addresses")
_opt("so-protocol", N, "SOCKET", Phase.INIT, "protocol", "prototype", "so-prototype", lo=0, hi=255,
     help="protocol number for socket()")
_opt("ip-ttl", N, "IP4,IP6", Phase.PASTSOCKET, "ttl", apply=_ip_or_ip6((_IP, socket.IP_TTL), (_IP6, socket.IPV6_UNICAST_HOPS)),
     lo=0, hi=255, help="IP_TTL (IPv6: IPV6_UNICAST_HOPS) of packets sent")
_opt("ip-tos", N, "IP4,IP6", Phase.PASTSOCKET, "tos", apply=_sockopt(_IP, socket.IP_TOS), lo=0, hi=255,
     help="IP_TOS of packets sent")
_opt("ip-multicast-loop", B, "IP4,IP6", Phase.PASTSOCKET, "multicast-loop", "multicastloop",
     apply=_ip_or_ip6((_IP, socket.IP_MULTICAST_LOOP), (_IP6, socket.IPV6_MULTICAST_LOOP)),
     help="IP_MULTICAST_LOOP: receive our own multicast packets")
_opt("ip-multicast-ttl", N, "IP4,IP6", Phase.PASTSOCKET, "multicast-ttl", "multicastttl",
     apply=_ip_or_ip6((_IP, socket.IP_MULTICAST_TTL), (_IP6, socket.IPV6_MULTICAST_HOPS)), lo=0, hi=255,
     help="IP_MULTICAST_TTL of multicast packets sent")
_opt("ip-multicast-if", S, "IP4,IP6", Phase.PASTSOCKET, "multicast-if", apply=_multicast_if,
     help="IP_MULTICAST_IF: interface address or name for sending multicast")
_opt("ip-add-membership", S, "IP4,IP6", Phase.PASTSOCKET, "ip-membership", "add-membership", "membership", apply=_add_membership,
     help="join an IPv4 multicast group: <group>[:<interface-address>][:<interface>]")
_opt("ip-add-source-membership", S, "IP4,IP6", Phase.PASTSOCKET, "source-membership", apply=_add_source_membership,
     help="join an IPv4 multicast group for one source: <group>:<interface-address>:<source>")
_opt("ipv6-join-group", S, "IP6", Phase.PASTSOCKET, "ipv6-add-membership", "join-group", apply=_join_group,
     help="join an IPv6 multicast group: <group>[:<interface>]")
_opt("ip-pktinfo", B, "IP4,IP6", Phase.PASTSOCKET, "pktinfo",
     apply=_ip_or_ip6((_IP, 8), (_IP6, socket.IPV6_RECVPKTINFO)),
     help="IP_PKTINFO: EXEC children see SOCAT_IP_DSTADDR, SOCAT_IP_LOCADDR, SOCAT_IP_IF")
_opt("ip-recvttl", B, "IP4,IP6", Phase.PASTSOCKET, "recvttl", apply=_sockopt(_IP, 12),
     help="IP_RECVTTL: EXEC children see SOCAT_IP_TTL")
_opt("ip-recvtos", B, "IP4,IP6", Phase.PASTSOCKET, "recvtos", apply=_sockopt(_IP, socket.IP_RECVTOS),
     help="IP_RECVTOS: EXEC children see SOCAT_IP_TOS")
_opt("ip-recvopts", B, "IP4,IP6", Phase.PASTSOCKET, "recvopts", apply=_sockopt(_IP, socket.IP_RECVOPTS),
     help="IP_RECVOPTS: EXEC children see SOCAT_IP_OPTIONS")
_opt("ip-recverr", B, "IP4,IP6", Phase.PASTSOCKET, "recverr", apply=_ip_or_ip6((_IP, 11), (_IP6, 25)),
     help="IP_RECVERR: extended error reporting")
_opt("ip-options", S, "IP4,IP6", Phase.PASTSOCKET, "ipoptions", apply=_ip_options,
     help="IP_OPTIONS: raw IP options as x<hex>")
_opt("ip-freebind", B, "IP4,IP6", Phase.PASTSOCKET, "freebind", apply=_sockopt(_IP, 15),
     help="IP_FREEBIND: bind to an address not (yet) on this host")
_opt("ip-transparent", B, "IP4,IP6", Phase.PREBIND, "transparent", apply=_sockopt(_IP, socket.IP_TRANSPARENT),
     help="IP_TRANSPARENT (root)")
_opt("ip-hdrincl", B, "IP4,IP6", Phase.PASTSOCKET, "hdrincl", apply=_sockopt(_IP, socket.IP_HDRINCL),
     help="IP_HDRINCL: raw sockets send the IP header given in the data")
_opt("ip-mtu-discover", N, "IP4,IP6", Phase.PASTSOCKET, "mtudiscover", apply=_sockopt(_IP, 10), lo=0, hi=5,
     help="IP_MTU_DISCOVER mode (0 don't, 1 want, 2 do, 3 probe)")
_opt("ipv6-recvpktinfo", B, "IP6", Phase.PASTSOCKET, "recvpktinfo",
     apply=_sockopt(_IP6, socket.IPV6_RECVPKTINFO),
     help="IPV6_RECVPKTINFO: EXEC children see SOCAT_IPV6_DSTADDR, SOCAT_IPV6_IF")
_opt("ipv6-recvhoplimit", B, "IP6", Phase.PASTSOCKET, "recvhoplimit", apply=_sockopt(_IP6, socket.IPV6_RECVHOPLIMIT),
     help="IPV6_RECVHOPLIMIT: EXEC children see SOCAT_IPV6_HOPLIMIT")
_opt("ipv6-recvtclass", B, "IP6", Phase.PASTSOCKET, apply=_sockopt(_IP6, socket.IPV6_RECVTCLASS),
     help="IPV6_RECVTCLASS: EXEC children see SOCAT_IPV6_TCLASS")
_opt("ipv6-unicast-hops", N, "IP6", Phase.PASTSOCKET, "unicast-hops",
     apply=_sockopt(_IP6, socket.IPV6_UNICAST_HOPS), lo=-1, hi=255,
     help="IPV6_UNICAST_HOPS of packets sent")
_opt("ipv6-tclass", N, "IP6", Phase.PASTSOCKET, apply=_sockopt(_IP6, socket.IPV6_TCLASS), lo=-1, hi=255,
     help="IPV6_TCLASS of packets sent")
_opt("ipv6-recverr", B, "IP6", Phase.PASTSOCKET, apply=_sockopt(_IP6, 25), help="IPV6_RECVERR")

# TUN/TAP devices and network interfaces (TUN, INTERFACE); read by their openers.
_opt("tun-device", S, "TUN", Phase.OPEN, help="TUN: the clone device to open (default /dev/net/tun)")
_opt("tun-name", S, "TUN", Phase.FD, help="TUN: name of the new interface (default: the kernel picks tunN/tapN)")
_opt("tun-type", S, "TUN", Phase.FD, help="TUN: tun (IP packets, the default) or tap (Ethernet frames)")
_opt("iff-no-pi", B, "TUN", Phase.FD, "no-pi", "tun-no-pi",
     help="TUN: IFF_NO_PI: packets carry no 4-byte packet information header")
IFF_FLAGS: dict[str, int] = {}
for _name, _bit, _alias, _text in (
    ("up", 0x1, "up", "bring the interface up"),
    ("broadcast", 0x2, "", "broadcast address valid"),
    ("debug", 0x4, "", "debugging"),
    ("loopback", 0x8, "loopback", "a loopback interface"),
    ("pointopoint", 0x10, "pointopoint", "point-to-point link"),
    ("notrailers", 0x20, "notrailers", "avoid trailers"),
    ("running", 0x40, "running", "resources allocated"),
    ("noarp", 0x80, "noarp", "no ARP"),
    ("promisc", 0x100, "promisc", "receive all packets (promiscuous)"),
    ("allmulti", 0x200, "allmulti", "receive all multicast packets"),
    ("master", 0x400, "master", "master of a load balancer"),
    ("slave", 0x800, "slave", "slave of a load balancer"),
    ("multicast", 0x1000, "", "supports multicast"),
    ("portsel", 0x2000, "portsel", "can set media type"),
    ("automedia", 0x4000, "automedia", "auto media select"),
):
    IFF_FLAGS["iff-" + _name] = _bit
    _opt("iff-" + _name, B, "INTERFACE", Phase.FD, *((_alias,) if _alias else ()),
         help=f"interface flag IFF_{_name.upper()}: {_text} (0 clears it)")


# TLS and proxies (issue 6).  Read by the OPENSSL, PROXY and SOCKS openers (no appliers).
_opt("openssl-certificate", S, "OPENSSL", Phase.INIT, "cert", "certificate",
     help="PEM file with our certificate (and its key unless key= is given)")
_opt("openssl-key", S, "OPENSSL", Phase.INIT, "key", help="PEM file with the private key of cert=")
_opt("openssl-dhparam", S, "OPENSSL", Phase.INIT, "dh", "dhparam", "dhparams", "openssl-dhparams",
     help="PEM file with Diffie-Hellman parameters (server)")
_opt("openssl-cafile", S, "OPENSSL", Phase.INIT, "cafile", help="PEM file of certificates trusted to verify the peer")
_opt("openssl-capath", S, "OPENSSL", Phase.INIT, "capath", help="directory of hashed trusted certificates")
_opt("openssl-verify", B, "OPENSSL", Phase.INIT, "verify",
     help="verify the peer's certificate (default 1; a server then requires a client certificate)")
_opt("openssl-commonname", S, "OPENSSL", Phase.INIT, "cn", "commonname",
     help="name the server certificate must match instead of the host parameter")
_opt("openssl-snihost", S, "OPENSSL", Phase.INIT, "snihost", help="server name sent with SNI (default: commonname or host)")
_opt("openssl-no-sni", B, "OPENSSL", Phase.INIT, "no-sni", "nosni", help="send no SNI server name")
_opt("openssl-cipherlist", S, "OPENSSL", Phase.INIT, "cipher", "cipherlist", "ciphers",
     help="OpenSSL cipher list (TLS 1.2 and below)")
_opt("openssl-min-proto-version", S, "OPENSSL", Phase.INIT, "min-proto-version", "min-version",
     help="lowest protocol version: TLS1.2 by default; TLS1, TLS1.1 only when asked")
_opt("openssl-max-proto-version", S, "OPENSSL", Phase.INIT, "max-proto-version", "max-version",
     help="highest protocol version, e.g. TLS1.2")
_opt("openssl-method", S, "OPENSSL", Phase.INIT, "method",
     help="socat's protocol method (TLS1 ... TLS1.3, SSL23; DTLS, DTLS1, DTLS1.2): mapped to version bounds")
_opt("openssl-compress", S, "OPENSSL", Phase.INIT, "compress", help="none (default) or auto; compression is never used")
_opt("openssl-pseudo", B, "OPENSSL", Phase.INIT, "pseudo", help="accepted and ignored (the ssl module seeds itself)")
_opt("openssl-egd", S, "OPENSSL", Phase.INIT, "egd", help="accepted and ignored (no entropy daemon is needed)")
_opt("proxyport", S, "HTTP", Phase.LATE, help="port of the HTTP proxy (default 8080)")
_opt("proxy-authorization", S, "HTTP", Phase.LATE, "proxyauth", "proxy-auth",
     help="<user>:<password> sent with Basic authentication to the proxy")
_opt("proxy-authorization-file", S, "HTTP", Phase.LATE, "proxyauthfile",
     help="file holding <user>:<password> for proxy Basic authentication")
_opt("proxy-resolve", B, "HTTP,SOCKS5", Phase.LATE, "resolve", "resolv",
     help="resolve the target host here and send the proxy its address")
_opt("ignorecr", B, "HTTP", Phase.LATE, help="accept proxy reply lines ending in LF only")
_opt("socksport", S, "SOCKS4,SOCKS5", Phase.LATE, help="port of the SOCKS server (default 1080)")
_opt("socksuser", S, "SOCKS4,SOCKS5", Phase.LATE, "socks5-username",
     help="SOCKS4 user id (default $LOGNAME or $USER); SOCKS5 user name for password authentication")
_opt("sockspass", S, "SOCKS5", Phase.LATE, "socks5-password", "sockspassword",
     help="SOCKS5 password for username/password authentication (RFC 1929)")


def _index() -> dict[str, OptionDesc]:
    names: dict[str, OptionDesc] = {}
    for desc in TABLE:
        for key in (desc.name, *desc.aliases):
            if key in names and names[key] is not desc:
                raise RuntimeError(f"option name {key!r} declared twice")
            names[key] = desc
    return names


BY_NAME = _index()


def lookup(name: str) -> OptionDesc | None:
    """The descriptor for an option name or alias (case-insensitive)."""
    return BY_NAME.get(name.lower())


class OptionSet:
    """Resolved options of one address: typed values, applied by phase."""

    def __init__(self, sloppy: bool = False) -> None:
        self.values: dict[str, Any] = {}
        self.descs: dict[str, OptionDesc] = {}
        self.used: set[str] = set()
        self.sloppy = sloppy

    def has(self, name: str) -> bool:
        """Whether the option was given (marks it used)."""
        self.used.add(name)
        return name in self.values

    def get(self, name: str, default: Any = None) -> Any:
        """Typed value of an option, or ``default`` (marks it used)."""
        self.used.add(name)
        return self.values.get(name, default)

    def take(self, name: str, default: Any = None) -> Any:
        """Value of an option the caller applies itself (not applied by phase)."""
        self.used.add(name)
        self.descs.pop(name, None)
        return self.values.pop(name, default)

    def apply_process(self) -> None:
        """Apply the PROCESS options (not taken by a child) to pysocat itself, once.

        Privilege changes go first and in their safe order (chroot, setgroups,
        setgid, setuid), whatever the order on the command line.
        """
        from . import privileges

        if any(name in self.values for name in privileges.OPTIONS):
            privileges.apply(privileges.plan(self))
        self._apply(lambda desc: "PROCESS" in desc.groups, -1)

    def apply(self, phase: Phase, fd: int) -> None:
        """Apply every declarative descriptor option of ``phase`` to ``fd``."""
        self._apply(lambda desc: desc.phase is phase and "PROCESS" not in desc.groups, fd)

    def _apply(self, select: Callable[[OptionDesc], bool], fd: int) -> None:
        for name, desc in list(self.descs.items()):
            if select(desc) and desc.apply is not None:
                self.used.add(name)
                value = self.values[name]
                try:
                    desc.apply(fd, value)
                except OSError as exc:
                    from . import log
                    from .errors import SocatError

                    message = f'option "{name}": {exc.strerror or exc}'
                    if not self.sloppy:
                        raise SocatError(message) from None
                    log.warn(message)


def resolve(
    raw: Iterable[tuple[str, str | None]], groups: frozenset[str], check_groups: bool = True, sloppy: bool = False
) -> OptionSet:
    """Check names, groups and values of raw options; return the typed set.

    ``sloppy`` (-s): an option that fails when applied is a warning, not an error.
    """
    result = OptionSet(sloppy=sloppy)
    for name, value in raw:
        desc = lookup(name)
        if desc is None:
            raise SpecError(f'parseopts_table(): unknown option "{name}"')
        if check_groups and not (desc.groups & (groups | {"APPL", "PROCESS"})):
            raise SpecError(f'parseopts_table(): option "{name}" not supported with this address type')
        typed = desc if name == desc.name else OptionDesc(name, desc.type, desc.groups, desc.phase, lo=desc.lo, hi=desc.hi)
        result.values[desc.name] = parse_value(typed, value)
        result.descs[desc.name] = desc
    return result
