"""Terminal rows (TERMIOS, PTY, READLINE) and the termios machinery behind them.

Each TERMIOS option changes one aspect of a terminal's settings with tcgetattr/tcsetattr
on the descriptor it is applied to.  The first change to a terminal saves its
settings; they are put back when pysocat exits (also on a terminating signal,
which unwinds through normal exit), as socat does at close.  An option applied
to something that is not a terminal fails with ENOTTY like any other option.
``pysocat.termios_opts`` re-exports the machinery for the address modules.
"""

from __future__ import annotations

import errno
import fcntl
import os
import termios
from collections.abc import Callable
from typing import Any

from ..core.runtime import current as current_runtime
from ..core.terminals import TerminalGuard
from .core import OptType, Phase, opt

Applier = Callable[[int, Any], None]
B, N, S, T = OptType.BOOL, OptType.INT, OptType.STRING, OptType.TIME
Attrs = list[Any]

IFLAG, OFLAG, CFLAG, LFLAG, ISPEED, OSPEED, CC = range(7)



def _guard() -> TerminalGuard:
    """The running relay's terminal guard (a throwaway one outside a relay: nothing to restore)."""
    rt = current_runtime()
    return rt.terminals if rt is not None else TerminalGuard()


def _get(fd: int) -> Attrs:
    try:
        return termios.tcgetattr(fd)
    except termios.error as exc:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else errno.ENOTTY
        raise OSError(code, f"tcgetattr({fd}): {os.strerror(code)}") from None


def _set(fd: int, attrs: Attrs) -> None:
    old = _get(fd)
    old[CC] = list(old[CC])
    _guard().save(fd, old)
    try:
        termios.tcsetattr(fd, termios.TCSADRAIN, attrs)
    except termios.error as exc:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else errno.EINVAL
        raise OSError(code, f"tcsetattr({fd}): {os.strerror(code)}") from None


def modify(fd: int, change: Callable[[Attrs], None]) -> None:
    """tcgetattr, let ``change`` edit the list in place, tcsetattr (saving the original once)."""
    attrs = _get(fd)
    attrs[CC] = list(attrs[CC])
    change(attrs)
    _set(fd, attrs)


def forget(fd: int) -> None:
    """Do not restore ``fd`` (it is about to be closed or handed over)."""
    _guard().forget(fd)


# --- appliers ------------------------------------------------------------------------


def flag(field: int, bit: int) -> Applier:
    """A boolean flag: ``opt`` / ``opt=1`` sets the bit, ``opt=0`` clears it."""

    def apply(fd: int, value: Any) -> None:
        def change(a: Attrs) -> None:
            a[field] = (a[field] | bit) if value else (a[field] & ~bit)

        modify(fd, change)

    return apply


def choice(field: int, mask: int, setting: int) -> Applier:
    """A constant: sets a multi-bit field (cs7, tab0, nl1, ...) to one value."""

    def apply(fd: int, value: Any) -> None:
        if not value:
            return

        def change(a: Attrs) -> None:
            a[field] = (a[field] & ~mask) | setting

        modify(fd, change)

    return apply


def field_index(field: int, mask: int, values: tuple[int, ...]) -> Applier:
    """A numbered field (csize=0..3, crdly=0..3, tabdly=0..3): the value picks a setting."""

    def apply(fd: int, value: Any) -> None:
        index = int(value)
        if not 0 <= index < len(values):
            raise OSError(errno.EINVAL, f"value {index} out of range 0..{len(values) - 1}")

        def change(a: Attrs) -> None:
            a[field] = (a[field] & ~mask) | values[index]

        modify(fd, change)

    return apply


def control_char(index: int) -> Applier:
    """A control character or count (vintr, veof, vmin, vtime, ...)."""

    def apply(fd: int, value: Any) -> None:
        def change(a: Attrs) -> None:
            a[CC][index] = int(value)

        modify(fd, change)

    return apply


#: baud rates that have a B<rate> constant
RATES: dict[int, int] = {
    int(name[1:]): getattr(termios, name)
    for name in dir(termios)
    if name.startswith("B") and name[1:].isdigit()
}


def speed(both: bool, which: int = ISPEED) -> Applier:
    """b<rate> (const) or ispeed/ospeed=<rate>: set line speed(s)."""

    def apply(fd: int, value: Any) -> None:
        rate = int(value)
        if rate not in RATES:
            raise OSError(errno.EINVAL, f"unsupported baud rate {rate}")
        code = RATES[rate]

        def change(a: Attrs) -> None:
            if both:
                a[ISPEED] = a[OSPEED] = code
                a[CFLAG] = (a[CFLAG] & ~termios.CBAUD) | code
            else:
                a[which] = code

        modify(fd, change)

    return apply


def rate_const(rate: int) -> Applier:
    """b9600, b115200, ...: a constant option that sets both speeds."""
    inner = speed(True)

    def apply(fd: int, value: Any) -> None:
        if value:
            inner(fd, rate)

    return apply


_T = termios

_RAW_IFLAG = (_T.IGNBRK | _T.BRKINT | _T.IGNPAR | _T.PARMRK | _T.INPCK | _T.ISTRIP | _T.INLCR | _T.IGNCR
              | _T.ICRNL | _T.IXON | _T.IXOFF | _T.IUCLC | _T.IXANY | _T.IMAXBEL)


def _stty_raw(a: Attrs) -> None:
    """``stty raw``: no input processing, no signals, no canonical mode, no output processing."""
    a[IFLAG] &= ~_RAW_IFLAG
    a[OFLAG] &= ~_T.OPOST
    a[LFLAG] &= ~(_T.ISIG | _T.ICANON | _T.XCASE)
    a[CC][_T.VMIN] = 1
    a[CC][_T.VTIME] = 0


def _cfmakeraw(a: Attrs) -> None:
    """glibc's cfmakeraw()."""
    a[IFLAG] &= ~(_T.IGNBRK | _T.BRKINT | _T.PARMRK | _T.ISTRIP | _T.INLCR | _T.IGNCR | _T.ICRNL | _T.IXON)
    a[OFLAG] &= ~_T.OPOST
    a[LFLAG] &= ~(_T.ECHO | _T.ECHONL | _T.ICANON | _T.ISIG | _T.IEXTEN)
    a[CFLAG] &= ~(_T.CSIZE | _T.PARENB)
    a[CFLAG] |= _T.CS8
    a[CC][_T.VMIN] = 1
    a[CC][_T.VTIME] = 0


def _rawer(a: Attrs) -> None:
    """socat's termios-rawer: raw, and no echo either."""
    _stty_raw(a)
    a[LFLAG] &= ~(_T.ECHO | _T.ECHONL)


def _sane(a: Attrs) -> None:
    """``stty sane``."""
    a[IFLAG] |= _T.BRKINT | _T.ICRNL | _T.IMAXBEL
    a[IFLAG] &= ~(_T.IGNBRK | _T.INLCR | _T.IGNCR | _T.IUCLC | _T.IXOFF | _T.IXANY)
    a[OFLAG] |= _T.OPOST | _T.ONLCR
    a[OFLAG] &= ~(_T.OLCUC | _T.OCRNL | _T.ONOCR | _T.ONLRET | _T.OFILL | _T.OFDEL | _T.NLDLY | _T.CRDLY
                  | _T.TABDLY | _T.BSDLY | _T.VTDLY | _T.FFDLY)
    a[CFLAG] |= _T.CREAD
    a[LFLAG] |= _T.ISIG | _T.ICANON | _T.IEXTEN | _T.ECHO | _T.ECHOE | _T.ECHOK | _T.ECHOCTL | _T.ECHOKE
    a[LFLAG] &= ~(_T.ECHONL | _T.NOFLSH | _T.XCASE | _T.TOSTOP | _T.ECHOPRT | _T.FLUSHO | _T.PENDIN)
    defaults = {_T.VINTR: 3, _T.VQUIT: 28, _T.VERASE: 127, _T.VKILL: 21, _T.VEOF: 4, _T.VSTART: 17,
                _T.VSTOP: 19, _T.VSUSP: 26, _T.VREPRINT: 18, _T.VWERASE: 23, _T.VLNEXT: 22, _T.VDISCARD: 15}
    for index, code in defaults.items():
        a[CC][index] = bytes((code,))
    a[CC][_T.VMIN] = bytes((1,))
    a[CC][_T.VTIME] = bytes((0,))


def preset(change: Callable[[Attrs], None]) -> Applier:
    """raw, rawer, cfmakeraw, sane: a whole set of changes at once."""

    def apply(fd: int, value: Any) -> None:
        if value:
            modify(fd, change)

    return apply


def make_raw(fd: int) -> None:
    """Put a terminal in cfmakeraw mode (saved and restored at exit like an option)."""
    modify(fd, _cfmakeraw)


def ctty(fd: int) -> None:
    """Make ``fd`` the controlling terminal of the calling process (after setsid)."""
    fcntl.ioctl(fd, termios.TIOCSCTTY, 0)


def _ctty(fd: int, value: Any) -> None:
    if value:
        ctty(fd)


# --- rows ----------------------------------------------------------------------------


def _termios_rows() -> None:
    t = termios
    i, o, c, lf = IFLAG, OFLAG, CFLAG, LFLAG
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
        opt(name, B, "TERMIOS", Phase.FD, *aliases, apply=flag(fld, bit),
            help=f"set (or with =0 clear) the flag `{name.upper()}`: {text}")
    choices: list[tuple[str, int, int, int]] = [
        ("cs5", c, t.CSIZE, t.CS5), ("cs6", c, t.CSIZE, t.CS6), ("cs7", c, t.CSIZE, t.CS7), ("cs8", c, t.CSIZE, t.CS8),
        ("nl0", o, t.NLDLY, t.NL0), ("nl1", o, t.NLDLY, t.NL1),
        ("cr0", o, t.CRDLY, t.CR0), ("cr1", o, t.CRDLY, t.CR1), ("cr2", o, t.CRDLY, t.CR2), ("cr3", o, t.CRDLY, t.CR3),
        ("tab0", o, t.TABDLY, t.TAB0), ("tab1", o, t.TABDLY, t.TAB1), ("tab2", o, t.TABDLY, t.TAB2),
        ("tab3", o, t.TABDLY, t.TAB3), ("bs0", o, t.BSDLY, t.BS0), ("bs1", o, t.BSDLY, t.BS1),
        ("vt0", o, t.VTDLY, t.VT0), ("vt1", o, t.VTDLY, t.VT1), ("ff0", o, t.FFDLY, t.FF0), ("ff1", o, t.FFDLY, t.FF1),
    ]
    for name, fld, mask, value in choices:
        opt(name, B, "TERMIOS", Phase.FD, apply=choice(fld, mask, value),
            help=f"set the multi-bit field to `{name.upper()}` (see `termios`(3))")
    opt("xtabs", B, "TERMIOS", Phase.FD, apply=choice(o, t.TABDLY, t.XTABS), help="expand tabs to spaces on output")
    opt("csize", N, "TERMIOS", Phase.FD, lo=0, hi=3, apply=field_index(c, t.CSIZE, (t.CS5, t.CS6, t.CS7, t.CS8)),
        help="character size 0 to 3, for 5 to 8 bits (`cs5` to `cs8`)")
    opt("crdly", N, "TERMIOS", Phase.FD, lo=0, hi=3, apply=field_index(o, t.CRDLY, (t.CR0, t.CR1, t.CR2, t.CR3)),
        help="carriage return delay style 0 to 3")
    opt("tabdly", N, "TERMIOS", Phase.FD, lo=0, hi=3,
        apply=field_index(o, t.TABDLY, (t.TAB0, t.TAB1, t.TAB2, t.TAB3)), help="horizontal tab delay style 0 to 3")
    chars: list[tuple[str, int, tuple[str, ...]]] = [
        ("vintr", t.VINTR, ("intr",)), ("vquit", t.VQUIT, ("quit",)), ("verase", t.VERASE, ("erase",)),
        ("vkill", t.VKILL, ("kill",)), ("veof", t.VEOF, ("eof",)), ("veol", t.VEOL, ("eol",)),
        ("veol2", t.VEOL2, ("eol2",)), ("vswtc", t.VSWTC, ("swtc", "swtch")), ("vstart", t.VSTART, ("start",)),
        ("vstop", t.VSTOP, ("stop",)), ("vsusp", t.VSUSP, ("susp",)), ("vreprint", t.VREPRINT, ("reprint", "rprnt")),
        ("vdiscard", t.VDISCARD, ("discard",)), ("vwerase", t.VWERASE, ("werase",)), ("vlnext", t.VLNEXT, ("lnext",)),
        ("vmin", t.VMIN, ("min",)), ("vtime", t.VTIME, ("time",)),
    ]
    for name, index, aliases in chars:
        what = "the count" if name in ("vmin", "vtime") else "the control character, as its code (0..255),"
        opt(name, N, "TERMIOS", Phase.FD, *aliases, lo=0, hi=255, apply=control_char(index),
            help=f"{what} `{name.upper()}` of the terminal")
    for rate in sorted(RATES):
        opt(f"b{rate}", B, "TERMIOS", Phase.FD, apply=rate_const(rate), help=f"set input and output speed to {rate} baud")
    opt("ispeed", N, "TERMIOS", Phase.FD, lo=0, hi=2**31 - 1, apply=speed(False, ISPEED),
        help="input baud rate (a rate such as 9600)")
    opt("ospeed", N, "TERMIOS", Phase.FD, lo=0, hi=2**31 - 1, apply=speed(False, OSPEED),
        help="output baud rate (a rate such as 9600)")
    opt("raw", B, "TERMIOS", Phase.FD, apply=preset(_stty_raw),
        help="like `stty raw` (deprecated, as in socat: prefer `rawer` or `cfmakeraw`)")
    opt("termios-rawer", B, "TERMIOS", Phase.FD, "rawer", apply=preset(_rawer),
        help="like `raw` and with echo off")
    opt("termios-cfmakeraw", B, "TERMIOS", Phase.FD, "cfmakeraw", apply=preset(_cfmakeraw),
        help="as the C library's cfmakeraw(): raw, no echo, 8 bits, no parity")
    opt("sane", B, "TERMIOS", Phase.FD, apply=preset(_sane), help="like `stty sane`")
    opt("tiocsctty", B, "TERMIOS", Phase.LATE, "ctty", apply=_ctty,
        help="make the terminal the controlling terminal: of the child with EXEC, SYSTEM or SHELL and `pty` (use "
             "`setsid` too), else of pysocat")


_termios_rows()


opt("pty-wait-slave", B, "PTY", Phase.EARLY, "wait-slave", "waitslave",
    help="close pysocat's own descriptor of the slave and wait until a program has opened it before going on. The "
         "last close of the slave by the program is then an EOF")
opt("pty-interval", T, "PTY", Phase.EARLY, "pty-intervall", help="seconds between checks for `wait-slave` (default 1)")
opt("symbolic-link", S, "PTY", Phase.LATE, "link",
    help="make a symbolic link to the slave device at this path (removed at close unless `unlink-close=0`)")
opt("openpty", B, "PTY", Phase.INIT, help="allocate the pseudo terminal with openpty() (the default)")
opt("ptmx", B, "PTY", Phase.INIT,
    help="allocate the pseudo terminal through /dev/ptmx (on Linux the same as `openpty`)")

opt("history-file", S, "READLINE", Phase.INIT, "history",
    help="load the line history from this file at start and append each entered line to it")
opt("noprompt", B, "READLINE", Phase.INIT,
    help="do not use the last output line without a newline as the prompt of the next input line")
opt("noecho", S, "READLINE", Phase.INIT,
    help="after a prompt matching this regular expression, read the next line without echo and keep it out of the "
         "history (passwords)")
opt("prompt", S, "READLINE", Phase.INIT, help="use this fixed prompt (shown by readline when editing starts)")
