"""The table engine: phases, value types, rows, and the set of options of one address.

Every address option is one :class:`OptionDesc` row in :data:`TABLE`, declared with
:func:`opt` by the family module that owns it (``appl``, ``fd``, ``socket``, ``ip``,
``serving``, ``process``, ``terminal``, ``interface``, ``tls``, ``proxy``).  The spec
parser hands raw ``(name, value)`` pairs to :func:`resolve`, which checks names,
aliases, groups and values and returns an :class:`OptionSet`.  Openers ask the set
for special values (``opts.get``) and let it apply declarative options to a
descriptor at each :class:`Phase` (``opts.apply``).  ``-hh``, the man page and the
parser all read :data:`TABLE`.
"""

from __future__ import annotations

import grp
import pwd
from collections.abc import Callable, Iterable
from enum import Enum, IntEnum
from typing import Any, NamedTuple

from ..errors import SocatError, SpecError


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


# --- the table --------------------------------------------------------------------

TABLE: list[OptionDesc] = []
BY_NAME: dict[str, OptionDesc] = {}
SIZE_MAX = 2**63 - 1


def opt(
    name: str,
    type_: OptType,
    groups: str,
    phase: Phase,
    *aliases: str,
    apply: Applier | None = None,
    lo: int | None = None,
    hi: int | None = None,
    help: str = "",
) -> OptionDesc:
    """Declare one row: its name, value type, groups (comma separated), phase and aliases."""
    desc = OptionDesc(name, type_, frozenset(groups.split(",")), phase, aliases, apply, lo, hi, help)
    for key in (name, *aliases):
        if key in BY_NAME:
            raise RuntimeError(f"option name {key!r} declared twice")
    TABLE.append(desc)
    for key in (name, *aliases):
        BY_NAME[key] = desc
    return desc


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

    def copy(self) -> OptionSet:
        """An independent copy for one session: what one session takes or reads stays its own."""
        clone = OptionSet(self.sloppy)
        clone.values, clone.descs, clone.used = dict(self.values), dict(self.descs), set(self.used)
        return clone

    def check_leftovers(self) -> None:
        """socat's showleft(): a W line per option nothing used, then an E (a W with -s)."""
        from ..core import log

        left = self.leftovers()
        if not left:
            return
        for name in left:
            log.warn(f'showleft(): option "{name}" not inquired')
        message = f"{len(left)} option(s) could not be used"
        if not self.sloppy:
            raise SocatError(message)
        log.warn(message)

    def leftovers(self) -> list[str]:
        """Names of the given options that nothing read, took or applied, in command-line order.

        Call it once the address is open (its late phase applied); the names are the
        canonical ones, also for options given by an alias.  socat warns about each
        (``showleft(): option "NAME" not inquired``) and then fails with
        ``N option(s) could not be used``.
        """
        return [name for name in self.values if name not in self.used]

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
                    from ..core import log
                    from ..errors import SocatError

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
