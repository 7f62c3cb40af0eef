"""The command line: socat's argv -> docopt -> Config and logger -> the relay; ``main(argv) -> int``.

:mod:`.globals` is the one table of global options.  From it, this module makes
docopt's usage text and the normaliser of socat's spelling (``-d -d``, ``-b8192``,
``-lf file``) into docopt's long options; :mod:`.help` makes -h/-hh/-hhh and
:mod:`.manpage` the man page's OPTIONS section.  This module is what every start
loads (entry.py answers a lone ``-V`` without it), so it stays one module with
the table as its only companion, and compiles no regex.
"""

from __future__ import annotations

import os
import signal
import socket
import sys

from ..core import log
from ..core.config import Config
from ..errors import SignalExit, SocatError, outcome
from .globals import BY_LONG, TABLE, GlobalOption

__all__ = ["USAGE", "_logger", "addresses_of", "build_config", "main", "normalise", "parse_args"]

# --- socat's argv -> docopt ----------------------------------------------------------------


def _usage(rows: tuple[GlobalOption, ...]) -> str:
    """docopt's usage text for ``rows``: a ``--long[=<metavar>]`` line each, described by its socat spellings."""
    specs = [(row.long if row.takes == "flag" else f"{row.long}=<{row.metavar}>", row) for row in rows]
    width = max((len(spec) for spec, _ in specs), default=0) + 2
    lines = "".join(f"  {spec:<{width}}({'|'.join(row.flags)})\n" for spec, row in specs)
    return "Usage:\n  pysocat [options] [--] [<address>...]\n\nOptions:\n" + lines


#: docopt's usage text for every global option (-h is :mod:`pysocat.cli.help`).
USAGE = _usage(TABLE)

# The normaliser's lookups, from the table (plain string tests: no regex to compile at start-up).
_EXACT: dict[str, GlobalOption] = {}  # a spelling given alone: a flag, or a value option followed by its value
_ATTACHED: list[tuple[str, GlobalOption]] = []  # "-b8192": longest spelling first
_OPTIONAL: list[tuple[str, GlobalOption]] = []  # "-ly", "-lydaemon"
_LEVEL: dict[str, GlobalOption] = {}  # "-hh", "-???": the repeated letter
_COUNT: dict[str, GlobalOption] = {}  # "-d", "-ddd", "-d2", "-dd3": the spelling
for _row in TABLE:
    for _flag in _row.flags:
        if _row.takes in ("flag", "value"):
            _EXACT[_flag] = _row
        if _row.takes == "value":
            _ATTACHED.append((_flag, _row))
        elif _row.takes == "optional":
            _OPTIONAL.append((_flag, _row))
        elif _row.takes == "level":
            _LEVEL[_flag[1:]] = _row
        elif _row.takes == "count":
            _COUNT[_flag] = _row
_ATTACHED.sort(key=lambda pair: -len(pair[0]))
del _row, _flag

#: The highest ``-h`` level (``-hhh``); more letters mean the same.
MAX_LEVEL = 3


def _is_address(arg: str) -> bool:
    return arg == "-" or not arg.startswith("-") or arg[1] in ",!:"


def normalise(argv: list[str]) -> list[str]:
    """socat's spelling (``-d2``, ``-lf X``, ``-b8192``, ``-hh``) -> docopt long options.

    A repeated option is given once to docopt: the last value wins, as in socat;
    ``-d`` counts add up.  Everything from the first address on (or after ``--``)
    follows ``--`` unchanged.
    """
    given: dict[str, str | None] = {}
    counts: dict[str, int] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if _is_address(arg):
            break
        i += 1
        if arg == "--":
            break
        level = _LEVEL.get(arg[1:2]) if arg[1:] == arg[1:2] * (len(arg) - 1) else None  # one letter repeated
        if level is not None:
            given[level.long] = str(min(len(arg) - 1, MAX_LEVEL))
            continue
        counted = _COUNT.get(arg[:2])
        if counted is not None:
            letters = arg[2:]  # "-ddd": one more each; "-d3", "-dd3": 3
            digits = letters.lstrip(arg[1])
            if not digits:
                counts[counted.long] = counts.get(counted.long, 0) + 1 + len(letters)
                continue
            if digits.isdecimal():
                counts[counted.long] = int(digits)
                continue
        i = _one(argv, i, arg, given)
    for name, count in counts.items():
        given[name] = str(count)
    out = [name if value is None else f"{name}={value}" for name, value in given.items()]
    return out + ["--"] + argv[i:]


def _one(argv: list[str], i: int, arg: str, given: dict[str, str | None]) -> int:
    """Record the option ``arg`` (``argv[i]`` is what follows it); the index of the next argument."""
    row = _EXACT.get(arg)
    if row is not None:
        if row.takes == "flag":
            given[row.long] = None
            return i
        if i >= len(argv):
            raise SocatError(f'option "{arg}" requires a value; use option "-h" for help')
        given[row.long] = argv[i]
        return i + 1
    if not arg.startswith("--"):
        for flag, row in _ATTACHED:
            if arg.startswith(flag) and len(arg) > len(flag):
                given[row.long] = arg[len(flag) :]
                return i
    for flag, row in _OPTIONAL:
        if arg.startswith(flag):
            given[row.long] = arg[len(flag) :]
            return i
    raise SocatError(f'unknown option "{arg}"; use option "-h" for help')


def parse_args(argv: list[str]) -> dict[str, object]:
    """socat's argv -> docopt's dictionary (SocatError for a malformed command line).

    docopt parses the normalised argv against the usage text of the options it
    names; every other option gets the value docopt gives an option that is not
    given (False, or None for one that takes a value), so the dictionary is the
    one :data:`USAGE` gives.  docopt's time grows with the square of the options
    its usage lists: about 1.2 ms for all of them, 0.1 ms for one, on every start.
    """
    from docopt import DocoptExit, ParsedOptions, docopt

    normal = normalise(argv)
    named = {arg.partition("=")[0] for arg in normal[: normal.index("--")]}
    try:
        parsed = docopt(_usage(tuple(row for row in TABLE if row.long in named)), argv=normal, default_help=False,
                        version=None)
    except DocoptExit:
        raise SocatError('invalid command line; use option "-h" for help') from None
    args: dict[str, object] = ParsedOptions((row.long, False if row.takes == "flag" else None) for row in TABLE)
    args.update(parsed)
    return args


# --- docopt's arguments -> Config, logger; running ----------------------------------------

_ENV_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def env_prefix(name: str) -> str:
    """``-lp``'s name as the prefix of exported variables: upper case, other characters ``_`` (no regex at start-up)."""
    return "".join(c if c in _ENV_CHARS else "_" for c in name.upper())


def _number(long: str, args: dict[str, object]) -> float:
    """The checked value of a numeric option (its row's check, in socat's words)."""
    row = BY_LONG[long]
    assert row.number is not None
    return row.number.check(row.flag, str(args[long]))


def build_config(args: dict[str, object]) -> Config:
    """Map parsed docopt arguments to a frozen Config, checking every value."""
    unidir, reverse = bool(args["--unidir"]), bool(args["--unidir-reverse"])
    if unidir and reverse:
        raise SocatError("-U and -u must not be combined")
    bufsize = 8192
    if args["--bufsize"] is not None:
        bufsize = int(_number("--bufsize", args))
    close_timeout = 0.5
    if args["--close-timeout"] is not None:
        close_timeout = _number("--close-timeout", args)
    total = None
    if args["--total-timeout"] is not None:
        total = _number("--total-timeout", args)
    family = socket.AF_UNSPEC
    if args["--ipv4"]:
        family = socket.AF_INET
    if args["--ipv6"]:
        family = socket.AF_INET6
    prefix = str(args["--log-prefix"] or "pysocat")
    return Config(
        verbosity=int(str(args["--debug"] or 0)),
        bufsize=bufsize,
        close_timeout=close_timeout,
        total_timeout=total,
        left_to_right=not reverse,
        right_to_left=not unidir,
        verbose=bool(args["--verbose-dump"]),
        hexdump=bool(args["--hex-dump"]),
        raw_lr=args["--raw-lr"],  # type: ignore[arg-type]
        raw_rl=args["--raw-rl"],  # type: ignore[arg-type]
        sloppy=bool(args["--sloppy"]),
        check_groups=not args["--no-group-check"],
        lockfile=args["--lock"],  # type: ignore[arg-type]
        waitlock=args["--wait-lock"],  # type: ignore[arg-type]
        family=family,
        statistics=bool(args["--statistics"]),
        analyze=bool(args["--analyze"]),
        env_prefix=env_prefix(prefix),
    )


def _program_name() -> str:
    """Basename of argv[0]; ``python -m pysocat`` logs as pysocat."""
    name = os.path.basename(sys.argv[0] or "")
    return "pysocat" if not name or name.startswith("__main__") else name


def _logger(args: dict[str, object]) -> log.Logger:
    logger = log.Logger()
    logger.configure(
        verbosity=None if args["--debug"] is None else int(str(args["--debug"])),
        progname=str(args["--log-prefix"] or _program_name()),
        micro=bool(args["--log-micro"]),
        with_host=bool(args["--log-host"]),
        logfile=args["--log-file"],  # type: ignore[arg-type]
        syslog_facility=args["--syslog"],  # type: ignore[arg-type]
        mixed_facility=args["--log-mixed"],  # type: ignore[arg-type]
    )
    return logger


def addresses_of(args: dict[str, object]) -> list[str]:
    """The two address arguments (SocatError unless there are exactly two)."""
    addresses: list[str] = args["<address>"]  # type: ignore[assignment]
    if len(addresses) != 2:
        raise SocatError(f'exactly 2 addresses required (there are {len(addresses)}); use option "-h" for help')
    return addresses


TERMINATING = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


def _raise_signal(signum: int, frame: object) -> None:
    raise SignalExit(signum)


def _run(argv: list[str]) -> int:
    args = parse_args(argv)
    log.use(_logger(args))
    if args["--version"]:
        from ..version import version_text

        sys.stdout.write(version_text())
        return 0
    if args["--help"]:
        from .help import help_text

        sys.stdout.write(help_text(int(str(args["--help"]))))
        return 0
    cfg = build_config(args)
    addresses = addresses_of(args)
    from ..addresses.stdio import guard_standard_fds
    from ..app import Run
    from ..core.runtime import Runtime
    from ..spec import parse

    closed = guard_standard_fds()
    first, second = parse(addresses[0]), parse(addresses[1])
    rt = Runtime(log.current(), cfg.env_prefix, splice=not os.environ.get("PYSOCAT_NO_SPLICE"),
                 prefork=not os.environ.get("PYSOCAT_NO_PREFORK"), closed_stdio=closed)
    run = Run(cfg, first, second, rt)
    saved = {sig: signal.signal(sig, _raise_signal) for sig in TERMINATING}
    try:
        status = run.execute()
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    log.notice(f"exiting with status {status}")
    return status


def main(argv: list[str] | None = None) -> int:
    """Run pysocat with ``argv`` (default: sys.argv[1:]); return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    token = log.use(log.current())
    try:  # a bug is one E line, no traceback (PYSOCAT_TRACEBACK=1 shows it)
        return outcome(lambda: _run(argv), notice_quiet=True, reraise_bugs=bool(os.environ.get("PYSOCAT_TRACEBACK")))
    finally:
        log.current().close()
        log.restore(token)
