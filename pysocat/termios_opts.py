"""termios appliers: the TERMIOS option group (socat's termios table).

Each option changes one aspect of a terminal's settings with tcgetattr/tcsetattr
on the descriptor it is applied to.  The first change to a terminal saves its
settings; they are put back when pysocat exits (also on a terminating signal,
which unwinds through normal exit), as socat does at close.  An option applied
to something that is not a terminal fails with ENOTTY like any other option.
"""

from __future__ import annotations

import atexit
import errno
import os
import termios
from collections.abc import Callable
from typing import Any

Applier = Callable[[int, Any], None]
Attrs = list[Any]

IFLAG, OFLAG, CFLAG, LFLAG, ISPEED, OSPEED, CC = range(7)

#: (st_dev, st_ino, st_rdev) of a terminal -> (fds it was changed through, settings before the first change)
_SAVED: dict[tuple[int, int, int], tuple[set[int], Attrs]] = {}
_OWNER = os.getpid()


def _identity(fd: int) -> tuple[int, int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino, st.st_rdev


def _get(fd: int) -> Attrs:
    try:
        return termios.tcgetattr(fd)
    except termios.error as exc:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else errno.ENOTTY
        raise OSError(code, f"tcgetattr({fd}): {os.strerror(code)}") from None


def _set(fd: int, attrs: Attrs) -> None:
    key = _identity(fd)
    if key not in _SAVED:
        old = _get(fd)
        old[CC] = list(old[CC])
        _SAVED[key] = ({fd}, old)
    else:
        _SAVED[key][0].add(fd)
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


def restore_all() -> None:
    """Put every changed terminal back as it was (only in the process that changed it)."""
    if os.getpid() != _OWNER:
        return
    for key, (fds, attrs) in list(_SAVED.items()):
        for fd in sorted(fds):
            try:
                if _identity(fd) == key:
                    termios.tcsetattr(fd, termios.TCSADRAIN, attrs)
                    break
            except (OSError, termios.error):
                continue
    _SAVED.clear()


def forget(fd: int) -> None:
    """Do not restore ``fd`` (it is about to be closed or handed over)."""
    for key, (fds, _attrs) in list(_SAVED.items()):
        fds.discard(fd)
        if not fds:
            del _SAVED[key]


atexit.register(restore_all)


def reset_owner() -> None:
    """After fork in a child that keeps running pysocat: it owns nothing to restore."""
    global _OWNER
    _OWNER = -1


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
    import fcntl

    fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
