"""pysocat: socat, the multipurpose relay, rebuilt in Python.

From a shell: ``pysocat TCP-LISTEN:7000,fork,reuseaddr STDOUT``.  From Python:

>>> import pysocat
>>> with pysocat.Relay("TCP-LISTEN:0,reuseaddr,concurrent", "TCP:127.0.0.1:5432") as relay:  # doctest: +SKIP
...     print(relay.port, relay.stats())
"""

from __future__ import annotations

from .version import VERSION

TYPE_CHECKING = False  # typing is not imported: `pysocat -V` and every relay start pay for this module

__version__ = VERSION
__all__ = ["AddressError", "Error", "Relay", "__version__", "run"]

if TYPE_CHECKING:
    from .errors import AddressError, Error
    from .relay import Relay


def run(argv: list[str]) -> int:
    """Run pysocat in-process with a socat command line, as the CLI does; return the exit status."""
    from .cli import main

    return main(argv)


def __getattr__(name: str) -> object:
    """Load the library API on first use (the CLI's start-up does not pay for it)."""
    if name == "Relay":
        from .relay import Relay

        return Relay
    if name in ("Error", "AddressError"):
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'pysocat' has no attribute {name!r}")
