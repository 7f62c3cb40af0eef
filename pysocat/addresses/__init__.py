"""The family list: importing a family module registers its address types.

Families are imported on demand, most used first, until the wanted keyword is
registered: a relay between TCP and STDIO never loads the datagram, terminal or
TLS families (less start-up time and memory).  Listing every type loads them all.
"""

from __future__ import annotations

from importlib import import_module

FAMILIES = (
    "stdio", "tcp", "files", "unix", "exec", "echo", "udp", "unix_dgram", "pty", "readline",
    "openssl", "proxy", "socks", "socket_generic", "rawip", "interface", "tun",
)

_loaded = 0


def load_next() -> bool:
    """Import the next family not loaded yet; False when all are."""
    global _loaded
    if _loaded >= len(FAMILIES):
        return False
    import_module(f"{__name__}.{FAMILIES[_loaded]}")
    _loaded += 1
    return True


def load_all() -> None:
    """Import every family (for -h, the docs check and unknown keywords)."""
    while load_next():
        pass
