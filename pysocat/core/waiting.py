"""Blocking waits for descriptors outside the engine, with poll() (no FD_SETSIZE limit).

select() refuses descriptors above 1023, which a process serving many
sessions (``concurrent``) passes quickly; these helpers are what openers and
the forking strategies wait with instead.
"""

from __future__ import annotations

import os
import select

_IN = select.POLLIN | select.POLLHUP | select.POLLERR
_OUT = select.POLLOUT | select.POLLHUP | select.POLLERR


def wait(read: list[int], write: list[int], timeout: float | None) -> tuple[set[int], set[int]]:
    """Wait until a descriptor of ``read`` is readable or one of ``write`` writable (or ``timeout``).

    Returns (readable, writable); both empty on timeout.  EINTR returns empty sets too.
    """
    poller = select.poll()
    for fd in read:
        poller.register(fd, select.POLLIN)
    for fd in write:
        poller.modify(fd, select.POLLIN | select.POLLOUT) if fd in read else poller.register(fd, select.POLLOUT)
    try:
        events = poller.poll(None if timeout is None else max(0.0, timeout) * 1000)
    except InterruptedError:
        return set(), set()
    readable = {fd for fd, ev in events if ev & _IN and fd in read}
    writable = {fd for fd, ev in events if ev & _OUT and fd in write}
    return readable, writable


def drain(fd: int) -> None:
    """Read a non-blocking wakeup pipe empty (its bytes only say "look again")."""
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass
