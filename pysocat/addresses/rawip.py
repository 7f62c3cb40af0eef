"""Raw IP: IP-SENDTO, IP-RECVFROM, IP-RECV, IP-DATAGRAM (and IP4-/IP6- twins); root only.

The second parameter is the IP protocol number (0..255).  What is read from an IPv4
raw socket starts with the IP header; it is stripped, as socat does.
"""

from __future__ import annotations

from .udp import RAWIP, register_family

register_family(RAWIP, "IP", "FD,SOCKET,RETRY,IP4,IP6", ("RAWIP",), "raw IP")
