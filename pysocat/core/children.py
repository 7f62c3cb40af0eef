"""Fork machinery of the forking strategies: live children, reaped when SIGCHLD wakes the loop."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from . import log
from .waiting import drain

_signal: Any = sys.modules["_signal"]  # the C module under signal (typeshed has no stub for it)
SIG_DFL: Any = _signal.SIG_DFL  # a plain int (signal.SIG_DFL is an enum member, which _signal refuses)


def raw_signal(signum: int, handler: Any) -> Any:
    """signal.signal without its enum wrapping, which makes a fresh fork child copy many pages."""
    return _signal.signal(signum, handler)


class ChildTracker:
    """Live fork children, reaped when SIGCHLD wakes the loop."""

    def __init__(self) -> None:
        self.children: set[int] = set()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.old_handler = signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.old_wakeup = signal.set_wakeup_fd(self.wake_w)

    def reap(self) -> None:
        """Collect every exited child without blocking."""
        drain(self.wake_r)
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            log.info(f"waitpid(): child {pid} exited with status {os.waitstatus_to_exitcode(status)}")

    def full(self, limit: int | None) -> bool:
        """Whether ``max-children`` live children are running."""
        return limit is not None and len(self.children) >= limit

    def in_child(self) -> None:
        """After fork, in the child: drop the parent's reaping machinery."""
        signal.set_wakeup_fd(-1)
        raw_signal(signal.SIGCHLD, SIG_DFL)
        os.close(self.wake_r)
        os.close(self.wake_w)
        self.children.clear()

    def close(self) -> None:
        """In the parent, when serving ends: put SIGCHLD and the wakeup fd back."""
        signal.set_wakeup_fd(self.old_wakeup)
        signal.signal(signal.SIGCHLD, self.old_handler)
        for fd in (self.wake_r, self.wake_w):
            os.close(fd)
