"""A relay's runtime: what used to be process globals, one object per relay.

The runtime carries the relay's logger, the variables it exports to programs
it starts (``SOCAT_PEERADDR``, ``SOCAT_OPENSSL_*``, ...), the lock files it
took, and the switches the CLI (or the library) read once.  Openers reach it
through their ``OpenContext``; every session gets a child runtime with its own
exported variables, so concurrent sessions never see each other's peers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from types import TracebackType

from ..errors import SocatError
from . import log
from .log import Logger
from .terminals import TerminalGuard

_CURRENT: ContextVar[Runtime | None] = ContextVar("pysocat_runtime", default=None)


def current() -> Runtime | None:
    """The runtime of the relay running in this thread, if any."""
    return _CURRENT.get()


class Runtime:
    """Per-relay state: logger, exported child variables, locks, switches."""

    def __init__(
        self,
        logger: Logger,
        env_prefix: str = "PYSOCAT",
        *,
        splice: bool = True,
        prefork: bool = True,
        library: bool = False,
        closed_stdio: frozenset[int] = frozenset(),
    ) -> None:
        self.log = logger
        self.env_prefix = env_prefix
        self.splice = splice  # the zero-copy movers may be chosen (PYSOCAT_NO_SPLICE clears it)
        self.prefork = prefork  # fork listeners keep workers ahead of demand (PYSOCAT_NO_PREFORK clears it)
        self.library = library  # in a host program: never fork, never touch fds 0-2
        self.inline = False  # opening on the event loop's thread: an opener that would wait raises WouldBlock
        self.closed_stdio = closed_stdio  # standard fds closed when the CLI started (placeholders hold them)
        self.exports: dict[str, str] = {}
        self.deferred_exports: list[Callable[[], dict[str, str]]] = []
        self.locks: list[str] = []
        self.terminals = TerminalGuard()
        self._tokens: list[tuple[Token[Runtime | None], Token[Logger | None]]] = []

    # -- the relay's extent ----------------------------------------------------------------
    def __enter__(self) -> Runtime:
        """Make this the running relay's runtime (and logger) in this thread."""
        self._tokens.append((_CURRENT.set(self), log.use(self.log)))
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Put terminals back, remove lock files, and leave."""
        self.terminals.restore()
        self.release_locks()
        rt_token, log_token = self._tokens.pop()
        log.restore(log_token)
        _CURRENT.reset(rt_token)

    def session(self) -> Runtime:
        """A child runtime for one session: same logger and switches, its own exports."""
        child = Runtime.__new__(Runtime)
        child.__dict__.update(self.__dict__)
        child.exports = dict(self.exports)
        child.deferred_exports = list(self.deferred_exports)
        child.locks = []
        child._tokens = []
        return child

    # -- variables for started programs -------------------------------------------
    def export(self, values: dict[str, str]) -> None:
        """Set ``<prefix>_<key>`` and ``SOCAT_<key>`` for programs this session starts."""
        for pre in {self.env_prefix, "SOCAT"}:
            for key, value in values.items():
                self.exports[f"{pre}_{key}"] = value

    def export_later(self, values: Callable[[], dict[str, str]]) -> None:
        """Export ``values()`` when a program is first started (what most sessions never do)."""
        self.deferred_exports.append(values)

    def program_env(self) -> dict[str, str]:
        """The environment a started program gets: the process's plus everything exported."""
        while self.deferred_exports:
            self.export(self.deferred_exports.pop(0)())
        env = dict(os.environ)
        env.update(self.exports)
        return env

    # -- lock files (-L/-W, lockfile=/waitlock=) ----------------------------------
    def take_lock(self, path: str, wait: bool) -> None:
        """Create ``path`` exclusively, failing or waiting while it exists."""
        while True:
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not wait:
                    raise SocatError(f'lock file "{path}" exists') from None
                time.sleep(0.1)
                continue
            except OSError as exc:
                raise SocatError(f'open("{path}"): {exc.strerror}') from None
            os.write(fd, f"{os.getpid()}\n".encode())
            os.close(fd)
            self.locks.append(path)
            return

    def release_locks(self) -> None:
        """Remove the lock files this runtime created."""
        while self.locks:
            try:
                os.unlink(self.locks.pop())
            except OSError:
                pass
