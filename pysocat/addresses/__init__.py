"""The family list: importing a family module registers its address types.

Families are imported on demand, most used first, until the wanted keyword is
registered: a relay between TCP and STDIO never loads the datagram, terminal or
TLS families (less start-up time and memory).  Listing every type loads them all.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

FAMILIES = (
    "stdio", "tcp", "files", "unix", "exec", "echo", "udp", "unix_dgram", "pty", "readline",
    "tls", "proxy", "socks", "socket_generic", "rawip", "interface", "tun",
)



def load_until(found: Callable[[], bool]) -> None:
    """Import families in order until ``found()`` is true (or all are loaded).

    No counter is kept: importing a loaded module is a dictionary lookup, and
    the import lock runs each family's registrations once, from any thread.
    """
    for family in FAMILIES:
        if found():
            return
        import_module(f"{__name__}.{family}")


def load_all() -> None:
    """Import every family (for -h, the docs check and unknown keywords)."""
    load_until(lambda: False)
