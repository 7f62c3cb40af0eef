"""Command line: socat's argv normalised to long options, parsed with docopt."""

from __future__ import annotations

import os
import re
import signal
import socket
import sys

from .. import log
from ..config import Config
from ..errors import QuietExit, SignalExit, SocatError

USAGE = """Usage:
  pysocat [options] [--] [<address>...]

Options:
  --version              print version and feature information, and exit
  --help=<level>         help text (1 = -h, 2 = -hh, 3 = -hhh)
  --debug=<n>            verbosity (-d count)
  --analyze              analyze file descriptors before the loop (-D)
  --syslog=<facility>    log to syslog (-ly)
  --log-file=<file>      log to file (-lf)
  --log-stderr           log to stderr (-ls)
  --log-mixed=<facility> stderr while starting, then syslog (-lm)
  --log-prefix=<name>    program name for logging (-lp)
  --log-micro            microsecond timestamps (-lu)
  --log-host             add hostname to log lines (-lh)
  --verbose-dump         text dump of traffic (-v)
  --hex-dump             hex dump of traffic (-x)
  --raw-lr=<file>        raw dump left to right (-r)
  --raw-rl=<file>        raw dump right to left (-R)
  --bufsize=<n>          buffer size (-b)
  --sloppy               continue on error (-s)
  --close-timeout=<t>    wait seconds before closing the second channel (-t)
  --total-timeout=<t>    inactivity timeout (-T)
  --unidir               left to right only (-u)
  --unidir-reverse       right to left only (-U)
  --no-group-check       do not check option groups (-g)
  --lock=<file>          obtain lock or fail (-L)
  --wait-lock=<file>     obtain lock or wait (-W)
  --ipv4                 prefer IPv4 (-4)
  --ipv6                 prefer IPv6 (-6)
  --signals=<list>       signals to log (-S)
  --statistics           print transfer statistics at exit
"""

# flag -> (long option, takes a value, value may be attached)
_FLAGS: dict[str, tuple[str, bool]] = {
    "-V": ("--version", False),
    "-D": ("--analyze", False),
    "-ls": ("--log-stderr", False),
    "-lu": ("--log-micro", False),
    "-lh": ("--log-host", False),
    "-v": ("--verbose-dump", False),
    "-x": ("--hex-dump", False),
    "-s": ("--sloppy", False),
    "-u": ("--unidir", False),
    "-U": ("--unidir-reverse", False),
    "-g": ("--no-group-check", False),
    "-4": ("--ipv4", False),
    "-6": ("--ipv6", False),
    "--statistics": ("--statistics", False),
    "-r": ("--raw-lr", True),
    "-R": ("--raw-rl", True),
    "-L": ("--lock", True),
    "-W": ("--wait-lock", True),
    "-lf": ("--log-file", True),
    "-b": ("--bufsize", True),
    "-t": ("--close-timeout", True),
    "-T": ("--total-timeout", True),
    "-lp": ("--log-prefix", True),
}
# optional attached value only
_OPTIONAL = {"-ly": "--syslog", "-lm": "--log-mixed", "-S": "--signals"}


def _is_address(arg: str) -> bool:
    return arg == "-" or not arg.startswith("-") or arg[1] in ",!:"


def normalise(argv: list[str]) -> list[str]:
    """socat's spelling (``-d2``, ``-lf X``, ``-b8192``, ``-hh``) -> docopt long options.

    A repeated option is given once to docopt: the last value wins, as in socat.
    """
    given: dict[str, str | None] = {}
    debug: int | None = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if _is_address(arg):
            break
        i += 1
        if arg == "--":
            break
        m = re.fullmatch(r"-(h+|\?+)", arg)
        if m:
            given["--help"] = str(min(len(m.group(1)), 3))
            continue
        m = re.fullmatch(r"-d(d*)(\d*)", arg)
        if m:
            debug = int(m.group(2)) if m.group(2) else (debug or 0) + 1 + len(m.group(1))
            continue
        if arg in _FLAGS:
            name, takes = _FLAGS[arg]
            if takes:
                if i >= len(argv):
                    raise SocatError(f'option "{arg}" requires a value; use option "-h" for help')
                given[name] = argv[i]
                i += 1
            else:
                given[name] = None
            continue
        for flag, (name, takes) in sorted(_FLAGS.items(), key=lambda kv: -len(kv[0])):
            if takes and arg.startswith(flag) and len(arg) > len(flag) and not arg.startswith("--"):
                given[name] = arg[len(flag) :]
                break
        else:
            for flag, name in _OPTIONAL.items():
                if arg.startswith(flag):
                    given[name] = arg[len(flag) :]
                    break
            else:
                raise SocatError(f'unknown option "{arg}"; use option "-h" for help')
    if debug is not None:
        given["--debug"] = str(debug)
    out = [name if value is None else f"{name}={value}" for name, value in given.items()]
    return out + ["--"] + argv[i:]


BUFSIZE_MAX = 2**31 - 1


def _number(name: str, text: str, kind: type, lo: float, hi: float) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise SocatError(f'missing numerical value of option "{name}": "{text}"') from None
    if value != value or not lo <= value <= hi:
        raise SocatError(f'value of option "{name}" out of range: {text} (allowed {lo}..{hi})')
    return float(value)


def build_config(args: dict[str, object]) -> Config:
    """Map parsed docopt arguments to a frozen Config, checking every value."""
    unidir, reverse = bool(args["--unidir"]), bool(args["--unidir-reverse"])
    if unidir and reverse:
        raise SocatError("-U and -u must not be combined")
    bufsize = 8192
    if args["--bufsize"] is not None:
        bufsize = int(_number("-b", str(args["--bufsize"]), int, 1, float("inf")))
        if bufsize > BUFSIZE_MAX:
            # socat's wording (its test suite greps for it), typo included
            raise SocatError(f"buffer size option (-b) to big - {bufsize} (max is {BUFSIZE_MAX})")
    close_timeout = 0.5
    if args["--close-timeout"] is not None:
        close_timeout = _number("-t", str(args["--close-timeout"]), float, 0, 1e9)
    total = None
    if args["--total-timeout"] is not None:
        total = _number("-T", str(args["--total-timeout"]), float, 0, 1e9)
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
        env_prefix=re.sub(r"[^A-Z0-9]", "_", prefix.upper()),
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


def parse_args(argv: list[str]) -> dict[str, object]:
    """socat's argv -> docopt's dictionary (SocatError for a malformed command line)."""
    from docopt import DocoptExit, docopt

    try:
        args: dict[str, object] = docopt(USAGE, argv=normalise(argv), default_help=False, version=None)
    except DocoptExit:
        raise SocatError('invalid command line; use option "-h" for help') from None
    return args


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

    guard_standard_fds()
    first, second = parse(addresses[0]), parse(addresses[1])
    rt = Runtime(log.current(), cfg.env_prefix, splice=not os.environ.get("PYSOCAT_NO_SPLICE"),
                 prefork=not os.environ.get("PYSOCAT_NO_PREFORK"))
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
    try:
        return _run(argv)
    except QuietExit as done:
        log.notice(f"exiting with status {done.status}")
        return done.status
    except SocatError as exc:
        log.error(exc.message)
        return exc.status
    except SignalExit as sig:
        log.warn(f"exiting on signal {sig.signum}")
        return 128 + sig.signum
    except KeyboardInterrupt:
        log.warn("exiting on signal 2")
        return 130
    except Exception as exc:  # a bug: one line, no traceback (PYSOCAT_TRACEBACK=1 shows it)
        if os.environ.get("PYSOCAT_TRACEBACK"):
            raise
        log.error(f"internal error: {type(exc).__name__}: {exc}")
        return 1
    finally:
        log.current().close()
        log.restore(token)
