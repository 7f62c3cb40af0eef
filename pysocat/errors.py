"""One exception family for everything that ends pysocat with a message."""

from __future__ import annotations

from collections.abc import Callable


class SocatError(Exception):
    """A failure to report as one E line, ending the process with ``status``."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class SpecError(SocatError):
    """The text of an address or an option is malformed."""


#: the public names (``pysocat.Error``, ``pysocat.AddressError``) of the same family
Error = SocatError
AddressError = SpecError


class WouldBlock(Exception):
    """An opener run on the event loop's thread would have to wait (a name to resolve,
    a handshake, a retry): open this address again off the loop."""


class QuietExit(Exception):
    """End the run with ``status`` after the reason was already logged (no E line)."""

    def __init__(self, status: int = 0) -> None:
        super().__init__(status)
        self.status = status


class SignalExit(BaseException):
    """Raised from a termination signal handler to unwind with cleanup."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def outcome(run: Callable[[], int], *, notice_quiet: bool = False, reraise_bugs: bool = False) -> int:
    """Run ``run`` and map how it ended to socat's exit status, with socat's log line.

    SocatError: its E line and status; a termination signal: a W line and
    128+N; QuietExit: its status (with an N line if ``notice_quiet``); any
    other exception is a bug: one E line, status 1, no traceback (unless
    ``reraise_bugs``).
    """
    from .core import log

    try:
        return run()
    except QuietExit as done:
        if notice_quiet:
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
    except Exception as exc:
        if reraise_bugs:
            raise
        log.error(f"internal error: {type(exc).__name__}: {exc}")
        return 1
