"""Datagram addresses through the real CLI: UDP, UNIX datagrams, generic sockets, raw IP (issue 4)."""

from __future__ import annotations

import os
import random
import socket
import time
from pathlib import Path

import pytest
from conftest import finish, free_port, run, start, wait_udp

LO = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}
FAMILIES = [pytest.param(socket.AF_INET, id="ipv4"), pytest.param(socket.AF_INET6, id="ipv6")]
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets need root")


def bound_udp(family: int = socket.AF_INET, host: str | None = None) -> socket.socket:
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((host or LO[family], 0))
    s.settimeout(5)
    return s


def exchange(sock: socket.socket, data: bytes, addr: tuple[str, int], tries: int = 1) -> bytes:
    sock.sendto(data, addr)
    reply, _ = sock.recvfrom(65536)
    return reply


@pytest.mark.parametrize("family", FAMILIES)
def test_udp_client_and_listen_echo(family: int, procs: list) -> None:
    port = free_port(family, socket.SOCK_DGRAM)
    v = "4" if family == socket.AF_INET else "6"
    procs.append(server := start(f"UDP{v}-LISTEN:{port}", "PIPE"))
    wait_udp(port)
    host = LO[family] if family == socket.AF_INET else f"[{LO[family]}]"
    proc = run("-t", "0.5", "-", f"UDP{v}:{host}:{port}", input=b"hello datagram\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"hello datagram\n"
    server.kill()


@pytest.mark.parametrize("family", FAMILIES)
def test_hundred_datagrams_keep_their_boundaries(family: int, procs: list) -> None:
    port = free_port(family, socket.SOCK_DGRAM)
    v = "4" if family == socket.AF_INET else "6"
    procs.append(start(f"UDP{v}-LISTEN:{port}", "PIPE"))
    wait_udp(port)
    rnd = random.Random(4)
    sent = [bytes(rnd.getrandbits(8) for _ in range(rnd.choice([1, 7, 100, 1400, 8000]))) for _ in range(100)]
    sent[0] = b"first"
    c = bound_udp(family)
    got = []
    for data in sent:  # lock-step: a datagram, then its echo (no loss on loopback buffers)
        got.append(exchange(c, data, (LO[family], port)))
    assert got == sent


def test_listen_fork_one_child_per_peer(procs: list) -> None:
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    procs.append(start("-T", "3", f"UDP4-LISTEN:{port},fork", "SYSTEM:while read l; do echo $$ $l; done"))
    wait_udp(port)
    peers = [bound_udp() for _ in range(3)]
    pids: dict[int, set[bytes]] = {}
    for round_ in range(2):
        for i, p in enumerate(peers):
            reply = exchange(p, f"peer{i} round{round_}\n".encode(), ("127.0.0.1", port))
            pid, text = reply.split(b" ", 1)
            assert text == f"peer{i} round{round_}\n".encode()
            pids.setdefault(i, set()).add(pid)
    assert all(len(v) == 1 for v in pids.values()), pids  # same peer, same child
    assert len({next(iter(v)) for v in pids.values()}) == 3  # one child per peer


def test_listen_without_fork_locks_to_first_peer(procs: list) -> None:
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    procs.append(start(f"UDP4-LISTEN:{port}", "PIPE"))
    wait_udp(port)
    a, b = bound_udp(), bound_udp()
    assert exchange(a, b"from a", ("127.0.0.1", port)) == b"from a"
    b.sendto(b"from b", ("127.0.0.1", port))
    b.settimeout(0.5)
    with pytest.raises(TimeoutError):
        b.recvfrom(100)
    assert exchange(a, b"again", ("127.0.0.1", port)) == b"again"


def test_recvfrom_fork_child_per_datagram(procs: list) -> None:
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    procs.append(start(f"UDP4-RECVFROM:{port},fork", "SYSTEM:read l; echo $$ $l $SOCAT_PEERPORT"))
    wait_udp(port)
    c = bound_udp()
    pids = set()
    for i in range(3):
        pid, text, peerport = exchange(c, f"d{i}\n".encode(), ("127.0.0.1", port)).split()
        assert text == f"d{i}".encode() and int(peerport) == c.getsockname()[1]
        pids.add(pid)
    assert len(pids) == 3


def test_recvfrom_without_fork_serves_one_datagram() -> None:
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    server = start(f"UDP4-RECVFROM:{port}", "PIPE")
    wait_udp(port)
    c = bound_udp()
    assert exchange(c, b"once", ("127.0.0.1", port)) == b"once"
    rc, _out, err = finish(server, 10)
    assert rc == 0, err


def test_sendto_and_recv_one_way(tmp_path: Path, procs: list) -> None:
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    procs.append(server := start("-u", f"UDP4-RECV:{port}", "-"))
    wait_udp(port)
    proc = run("-u", "-", f"UDP4-SENDTO:127.0.0.1:{port}", input=b"one way\n")
    assert proc.returncode == 0
    time.sleep(0.3)
    server.kill()
    out, _ = server.communicate(timeout=5)
    assert out == b"one way\n"


def test_range_drops_datagrams_with_a_warning(procs: list) -> None:
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    server = start("-u", f"UDP4-RECV:{port},range=127.0.0.2/32", "-")
    procs.append(server)
    wait_udp(port)
    bound_udp().sendto(b"refused\n", ("127.0.0.1", port))
    bound_udp(host="127.0.0.2").sendto(b"allowed\n", ("127.0.0.1", port))
    time.sleep(0.4)
    server.kill()
    out, err = server.communicate(timeout=5)
    assert out == b"allowed\n"
    assert b" W refusing packet from AF=2 127.0.0.1:" in err and b"range" in err


def test_oversized_datagram_is_reported(procs: list) -> None:
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    server = start("-u", "-b", "100", f"UDP4-RECV:{port}", "-")
    procs.append(server)
    wait_udp(port)
    bound_udp().sendto(b"x" * 300, ("127.0.0.1", port))
    time.sleep(0.4)
    server.kill()
    out, err = server.communicate(timeout=5)
    assert out == b"x" * 100
    assert b"truncated" in err


def test_pktinfo_and_ttl_reach_exec_children(procs: list) -> None:
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    cmd = "SYSTEM:read l; echo $SOCAT_IP_DSTADDR $SOCAT_IP_IF $SOCAT_IP_TTL"
    procs.append(start(f"UDP4-RECVFROM:{port},ip-pktinfo,ip-recvttl", cmd))
    wait_udp(port)
    c = bound_udp()
    c.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 53)
    assert exchange(c, b"x\n", ("127.0.0.1", port)) == b"127.0.0.1 lo 53\n"


def test_broadcast_and_multicast_on_loopback(procs: list) -> None:
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    server = start("-u", f"UDP4-RECV:{port},ip-add-membership=239.255.0.7:127.0.0.1,reuseaddr", "-")
    procs.append(server)
    wait_udp(port)
    proc = run("-u", "-", f"UDP4-DATAGRAM:239.255.0.7:{port},ip-multicast-if=127.0.0.1,ip-multicast-loop,broadcast",
               input=b"multicast\n")
    assert proc.returncode == 0, proc.stderr
    time.sleep(0.4)
    server.kill()
    out, err = server.communicate(timeout=5)
    assert out == b"multicast\n", err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-", "UDP4:127.0.0.1:70000"], b"0..65535"),
        (["-u", "UDP4-RECV:0,ip-add-membership=10.0.0.1", "-"], b"not a multicast address"),
        (["-u", "UDP4-RECV:0,ipv6-join-group=ff02::1", "-"], b"not supported with this address type"),
        (["-u", "UDP6-RECV:0,ip-add-membership=239.1.1.1", "-"], b"needs an IPv4 socket"),
        (["-", "IP4-SENDTO:127.0.0.1:256"], b"0..255"),
        (["-", "SOCKET-SENDTO:2:2:17:x1"], b"odd number of hex digits"),
    ],
)
def test_bad_input_is_one_error_line(args: list[str], needle: bytes) -> None:
    proc = run(*args, input=b"", timeout=10)
    assert proc.returncode == 1
    assert needle in proc.stderr
    assert b"Traceback" not in proc.stderr
    assert proc.stderr.count(b" E ") == 1


def test_unix_sendto_recvfrom(tmp_path: Path, procs: list) -> None:
    path = tmp_path / "dg.sock"
    procs.append(server := start(f"UNIX-RECVFROM:{path},fork", "PIPE"))
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    for word in (b"alpha\n", b"beta\n"):
        proc = run("-t", "0.5", "-", f"UNIX-SENDTO:{path}", input=word)
        assert proc.returncode == 0 and proc.stdout == word, proc.stderr
    server.terminate()
    finish(server, 5)
    assert not path.exists()


def test_abstract_recv(procs: list) -> None:
    name = f"pysocat-test-{os.getpid()}"
    procs.append(server := start("-u", f"ABSTRACT-RECV:{name}", "-"))
    time.sleep(0.4)
    assert run("-u", "-", f"ABSTRACT-SENDTO:{name}", input=b"abstract\n").returncode == 0
    time.sleep(0.3)
    server.kill()
    out, _ = server.communicate(timeout=5)
    assert out == b"abstract\n"


def test_generic_socket_sendto_recvfrom(procs: list) -> None:
    port = free_port(socket.AF_INET, socket.SOCK_DGRAM)
    addr = f"x{port:04x}x7f000001x0000000000000000"
    procs.append(start(f"SOCKET-RECVFROM:2:2:17:{addr}", "PIPE"))
    wait_udp(port)
    proc = run("-t", "0.5", "-", f"SOCKET-SENDTO:2:2:17:{addr}", input=b"generic\n")
    assert proc.returncode == 0 and proc.stdout == b"generic\n", proc.stderr


def test_generic_socket_connect_to_tcp(procs: list) -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    server = start("-", f"SOCKET-CONNECT:2:6:x{port:04x}x7f000001x0000000000000000", stdin=None)
    procs.append(server)
    conn, _ = srv.accept()
    conn.sendall(b"over generic tcp\n")
    conn.close()
    rc, out, _ = finish(server, 10)
    assert out == b"over generic tcp\n"


@root_only
@pytest.mark.parametrize("family", FAMILIES)
def test_raw_ip_sendto_recv(family: int, procs: list) -> None:
    v = "4" if family == socket.AF_INET else "6"
    proto = 200 + random.randrange(40)
    procs.append(server := start("-u", f"IP{v}-RECV:{proto}", "-"))
    time.sleep(0.4)
    host = LO[family] if family == socket.AF_INET else f"[{LO[family]}]"
    assert run("-u", "-", f"IP{v}-SENDTO:{host}:{proto}", input=b"raw ip\n").returncode == 0
    time.sleep(0.3)
    server.kill()
    out, _ = server.communicate(timeout=5)
    assert out == b"raw ip\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may open raw sockets")
def test_raw_ip_without_privileges_is_an_error() -> None:
    proc = run("-", "IP4-SENDTO:127.0.0.1:222", input=b"")
    assert proc.returncode == 1 and b"Operation not permitted" in proc.stderr
    assert b"Traceback" not in proc.stderr
