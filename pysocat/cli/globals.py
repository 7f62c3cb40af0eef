"""The global options: the one table that the command line, ``-h`` and the man page are made from.

Each :class:`GlobalOption` row is one docopt long option (``--bufsize``) and says

- which socat spellings select it (``flags``) and how a value attaches (``takes``):
  ``"flag"`` none; ``"value"`` attached (``-b8192``) or as the next argument
  (``-b 8192``); ``"optional"`` attached only, and may be empty (``-ly``,
  ``-lydaemon``); ``"level"`` the flag's letter repeated (``-hh``, ``-???``), last
  one wins; ``"count"`` repeated letters add up (``-d -dd``) and ``-d<n>`` sets;
- how a numeric value is checked (``number``);
- its ``-h`` lines (``help``: the label as shown, and the text) and the column the
  text starts in (``column``; 0: 7, or 15 for a label longer than 5, as socat lays it out);
- its man page entries (``man``: the ``.TP`` tag and the description).

:mod:`pysocat.cli` derives the normaliser and docopt's usage text from the rows,
:mod:`pysocat.cli.help` the ``-h`` list and :mod:`pysocat.cli.manpage` the page's
OPTIONS section; ``build_config`` checks values with the rows' ``number``.

Man text is plain text: ```x``` is bold, ``<x>`` italic, and each line of the text
is one line of the page (break lines after sentences, never after an abbreviation
such as "e.g.").

This module is loaded on every start: rows are plain objects, no dataclass or enum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SocatError

if TYPE_CHECKING:
    from typing import Literal

    Takes = Literal["flag", "value", "optional", "level", "count"]

BUFSIZE_MAX = 2**31 - 1


class Number:
    """The numeric check of an option's value: ``kind(text)`` within ``lo..hi``, then at most ``most``."""

    __slots__ = ("kind", "lo", "hi", "most", "too_big")

    def __init__(self, kind: type[int] | type[float], lo: float, hi: float, most: int | None = None,
                 too_big: str = "") -> None:
        self.kind, self.lo, self.hi, self.most, self.too_big = kind, lo, hi, most, too_big

    def check(self, flag: str, text: str) -> float:
        """The value of ``text`` given to ``flag``, as a float (SocatError in socat's words if it is bad)."""
        try:
            value = self.kind(text)
        except ValueError:
            raise SocatError(f'missing numerical value of option "{flag}": "{text}"') from None
        if value != value or not self.lo <= value <= self.hi:
            raise SocatError(f'value of option "{flag}" out of range: {text} (allowed {self.lo}..{self.hi})')
        number = float(value)
        if self.most is not None and int(number) > self.most:
            raise SocatError(self.too_big.format(value=int(number), most=self.most))
        return number


class GlobalOption:
    """One global option (see the module's docstring for the fields)."""

    __slots__ = ("long", "flags", "takes", "metavar", "number", "help", "column", "man")

    def __init__(self, long: str, flags: tuple[str, ...], takes: Takes = "flag", *, metavar: str = "",
                 number: Number | None = None, help: tuple[tuple[str, str], ...],
                 column: int = 0, man: tuple[tuple[str, str], ...]) -> None:
        self.long = long
        self.flags = flags
        self.takes = takes
        self.metavar = metavar
        self.number = number
        self.help = help
        self.column = column
        self.man = man

    @property
    def flag(self) -> str:
        """The main socat spelling, as error messages name the option."""
        return self.flags[0]

    def __repr__(self) -> str:
        return f"<GlobalOption {self.long} {'|'.join(self.flags)} {self.takes}>"


_G = GlobalOption

#: The global options in the order of ``-h`` and the man page.
TABLE: tuple[GlobalOption, ...] = (
    _G("--version", ("-V",),
       help=(("-V", "print version and feature information to stdout, and exit"),),
       man=(("`-V`", """
            Print the version and the list of compiled-in features, then exit.
            Line 2 carries the pysocat version and, as its last token, the socat version
            pysocat is compatible with.
            The following lines have the form `#define WITH_`<FEATURE>` 1`
            for exactly the features that work.
            """),)),
    _G("--help", ("-h", "-?"), "level", metavar="level",
       help=(("-h|-?", "print a help text describing command line options and addresses"),
             ("-hh", "like -h, plus a list of all common address option names"),
             ("-hhh", "like -hh, plus a list of all available address option names")),
       man=(("`-h`, `-?`", """
            Print a help text: the global options and every address type with its
            parameters and option groups, sorted by keyword.
            """),
            ("`-hh`", """
            Like `-h`,
            plus every address option name, sorted, with its groups, phase and type.
            """),
            ("`-hhh`", """
            Like `-hh`,
            plus every option alias.
            """))),
    _G("--debug", ("-d",), "count", metavar="n", column=16,
       help=(("-d[ddd]", "increase verbosity (use up to 4 times; 2 are recommended)"),
             ("-d<n>", "set verbosity to n (0..4)")),
       man=(("`-d`", """
            Increase the verbosity of the log.
            Without `-d` only fatal, error and warning messages (`F`, `E`, `W`) are printed;
            each `-d` adds one level: notices (`N`), info (`I`) and debug (`D`).
            It may be given up to four times, also as `-dd`, `-ddd` or `-dddd`.
            `-d -d` is recommended to see what is happening.
            """),
            ("`-d`<n>", """
            Set the verbosity to <n> (0 to 4) directly, e.g. `-d2`.
            """))),
    _G("--analyze", ("-D",),
       help=(("-D", "analyze file descriptors before loop"),),
       man=(("`-D`", """
            Before the transfer loop, print on standard error what kind of object each
            descriptor is (socket, pipe, file, character or block device, terminal).
            """),)),
    _G("--syslog", ("-ly",), "optional", metavar="facility",
       help=(("-ly[facility]", "log to syslog, using facility (default is daemon)"),),
       man=(("`-ly`[<facility>]", """
            Log to `syslog`(3) instead of standard error, with the given facility (default `daemon`).
            """),)),
    _G("--log-file", ("-lf",), "value", metavar="file",
       help=(("-lf<logfile>", "log to file"),),
       man=(("`-lf` <logfile>", """
            Append log messages to <logfile> instead of standard error.
            """),)),
    _G("--log-stderr", ("-ls",), column=15,
       help=(("-ls", "log to stderr (default if no other log)"),),
       man=(("`-ls`", """
            Log to standard error (the default).
            """),)),
    _G("--log-mixed", ("-lm",), "optional", metavar="facility",
       help=(("-lm[facility]", "mixed log mode (stderr during initialization, then syslog)"),),
       man=(("`-lm`[<facility>]", """
            Mixed log mode: log to standard error while starting up, then switch to
            syslog with the given facility (default `daemon`) when the transfer begins.
            """),)),
    _G("--log-prefix", ("-lp",), "value", metavar="name",
       help=(("-lp<progname>", "set the program name used for logging and for SOCAT-style env vars"),),
       man=(("`-lp`<name>", """
            Use <name> as the program name in log lines (default: the name pysocat was invoked with).
            It also sets the prefix of the environment variables that a forking listener
            passes to its children (<NAME>_PEERADDR and so on, upper case, other characters replaced by `_`);
            the `SOCAT_` variables are always set as well.
            """),)),
    _G("--log-micro", ("-lu",), column=15,
       help=(("-lu", "use microseconds for logging timestamps"),),
       man=(("`-lu`", """
            Add microseconds to log timestamps.
            """),)),
    _G("--log-host", ("-lh",), column=15,
       help=(("-lh", "add hostname to log messages"),),
       man=(("`-lh`", """
            Add the host name to log lines.
            """),)),
    _G("--verbose-dump", ("-v",),
       help=(("-v", "verbose text dump of data traffic"),),
       man=(("`-v`", """
            Write a text dump of the transferred data to standard error, in socat's format:
            a line starting with `>` (left to right) or `<` (right to left)
            followed by the timestamp, the length and the byte offsets, then the data.
            """),)),
    _G("--hex-dump", ("-x",),
       help=(("-x", "verbose hexadecimal dump of data traffic"),),
       man=(("`-x`", """
            Like `-v`, but the data is dumped in hexadecimal.
            """),)),
    _G("--raw-lr", ("-r",), "value", metavar="file",
       help=(("-r <file>", "raw dump of data flowing from left to right"),),
       man=(("`-r` <file>", """
            Write a raw copy of the data flowing from left to right into <file>.
            """),)),
    _G("--raw-rl", ("-R",), "value", metavar="file",
       help=(("-R <file>", "raw dump of data flowing from right to left"),),
       man=(("`-R` <file>", """
            Write a raw copy of the data flowing from right to left into <file>.
            """),)),
    _G("--bufsize", ("-b",), "value", metavar="size",
       # socat's wording for a size over the limit (its test suite greps for it), typo included
       number=Number(int, 1, float("inf"), BUFSIZE_MAX, "buffer size option (-b) to big - {value} (max is {most})"),
       help=(("-b<size_t>", "set data buffer size (8192)"),),
       man=(("`-b`<size>", """
            Set the transfer buffer size in bytes (default 8192, at least 1).
            """),)),
    _G("--sloppy", ("-s",),
       help=(("-s", "sloppy (continue on error)"),),
       man=(("`-s`", """
            Sloppy mode (socat: continue after errors where that is possible).
            Accepted for compatibility; pysocat currently behaves the same with or without it.
            """),)),
    _G("--close-timeout", ("-t",), "value", metavar="seconds", number=Number(float, 0, 1e9),
       help=(("-t<timeout>", "wait seconds before closing second channel"),),
       man=(("`-t`<seconds>", """
            After one direction has reached EOF, wait until the other direction has been
            idle for this many seconds before ending (default 0.5).
            Every transfer restarts the timer.
            Fractions are allowed (`-t1.5`).
            """),)),
    _G("--total-timeout", ("-T",), "value", metavar="seconds", number=Number(float, 0, 1e9),
       help=(("-T<timeout>", "total inactivity timeout in seconds"),),
       man=(("`-T`<seconds>", """
            Total inactivity timeout: end the transfer when no data has moved in either
            direction for this many seconds.
            """),)),
    _G("--unidir", ("-u",),
       help=(("-u", "unidirectional mode (left to right)"),),
       man=(("`-u`", """
            Unidirectional mode: only transfer from the first address to the second (the
            first is only read, the second only written).
            """),)),
    _G("--unidir-reverse", ("-U",),
       help=(("-U", "unidirectional mode (right to left)"),),
       man=(("`-U`", """
            Unidirectional mode in reverse: only transfer from the second address to the first.
            `-u` and `-U` must not be combined.
            """),)),
    _G("--no-group-check", ("-g",),
       help=(("-g", "do not check option groups"),),
       man=(("`-g`", """
            Do not check whether an address option is valid for the address type.
            """),)),
    _G("--lock", ("-L",), "value", metavar="file",
       help=(("-L <lockfile>", "try to obtain lock, or fail"),),
       man=(("`-L` <lockfile>", """
            Create <lockfile> before opening the addresses; fail if it already exists.
            It is removed at exit.
            """),)),
    _G("--wait-lock", ("-W",), "value", metavar="file",
       help=(("-W <lockfile>", "try to obtain lock, or wait"),),
       man=(("`-W` <lockfile>", """
            Like `-L`, but wait until the lock file can be created.
            """),)),
    _G("--ipv4", ("-4",),
       help=(("-4", "prefer IPv4 if version is not explicitly specified"),),
       man=(("`-4`", """
            Prefer IPv4 when an address does not name the IP version.
            """),)),
    _G("--ipv6", ("-6",),
       help=(("-6", "prefer IPv6 if version is not explicitly specified"),),
       man=(("`-6`", """
            Prefer IPv6 when an address does not name the IP version.
            """),)),
    _G("--signals", ("-S",), "optional", metavar="list",
       help=(("-S<signals>", "signals to log (accepted for compatibility)"),),
       man=(("`-S`<signals>", """
            Accepted for compatibility with socat 1.8; it has no effect.
            """),)),
    _G("--statistics", ("--statistics",),
       help=(("--statistics", "print transfer statistics at exit"),),
       man=(("`--statistics`", """
            At exit, print the number of bytes transferred in each direction on standard error.
            """),)),
)

#: Rows by docopt long name.
BY_LONG: dict[str, GlobalOption] = {row.long: row for row in TABLE}
