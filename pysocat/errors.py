"""One exception family for everything that ends pysocat with a message."""

from __future__ import annotations


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
