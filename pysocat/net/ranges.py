"""``range=``: peer address ranges as predicates (loaded only when a range is given)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from ..errors import SpecError


def _literal(host: str) -> str:
    """An IP literal for a range: names (localhost) resolve once, at parse time."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        return str(socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
    except (OSError, UnicodeError):
        raise ValueError(host) from None


def ip_in_range(spec: str) -> Callable[[str], bool]:
    """``range=`` as a predicate on peer address text."""
    text = spec.strip()
    if text.startswith("x"):
        return _sockaddr_range(spec, text)
    try:
        if text.startswith("["):
            end = text.index("]")
            addr, rest = text[1:end], text[end + 1 :]
            net = ipaddress.ip_network(addr + (rest if rest.startswith("/") else "/128"), strict=False)
        elif ":" in text and "/" not in text and text.count(":") == 1:
            addr, mask = text.split(":")
            net = ipaddress.ip_network(f"{_literal(addr)}/{mask}", strict=False)
        else:
            host, _, bits = text.partition("/")
            host = _literal(host)
            net = ipaddress.ip_network(f"{host}/{bits or (128 if ':' in host else 32)}", strict=False)
    except ValueError:
        raise SpecError(f'option "range={spec}": expected <addr>/<bits> or <addr>:<mask>') from None

    def check(peer: str) -> bool:
        try:
            ip = ipaddress.ip_address(peer.split("%")[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped and net.version == 4:
            ip = ip.ipv4_mapped
        return ip.version == net.version and ip in net

    return check


def _sockaddr_range(spec: str, text: str) -> Callable[[str], bool]:
    """socat's generic form ``x<port>x<addr>:x<port>x<mask>`` (IPv4 sockaddr data in hex).

    The port part of the mask is ignored: peers are matched by address.
    """
    try:
        addr_text, mask_text = text.split(":")
        addr = bytes.fromhex(addr_text.replace("x", ""))
        mask = bytes.fromhex(mask_text.replace("x", ""))
    except ValueError:
        raise SpecError(f'option "range={spec}": expected x<hex>:x<hex>') from None
    if len(addr) != 6 or len(mask) != 6:
        raise SpecError(f'option "range={spec}": expected IPv4 sockaddr data (2 bytes port, 4 bytes address)')
    net_addr, net_mask = int.from_bytes(addr[2:], "big"), int.from_bytes(mask[2:], "big")

    def check(peer: str) -> bool:
        try:
            ip = ipaddress.ip_address(peer.split("%")[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return ip.version == 4 and int(ip) & net_mask == net_addr & net_mask

    return check
