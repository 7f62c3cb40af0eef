"""TCP wrappers (hosts.allow / hosts.deny) access control, as socat's ``tcpwrap`` options.

A peer is allowed when a rule in hosts.allow matches it, refused when a rule in
hosts.deny matches, and allowed otherwise (tcpd's order).  Supported client
patterns: ALL, LOCAL, an address, ``[v6 address]``, ``net/mask`` and
``[v6net]/len``, a prefix ending in ``.``, a host name, and ``EXCEPT``.
Without an explicit ``tcpwrap=<name>`` the daemon name matches ``socat`` and the
program name, so socat's rules keep working.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable

from ..core import log

Check = Callable[[str], bool]


def _words(text: str) -> list[str]:
    return text.replace(",", " ").split()


def _client_matches(pattern: str, peer: str) -> bool:
    ip = ipaddress.ip_address(peer.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    upper = pattern.upper()
    if upper == "ALL":
        return True
    if upper == "LOCAL":
        return ip.is_loopback
    if pattern.startswith("["):
        pattern = pattern.replace("[", "").replace("]", "")
    try:
        if "/" in pattern:
            return ip in ipaddress.ip_network(pattern, strict=False)
        return ip == ipaddress.ip_address(pattern)
    except ValueError:
        pass
    if pattern.endswith(".") and isinstance(ip, ipaddress.IPv4Address):
        return str(ip).startswith(pattern)
    try:
        infos = socket.getaddrinfo(pattern, None)
    except (OSError, UnicodeError):
        return False
    return any(ipaddress.ip_address(str(info[4][0]).split("%")[0]) == ip for info in infos)


def _list_matches(items: list[str], match: Callable[[str], bool]) -> bool:
    """A tcpd list with EXCEPT: ``a b EXCEPT c`` matches a or b unless c."""
    if "EXCEPT" in items:
        cut = items.index("EXCEPT")
        return _list_matches(items[:cut], match) and not _list_matches(items[cut + 1 :], match)
    return any(match(item) for item in items)


def _table_matches(path: str, daemons: set[str], peer: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as table:
            text = table.read().replace("\\\n", " ")
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warn(f'tcpwrap: cannot read "{path}": {exc.strerror}')
        return False
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        daemon_part, _, rest = line.partition(":")
        client_part = rest
        # a client list may hold [v6] addresses with colons: a rule's third field follows " : "
        if " : " in rest:
            client_part = rest.split(" : ", 1)[0]
        if not _list_matches(_words(daemon_part), lambda d: d.upper() == "ALL" or d in daemons):
            continue
        if _list_matches(_words(client_part), lambda c: _client_matches(c, peer)):
            return True
    return False


def access_check(name: str | None, allow: str | None, deny: str | None, etc: str | None, progname: str) -> Check:
    """The predicate ``peer address -> allowed`` for the tcpwrap options given."""
    directory = etc or "/etc"
    allow = allow or os.path.join(directory, "hosts.allow")
    deny = deny or os.path.join(directory, "hosts.deny")
    daemons = {name} if name else {"socat", progname}

    def allowed(peer: str) -> bool:
        if _table_matches(allow, daemons, peer):
            return True
        return not _table_matches(deny, daemons, peer)

    return allowed
