"""Version and feature lines for ``-V``; importable without loading the relay.

``features()`` (also read as ``FEATURES``) lists the WITH_<NAME> features of the registered address types; a
test keeps it equal to ``registry.features()`` so -V stays honest and fast.
"""

from __future__ import annotations

import os

VERSION = "0.1.0"
SOCAT_COMPAT = "1.7.4.4"
BUILT_IN: tuple[str, ...] = (
    "STDIO", "FDNUM", "FILE", "CREAT", "GOPEN", "PIPE", "SOCKETPAIR", "EXEC", "SYSTEM",
    "IP4", "IP6", "TCP", "LISTEN", "LIBWRAP", "RETRY", "UNIX", "ABSTRACT_UNIXSOCKET",
    "SHELL", "PTY", "TERMIOS", "READLINE",
    "UDP", "RAWIP", "GENERICSOCKET", "TUN", "INTERFACE",  # issue 4: datagrams
    "OPENSSL", "PROXY", "SOCKS4", "SOCKS4A", "SOCKS5",  # issue 6: TLS and proxies
)


def has_udplite() -> bool:
    """Whether the kernel offers UDP-Lite (IPPROTO_UDPLITE, 136): one socket() tells."""
    import _socket  # the C module: cheap, unlike the socket package

    try:
        _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM, 136).close()
    except OSError:
        return False
    return True


def features() -> tuple[str, ...]:
    """The WITH_* names: the built-in ones, and UDPLITE where the kernel has it (asked now, not at import)."""
    return BUILT_IN + (("UDPLITE",) if has_udplite() else ())


def __getattr__(name: str) -> object:
    """``FEATURES`` as before, probed when read (udp.py registers UDPLITE-* under the same test)."""
    if name == "FEATURES":
        return features()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def version_text() -> str:
    """socat -V layout: name, version line ending in the compatible socat version, features."""
    u = os.uname()
    lines = [
        "pysocat by the pysocat developers - socat rebuilt in Python",
        f"pysocat version {VERSION} compatible with socat version {SOCAT_COMPAT}",
        f"   running on {u.sysname} version {u.version}, release {u.release}, machine {u.machine}",
        "features:",
        *(f"  #define WITH_{feat} 1" for feat in features()),
    ]
    return "\n".join(lines) + "\n"
