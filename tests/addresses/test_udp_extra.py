"""More datagram behaviour of issue 4: empty datagrams, broadcast on loopback, UDP-Lite."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
from conftest import free_port, run, start, wait_udp
from test_udp import bound_udp

from pysocat import registry
from pysocat.version import FEATURES, has_udplite

UDPLITE = 136
needs_udplite = pytest.mark.skipif(not has_udplite(), reason="the kernel has no UDP-Lite (IPPROTO_UDPLITE)")


def test_zero_length_datagrams_pass_a_udp_relay(procs: list) -> None:
    out = bound_udp()
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    procs.append(start("-u", f"UDP4-RECV:{port}", f"UDP4-SENDTO:127.0.0.1:{out.getsockname()[1]}"))
    wait_udp(port)
    sender = bound_udp()
    for data in (b"a", b"", b"bc", b"", b""):
        sender.sendto(data, ("127.0.0.1", port))
        assert out.recvfrom(100)[0] == data


def test_zero_length_datagrams_both_ways(procs: list) -> None:
    """UDP-LISTEN <-> UDP client relay: empty datagrams go through and come back."""
    echo = bound_udp()
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    procs.append(start(f"UDP4-LISTEN:{port}", f"UDP4:127.0.0.1:{echo.getsockname()[1]}"))
    wait_udp(port)
    peer = bound_udp()
    for data in (b"x", b"", b"yz"):
        peer.sendto(data, ("127.0.0.1", port))
        got, relay = echo.recvfrom(100)
        assert got == data
        echo.sendto(got, relay)
        assert peer.recvfrom(100)[0] == data


def test_broadcast_on_loopback(procs: list) -> None:
    """127.255.255.255 is lo's broadcast address: sending needs so-broadcast, as for any broadcast."""
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    server = start("-u", f"UDP4-RECV:{port}", "-")
    procs.append(server)
    wait_udp(port)
    refused = run("-u", "-", f"UDP4-DATAGRAM:127.255.255.255:{port}", input=b"no\n")
    if b"Permission denied" not in refused.stderr:
        pytest.skip("127.255.255.255 is not a broadcast address here")
    assert refused.returncode == 1 and refused.stderr.count(b" E ") == 1
    proc = run("-u", "-", f"UDP4-DATAGRAM:127.255.255.255:{port},so-broadcast", input=b"to everyone\n")
    assert proc.returncode == 0, proc.stderr
    time.sleep(0.3)
    server.kill()
    out, err = server.communicate(timeout=5)
    assert out == b"to everyone\n", err


def test_udplite_registered_exactly_when_the_kernel_has_it() -> None:
    names = registry.names()
    assert ("UDPLITE4-LISTEN" in names) == has_udplite() == ("UDPLITE" in FEATURES)
    assert ("UDPLITE" in registry.features()) == has_udplite()


@needs_udplite
@pytest.mark.parametrize("v", ["4", "6"])
def test_udplite_client_and_listen(v: str, procs: list) -> None:
    family = socket.AF_INET if v == "4" else socket.AF_INET6
    host = "127.0.0.1" if v == "4" else "::1"
    port = free_port(family, socket.SOCK_DGRAM)
    procs.append(start(f"UDPLITE{v}-LISTEN:{port}", "PIPE"))
    time.sleep(0.4)  # UDP-Lite sockets are listed in /proc/net/udplite*, not udp
    shown = host if v == "4" else f"[{host}]"
    proc = run("-t", "0.5", "-", f"UDPLITE{v}:{shown}:{port}", input=b"lite\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"lite\n"


@needs_udplite
def test_udplite_sendto_recvfrom_against_a_plain_socket(procs: list) -> None:
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    procs.append(start(f"UDPLITE4-RECVFROM:{port}", "PIPE"))
    time.sleep(0.4)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, UDPLITE) as c:
        c.settimeout(5)
        c.sendto(b"record", ("127.0.0.1", port))
        data, sender = c.recvfrom(100)
    assert data == b"record" and sender[1] == port


def test_dual_with_a_receiving_part_reads_the_first_datagram(procs: list[subprocess.Popen[bytes]]) -> None:
    """socat's IP4RECVFROM_RANGE shape: UDP4-RECVFROM!!UDP4-SENDTO echo; the first datagram must not wait."""
    import socket as _s

    back = free_port(_s.AF_INET, _s.SOCK_DGRAM)
    port = free_port(_s.AF_INET, _s.SOCK_DGRAM)
    rx = _s.socket(_s.AF_INET, _s.SOCK_DGRAM)
    rx.bind(("127.0.0.1", back))
    rx.settimeout(5)
    p = start(f"UDP4-RECVFROM:{port},reuseaddr!!UDP4-SENDTO:127.0.0.1:{back}", "PIPE")
    procs.append(p)
    wait_udp(port)
    tx = _s.socket(_s.AF_INET, _s.SOCK_DGRAM)
    tx.sendto(b"first\n", ("127.0.0.1", port))
    assert rx.recv(100) == b"first\n"
    tx.close()
    rx.close()
