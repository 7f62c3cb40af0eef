"""``pysocat.Relay``: a relay inside a Python program, with the command line's grammar.

A Relay parses at construction (a bad spec raises :class:`~pysocat.AddressError`
and nothing is opened), opens and serves in one background thread of the
caller's process, and leaves the host as it was: no signal handlers, no fork
without exec, fds 0-2 never replaced, log records to the ``logging`` logger
``pysocat``.  A listener serves its peers in that thread's event loop.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from .core import log
from .errors import AddressError, Error, QuietExit, SocatError, SpecError


class Relay:
    """One relay between two addresses, run in a background thread.

    >>> with Relay("TCP-LISTEN:0,reuseaddr,concurrent", "TCP:127.0.0.1:5432") as relay:  # doctest: +SKIP
    ...     relay.port
    """

    def __init__(self, *argv: str) -> None:
        """Parse a socat command line (global options, then two addresses); open nothing."""
        from .app import Run
        from .cli import addresses_of, build_config, parse_args
        from .core.runtime import Runtime
        from .spec import parse

        try:
            args = parse_args(list(argv))
            if args["--version"] or args["--help"]:
                raise AddressError("a Relay takes addresses and global options, not -V or -h")
            cfg = build_config(args)
            first, second = (parse(text) for text in addresses_of(args))
            self._logger = _logger(args)
            rt = Runtime(self._logger, cfg.env_prefix, library=True)
            token = log.use(self._logger)
            try:
                self._run = Run(cfg, first, second, rt)
            finally:
                log.restore(token)
        except SpecError:
            raise
        except SocatError as exc:  # a bad global option or address count: still the command line's fault
            raise AddressError(exc.message, exc.status) from None
        self.argv = argv
        self._thread: threading.Thread | None = None
        self._opened = threading.Event()
        self._done = threading.Event()
        self._status: int | None = None
        self._error: BaseException | None = None
        self._open_ok = False

    # -- life cycle ------------------------------------------------------------------------
    def start(self, timeout: float | None = 30.0) -> Relay:
        """Open the addresses in a background thread; return once listening (or both are open).

        Raises :class:`~pysocat.Error` naming the cause when opening fails.
        """
        if self._thread is not None:
            raise Error("relay already started")
        self._run.on_open = self._mark_open
        self._thread = threading.Thread(target=self._main, name=f"pysocat-relay-{id(self):x}", daemon=True)
        self._thread.start()
        if not self._opened.wait(timeout):
            self.stop(1.0)
            raise Error(f"relay did not open within {timeout} seconds")
        if not self._open_ok:
            self._thread.join()
            exc = self._error
            if isinstance(exc, SocatError):
                raise Error(exc.message, exc.status) from None
            raise Error(f"relay failed to open: {exc}") from exc
        return self

    def _mark_open(self) -> None:
        self._open_ok = True
        self._opened.set()

    def _main(self) -> None:
        token = log.use(self._logger)
        try:
            self._status = self._run.execute()
        except QuietExit as done:
            self._status = done.status
        except SocatError as exc:
            self._error = exc
            self._status = exc.status
            if self._open_ok:
                log.error(exc.message)
        except BaseException as exc:  # noqa: BLE001  (reported through start()/wait(), never lost)
            self._error = exc
            self._status = 1
            log.error(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self._logger.close()
            log.restore(token)
            self._done.set()
            self._opened.set()

    def stop(self, timeout: float | None = 10.0) -> int | None:
        """Close the listener, end open sessions, join the thread; the exit status (None if still running)."""
        self._run.stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return None
        return self._status

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the relay to end by itself; its exit status, as the CLI's (TimeoutError if not)."""
        if self._thread is None:
            raise Error("relay not started")
        if not self._done.wait(timeout):
            raise TimeoutError(f"relay still running after {timeout} seconds")
        self._thread.join()
        assert self._status is not None
        return self._status

    @property
    def running(self) -> bool:
        """Whether the relay's thread is serving."""
        return self._thread is not None and not self._done.is_set()

    # -- what it serves ----------------------------------------------------------------------
    @property
    def address(self) -> Any:
        """The listening first address's socket address (None unless it listens)."""
        acceptor = self._run.acceptor
        return None if acceptor is None else acceptor.bound

    @property
    def port(self) -> int | None:
        """The listening address's bound port (``TCP-LISTEN:0`` gives the real one)."""
        address = self.address
        if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int):
            return address[1]
        return None

    def stats(self) -> dict[str, int]:
        """``sessions``, ``open_sessions``, ``bytes_left_to_right``, ``bytes_right_to_left``."""
        return self._run.stats()

    # -- context manager ----------------------------------------------------------------------
    def __enter__(self) -> Relay:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else ("new" if self._thread is None else f"ended ({self._status})")
        return f"<pysocat.Relay {' '.join(self.argv)!r} {state}>"


def _logger(args: dict[str, object]) -> log.Logger:
    """The library's logger: the ``logging`` module, unless the argv names a log destination."""
    if any(args[key] for key in ("--log-file", "--syslog", "--log-mixed")):
        from .cli import _logger as cli_logger

        return cli_logger(args)
    return log.StdlibLogger()  # levels are the logging module's (-d is not read here)
