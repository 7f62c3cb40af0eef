"""IP4, IP6, TCP and IPAPP rows, with the multicast and IP-option appliers of the datagram addresses."""

from __future__ import annotations

import ipaddress
import socket
import struct
from typing import Any

from ..errors import SocatError, SpecError
from .core import Applier, OptType, Phase, opt
from .socket import family_of, setsockopt_raw, sockopt

B, N, S = OptType.BOOL, OptType.INT, OptType.STRING
_IP, _IP6 = socket.IPPROTO_IP, socket.IPPROTO_IPV6


def _ip_literal(name: str, text: str, version: int) -> bytes:
    try:
        addr = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        try:
            fam = socket.AF_INET if version == 4 else socket.AF_INET6
            addr = ipaddress.ip_address(socket.getaddrinfo(text, None, fam)[0][4][0])
        except (OSError, UnicodeError):
            raise SpecError(f'option "{name}={text}": not an IPv{version} address') from None
    if addr.version != version:
        raise SpecError(f'option "{name}={text}": not an IPv{version} address')
    return addr.packed


def _ifindex(name: str, text: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        return socket.if_nametoindex(text)
    except OSError:
        raise SpecError(f'option "{name}": unknown interface "{text}"') from None


def _need(fd: int, family: int, name: str) -> None:
    if family_of(fd) != family:
        want = "IPv4" if family == socket.AF_INET else "IPv6"
        raise SocatError(f'option "{name}" needs an {want} socket')


def _is_ifname(text: str) -> bool:
    try:
        socket.if_nametoindex(text)
    except OSError:
        return False
    return True


def _multicast(name: str, text: str, version: int) -> bytes:
    packed = _ip_literal(name, text, version)
    if not ipaddress.ip_address(packed).is_multicast:
        raise SpecError(f'option "{name}": "{text}" is not a multicast address')
    return packed


def _add_membership(fd: int, value: Any) -> None:
    """group[:interface-address][:interface-name] -> struct ip_mreqn."""
    _need(fd, socket.AF_INET, "ip-add-membership")
    parts = str(value).split(":")
    group = _multicast("ip-add-membership", parts[0], 4)
    local, index = b"\0\0\0\0", 0
    if len(parts) == 2:
        try:
            local = _ip_literal("ip-add-membership", parts[1], 4)
        except SpecError:
            index = _ifindex("ip-add-membership", parts[1])
    elif len(parts) >= 3:
        local = _ip_literal("ip-add-membership", parts[1], 4)
        index = _ifindex("ip-add-membership", parts[2])
    setsockopt_raw(fd, socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group + local + struct.pack("=i", index))


def _add_source_membership(fd: int, value: Any) -> None:
    """group:interface-address:source-address -> struct ip_mreq_source."""
    _need(fd, socket.AF_INET, "ip-add-source-membership")
    parts = str(value).split(":")
    if len(parts) != 3:
        raise SpecError('option "ip-add-source-membership": expected <group>:<interface-address>:<source>')
    group = _multicast("ip-add-source-membership", parts[0], 4)
    local = _ip_literal("ip-add-source-membership", parts[1], 4)
    source = _ip_literal("ip-add-source-membership", parts[2], 4)
    setsockopt_raw(fd, socket.IPPROTO_IP, 39, group + local + source)  # IP_ADD_SOURCE_MEMBERSHIP


def _join_group(fd: int, value: Any) -> None:
    """group:interface -> struct ipv6_mreq."""
    _need(fd, socket.AF_INET6, "ipv6-join-group")
    text = str(value)
    if text.startswith("["):
        end = text.find("]")
        group_text, rest = text[1:end], text[end + 1 :].lstrip(":")
    else:
        head, _, tail = text.rpartition(":")
        group_text, rest = text, ""
        if tail and (tail.isdigit() and head.count(":") >= 2 or _is_ifname(tail)):
            group_text, rest = head, tail
    group = _multicast("ipv6-join-group", group_text, 6)
    index = _ifindex("ipv6-join-group", rest) if rest else 0
    setsockopt_raw(fd, socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group + struct.pack("=I", index))


def _multicast_if(fd: int, value: Any) -> None:
    text = str(value)
    if family_of(fd) == socket.AF_INET6:
        setsockopt_raw(fd, socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF,
                        struct.pack("=I", _ifindex("ip-multicast-if", text)))
        return
    try:
        data = _ip_literal("ip-multicast-if", text, 4)
    except SpecError:
        data = b"\0" * 8 + struct.pack("=i", _ifindex("ip-multicast-if", text))
    setsockopt_raw(fd, socket.IPPROTO_IP, socket.IP_MULTICAST_IF, data)


def _ip_or_ip6(v4: tuple[int, int], v6: tuple[int, int] | None) -> Applier:
    """An IPv4 option that maps to its IPv6 twin on an IPv6 socket (where there is one)."""

    def apply(fd: int, value: Any) -> None:
        level, name = v6 if v6 is not None and family_of(fd) == socket.AF_INET6 else v4
        setsockopt_raw(fd, level, name, int(value))

    return apply


def _ip_options(fd: int, value: Any) -> None:
    text = str(value)
    try:
        data = bytes.fromhex(text[1:] if text[:1] in "xX" else text)
    except ValueError:
        raise SpecError(f'option "ip-options={text}": expected x followed by hex digits') from None
    setsockopt_raw(fd, socket.IPPROTO_IP, socket.IP_OPTIONS, data)


# IP and TCP.
opt("ipv6-v6only", B, "IP6", Phase.PASTSOCKET, "ipv6only",
    apply=sockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY),
    help="`IPV6_V6ONLY`: an IPv6 socket does not also handle IPv4")
opt("nodelay", B, "TCP", Phase.PASTSOCKET, "tcp-nodelay",
    apply=sockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), help="`TCP_NODELAY`: send small segments at once")
opt("keepidle", N, "TCP", Phase.PASTSOCKET, "tcp-keepidle",
    apply=sockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE), lo=1, hi=32767,
    help="`TCP_KEEPIDLE`: idle seconds before the first keepalive probe")
opt("keepintvl", N, "TCP", Phase.PASTSOCKET, "tcp-keepintvl",
    apply=sockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL), lo=1, hi=32767,
    help="`TCP_KEEPINTVL`: seconds between keepalive probes")
opt("keepcnt", N, "TCP", Phase.PASTSOCKET, "tcp-keepcnt",
    apply=sockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT), lo=1, hi=127,
    help="`TCP_KEEPCNT`: number of unanswered probes before the connection is dropped")
opt("maxseg", N, "TCP", Phase.PASTSOCKET, "mss", "tcp-maxseg",
    apply=sockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG), lo=1, hi=65535, help="`TCP_MAXSEG`: maximum segment size")
opt("sourceport", N, "IPAPP", Phase.BIND, "sp", lo=0, hi=65535,
    help="a client binds this source port; a listener accepts only peers connecting from it")
opt("lowport", B, "IPAPP", Phase.BIND,
    help="a client binds a free port in 640 to 1023; a listener accepts only peers whose source port is below 1024")

# IP options of the datagram, raw IP and generic socket addresses.
opt("ip-ttl", N, "IP4,IP6", Phase.PASTSOCKET, "ttl", apply=_ip_or_ip6((_IP, socket.IP_TTL), (_IP6, socket.IPV6_UNICAST_HOPS)),
    lo=0, hi=255, help="IP_TTL (IPv6: IPV6_UNICAST_HOPS) of packets sent")
opt("ip-tos", N, "IP4,IP6", Phase.PASTSOCKET, "tos", apply=sockopt(_IP, socket.IP_TOS), lo=0, hi=255,
    help="IP_TOS of packets sent")
opt("ip-multicast-loop", B, "IP4,IP6", Phase.PASTSOCKET, "multicast-loop", "multicastloop",
    apply=_ip_or_ip6((_IP, socket.IP_MULTICAST_LOOP), (_IP6, socket.IPV6_MULTICAST_LOOP)),
    help="IP_MULTICAST_LOOP: receive our own multicast packets")
opt("ip-multicast-ttl", N, "IP4,IP6", Phase.PASTSOCKET, "multicast-ttl", "multicastttl",
    apply=_ip_or_ip6((_IP, socket.IP_MULTICAST_TTL), (_IP6, socket.IPV6_MULTICAST_HOPS)), lo=0, hi=255,
    help="IP_MULTICAST_TTL of multicast packets sent")
opt("ip-multicast-if", S, "IP4,IP6", Phase.PASTSOCKET, "multicast-if", apply=_multicast_if,
    help="IP_MULTICAST_IF: interface address or name for sending multicast")
opt("ip-add-membership", S, "IP4,IP6", Phase.PASTSOCKET, "ip-membership", "add-membership", "membership", apply=_add_membership,
    help="join an IPv4 multicast group: <group>[:<interface-address>][:<interface>]")
opt("ip-add-source-membership", S, "IP4,IP6", Phase.PASTSOCKET, "source-membership", apply=_add_source_membership,
    help="join an IPv4 multicast group for one source: <group>:<interface-address>:<source>")
opt("ipv6-join-group", S, "IP6", Phase.PASTSOCKET, "ipv6-add-membership", "join-group", apply=_join_group,
    help="join an IPv6 multicast group: <group>[:<interface>]")
opt("ip-pktinfo", B, "IP4,IP6", Phase.PASTSOCKET, "pktinfo",
    apply=_ip_or_ip6((_IP, 8), (_IP6, socket.IPV6_RECVPKTINFO)),
    help="IP_PKTINFO: EXEC children see SOCAT_IP_DSTADDR, SOCAT_IP_LOCADDR, SOCAT_IP_IF")
opt("ip-recvttl", B, "IP4,IP6", Phase.PASTSOCKET, "recvttl", apply=sockopt(_IP, 12),
    help="IP_RECVTTL: EXEC children see SOCAT_IP_TTL")
opt("ip-recvtos", B, "IP4,IP6", Phase.PASTSOCKET, "recvtos", apply=sockopt(_IP, socket.IP_RECVTOS),
    help="IP_RECVTOS: EXEC children see SOCAT_IP_TOS")
opt("ip-recvopts", B, "IP4,IP6", Phase.PASTSOCKET, "recvopts", apply=sockopt(_IP, socket.IP_RECVOPTS),
    help="IP_RECVOPTS: EXEC children see SOCAT_IP_OPTIONS")
opt("ip-recverr", B, "IP4,IP6", Phase.PASTSOCKET, "recverr", apply=_ip_or_ip6((_IP, 11), (_IP6, 25)),
    help="IP_RECVERR: extended error reporting")
opt("ip-options", S, "IP4,IP6", Phase.PASTSOCKET, "ipoptions", apply=_ip_options,
    help="IP_OPTIONS: raw IP options as x<hex>")
opt("ip-freebind", B, "IP4,IP6", Phase.PASTSOCKET, "freebind", apply=sockopt(_IP, 15),
    help="IP_FREEBIND: bind to an address not (yet) on this host")
opt("ip-transparent", B, "IP4,IP6", Phase.PREBIND, "transparent", apply=sockopt(_IP, socket.IP_TRANSPARENT),
    help="IP_TRANSPARENT (root)")
opt("ip-hdrincl", B, "IP4,IP6", Phase.PASTSOCKET, "hdrincl", apply=sockopt(_IP, socket.IP_HDRINCL),
    help="IP_HDRINCL: raw sockets send the IP header given in the data")
opt("ip-mtu-discover", N, "IP4,IP6", Phase.PASTSOCKET, "mtudiscover", apply=sockopt(_IP, 10), lo=0, hi=5,
    help="IP_MTU_DISCOVER mode (0 don't, 1 want, 2 do, 3 probe)")
opt("ipv6-recvpktinfo", B, "IP6", Phase.PASTSOCKET, "recvpktinfo",
    apply=sockopt(_IP6, socket.IPV6_RECVPKTINFO),
    help="IPV6_RECVPKTINFO: EXEC children see SOCAT_IPV6_DSTADDR, SOCAT_IPV6_IF")
opt("ipv6-recvhoplimit", B, "IP6", Phase.PASTSOCKET, "recvhoplimit", apply=sockopt(_IP6, socket.IPV6_RECVHOPLIMIT),
    help="IPV6_RECVHOPLIMIT: EXEC children see SOCAT_IPV6_HOPLIMIT")
opt("ipv6-recvtclass", B, "IP6", Phase.PASTSOCKET, apply=sockopt(_IP6, socket.IPV6_RECVTCLASS),
    help="IPV6_RECVTCLASS: EXEC children see SOCAT_IPV6_TCLASS")
opt("ipv6-unicast-hops", N, "IP6", Phase.PASTSOCKET, "unicast-hops",
    apply=sockopt(_IP6, socket.IPV6_UNICAST_HOPS), lo=-1, hi=255,
    help="IPV6_UNICAST_HOPS of packets sent")
opt("ipv6-tclass", N, "IP6", Phase.PASTSOCKET, apply=sockopt(_IP6, socket.IPV6_TCLASS), lo=-1, hi=255,
    help="IPV6_TCLASS of packets sent")
opt("ipv6-recverr", B, "IP6", Phase.PASTSOCKET, apply=sockopt(_IP6, 25), help="IPV6_RECVERR")

