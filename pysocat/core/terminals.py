"""A relay's terminal guard: settings of every terminal it changed, put back at its end.

The first change to a terminal (a termios option, a raw readline prompt)
saves its settings here; :meth:`TerminalGuard.restore` puts them back, called
when the relay's runtime is left (normal end, an error, a terminating signal
that unwinds).  Only the process that saved them restores them: a per-peer
child ends with ``os._exit`` and leaves the terminal to its parent.
"""

from __future__ import annotations

import os
import termios
from typing import Any

Attrs = list[Any]
Key = tuple[int, int, int]  # (st_dev, st_ino, st_rdev): one terminal, whatever fd reaches it


def identity(fd: int) -> Key:
    """What identifies the terminal behind ``fd``."""
    st = os.fstat(fd)
    return st.st_dev, st.st_ino, st.st_rdev


class TerminalGuard:
    """Terminal -> (fds it was changed through, settings before the first change)."""

    def __init__(self) -> None:
        self.saved: dict[Key, tuple[set[int], Attrs]] = {}
        self.owner = os.getpid()

    def save(self, fd: int, current: Attrs) -> None:
        """Remember ``current`` as the settings to restore, unless this terminal was saved before."""
        key = identity(fd)
        if key in self.saved:
            self.saved[key][0].add(fd)
        else:
            self.saved[key] = ({fd}, current)

    def forget(self, fd: int) -> None:
        """Do not restore through ``fd`` (it is about to be closed or handed over)."""
        for key, (fds, _attrs) in list(self.saved.items()):
            fds.discard(fd)
            if not fds:
                del self.saved[key]

    def restore(self) -> None:
        """Put every changed terminal back as it was (only in the process that changed it)."""
        if os.getpid() != self.owner:
            return
        for key, (fds, attrs) in list(self.saved.items()):
            for fd in sorted(fds):
                try:
                    if identity(fd) == key:
                        termios.tcsetattr(fd, termios.TCSADRAIN, attrs)
                        break
                except (OSError, termios.error):
                    continue
        self.saved.clear()
