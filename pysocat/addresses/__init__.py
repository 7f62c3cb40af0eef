"""The family list: importing a family module registers its address types."""

from . import (  # noqa: F401
    echo,
    exec,
    files,
    interface,  # noqa: F401,E402  (issue 4: packet sockets)
    openssl,  # noqa: F401,E402  (issue 6: TLS)
    proxy,  # noqa: F401,E402  (issue 6: HTTP CONNECT)
    pty,  # noqa: F401,E402  (issue 5: terminals)
    rawip,  # noqa: F401,E402  (issue 4: raw IP)
    readline,  # noqa: F401,E402  (issue 5: terminals)
    socket_generic,  # noqa: F401,E402  (issue 4: generic sockets)
    socks,  # noqa: F401,E402  (issue 6: SOCKS)
    stdio,
    tcp,
    tun,  # noqa: F401,E402  (issue 4: TUN/TAP)
    udp,  # noqa: F401,E402  (issue 4: datagrams)
    unix,
    unix_dgram,  # noqa: F401,E402  (issue 4: UNIX datagrams)
)
