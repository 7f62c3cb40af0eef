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
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any

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


@dataclass(frozen=True)
class OptionDesc:
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
    if not text.isascii():
        raise _bad(desc, raw, "not a number")
    if base == 0 and len(text) > 1 and text[0] == "0" and text.isdigit():
        base = 8  # C strtol semantics, as socat: a leading zero means octal
    try:
        value = int(text, base)
    except ValueError:
        raise _bad(desc, raw, "not a number") from None
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
    if kind == "bin" or (kind == "setsockopt" and text[:1] in ("x", "X")):
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
_opt("end-close", B, "FD", Phase.TRANSFER, help="end the connection by closing the descriptors (like shut-close)")
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
_opt("noatime", B, "OPEN", Phase.OPEN, "o-noatime", help="O_NOATIME")
_opt("direct", B, "OPEN", Phase.OPEN, "o-direct", help="O_DIRECT")
_opt("rdonly", B, "OPEN", Phase.OPEN, "o-rdonly", help="O_RDONLY: open for reading only")
_opt("wronly", B, "OPEN", Phase.OPEN, "o-wronly", help="O_WRONLY: open for writing only")
_opt("rdwr", B, "OPEN", Phase.OPEN, "o-rdwr", help="O_RDWR: open for reading and writing")
_opt("noctty", B, "OPEN", Phase.OPEN, "o-noctty", help="O_NOCTTY")

_opt("ftruncate", OptType.SIZE, "REG", Phase.LATE, "truncate", apply=lambda fd, v: os.ftruncate(fd, int(v)),
     lo=0, hi=SIZE_MAX, help="truncate the file to this size after opening")
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
_opt("fork", B, "CHILD", Phase.ACCEPT, help="serve each peer in a child process and keep listening")
_opt("max-children", N, "CHILD", Phase.ACCEPT, lo=1, hi=2**31 - 1, help="at most this many live children")

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

# Retrying.
_opt("retry", N, "RETRY", Phase.INIT, lo=0, hi=2**31 - 1, help="retry a failed connect/bind this many times")
_opt("forever", B, "RETRY", Phase.INIT, help="retry without limit")
_opt("interval", T, "RETRY", Phase.INIT, help="seconds between retries (default 1)")


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


@dataclass
class OptionSet:
    """Resolved options of one address: typed values, applied by phase."""

    values: dict[str, Any] = field(default_factory=dict)
    descs: dict[str, OptionDesc] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    sloppy: bool = False

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
        """Apply the PROCESS options (not taken by a child) to pysocat itself, once."""
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
