"""TUN and INTERFACE through the real CLI (issue 4): one read or write is one packet.

Root only (TUNSETIFF and packet sockets need CAP_NET_ADMIN/CAP_NET_RAW) and only
where /dev/net/tun and the ip tool exist.  Interfaces get names and subnets unique
to this process; a TUN interface goes away with the pysocat that made it, and the
veth pair lives in a network namespace made and removed by the test.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PYSOCAT, run, start

ROOT = os.geteuid() == 0
needs_tun = pytest.mark.skipif(
    not (ROOT and os.path.exists("/dev/net/tun") and shutil.which("ip")),
    reason="needs root, /dev/net/tun and the ip tool",
)
needs_netns = pytest.mark.skipif(not (ROOT and shutil.which("ip")), reason="needs root and the ip tool")

_seq = iter(range(1000))


def unique() -> tuple[str, str]:
    """An interface name and a /24 prefix (10.x.y) nobody else uses now."""
    n = next(_seq)
    pid = os.getpid()
    return f"pst{pid % 100000}x{n}", f"10.{200 + n % 50}.{pid % 250}"


def wait_iface(name: str, timeout: float = 10, addr: str | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["ip", "-o", "addr", "show", "dev", name], capture_output=True, text=True).stdout
        if out and (addr is None or addr in out):
            return
        time.sleep(0.02)
    raise TimeoutError(f"interface {name} did not appear")


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_udp(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload  # checksum 0: none (IPv4)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + udp


@needs_tun
def test_tun_reads_one_packet_routed_into_it(procs: list) -> None:
    name, net = unique()
    server = start("-u", f"TUN:{net}.1/24,iff-up,iff-no-pi,tun-name={name}", "-")
    procs.append(server)
    wait_iface(name, addr=f"{net}.1/24")
    payload = f"through {name}\n".encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(payload, (f"{net}.2", 9))
    os.set_blocking(server.stdout.fileno(), False)  # type: ignore[union-attr]
    got = b""
    deadline = time.monotonic() + 5
    while payload not in got and time.monotonic() < deadline:
        try:
            got += os.read(server.stdout.fileno(), 65536)  # type: ignore[union-attr]
        except BlockingIOError:
            time.sleep(0.02)
    start_at = got.index(payload) - 28  # the whole IPv4 packet: 20 bytes header, 8 bytes UDP
    packet = got[start_at:]
    assert packet[0] == 0x45 and packet[9] == 17, packet[:28]
    assert socket.inet_ntoa(packet[16:20]) == f"{net}.2"
    assert struct.unpack("!H", packet[2:4])[0] == 28 + len(payload)


@needs_tun
def test_tun_writes_one_packet_into_the_kernel(procs: list) -> None:
    name, net = unique()
    writer = start("-u", "-", f"TUN:{net}.1/24,up,no-pi,tun-name={name}")
    procs.append(writer)
    wait_iface(name, addr=f"{net}.1/24")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as r:
        r.bind((f"{net}.1", 0))
        r.settimeout(5)
        port = r.getsockname()[1]
        packet = ipv4_udp(f"{net}.2", f"{net}.1", 4321, port, b"from the tunnel side")
        writer.stdin.write(packet)  # type: ignore[union-attr]
        writer.stdin.flush()  # type: ignore[union-attr]
        data, sender = r.recvfrom(100)
    assert data == b"from the tunnel side" and sender == (f"{net}.2", 4321)
    writer.stdin.close()  # type: ignore[union-attr]
    assert writer.wait(timeout=10) == 0
    assert subprocess.run(["ip", "link", "show", name], capture_output=True).returncode != 0  # gone with pysocat


RESPONDER = r'''
import os, struct, sys

def csum(b):
    b += b"\0" * (len(b) % 2)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

buf = b""
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    buf += chunk
    while len(buf) >= 20:
        size = struct.unpack("!H", buf[2:4])[0] if buf[0] >> 4 == 4 else 40 + struct.unpack("!H", buf[4:6])[0]
        if len(buf) < size:
            break
        pkt, buf = buf[:size], buf[size:]
        if pkt[0] != 0x45 or pkt[9] != 1 or pkt[20] != 8:
            continue  # only ICMP echo requests get answers
        icmp = b"\0\0\0\0" + pkt[24:]
        icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
        hdr = pkt[:12] + pkt[16:20] + pkt[12:16]
        hdr = hdr[:10] + b"\0\0" + hdr[12:]
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        os.write(1, hdr + icmp)
'''


@needs_tun
@pytest.mark.skipif(not shutil.which("ping"), reason="needs ping")
def test_ping_through_tun(tmp_path: Path, procs: list) -> None:
    name, net = unique()
    script = tmp_path / "responder.py"
    script.write_text(RESPONDER)
    procs.append(start(f"TUN:{net}.1/24,iff-up,iff-no-pi,tun-name={name}", f"EXEC:{sys.executable} {script}"))
    wait_iface(name, addr=f"{net}.1/24")
    ping = subprocess.run(["ping", "-n", "-c", "3", "-i", "0.2", "-W", "3", f"{net}.2"],
                          capture_output=True, text=True, timeout=30)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert "3 received" in ping.stdout


@needs_tun
def test_tap_with_interface_flags_set_and_cleared(procs: list) -> None:
    name, _net = unique()
    procs.append(server := start("-u", f"TUN,tun-type=tap,tun-name={name},iff-up,iff-promisc,iff-multicast=0", "-"))
    wait_iface(name)
    link = subprocess.run(["ip", "-d", "link", "show", name], capture_output=True, text=True).stdout
    assert "link/ether" in link and "tap" in link, link
    flags = link.split("<", 1)[1].split(">", 1)[0].split(",")
    assert "UP" in flags and "PROMISC" in flags and "MULTICAST" not in flags, flags
    server.kill()


@needs_tun
def test_tun_and_interface_pass_data_transparently(procs: list) -> None:
    """socat's TUNINTERFACE: a packet sent with INTERFACE comes back unchanged through TUN and echo."""
    name, net = unique()
    procs.append(start(f"TUN:{net}.1/24,iff-up=1,tun-type=tun,tun-name={name}", "ECHO"))
    wait_iface(name, addr=f"{net}.1/24")
    proc = run("-t", "1", "-", f"INTERFACE:{name}", input=b"not even an IP packet\n", timeout=15)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"not even an IP packet\n"


@pytest.fixture
def veth() -> Iterator[tuple[list[str], str, str]]:
    """A veth pair a<->b in a namespace of its own, IPv6 off so that the wire stays quiet."""
    ns = f"pysocat-test-{os.getpid()}-{next(_seq)}"
    a, b = "vetha", "vethb"
    exe = ["ip", "netns", "exec", ns]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for key in ("all", "default"):
            subprocess.run([*exe, "sysctl", "-q", "-w", f"net.ipv6.conf.{key}.disable_ipv6=1"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "add", a, "type", "veth", "peer", "name", b], check=True)
        for dev in (a, b):
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        yield exe, a, b
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@needs_netns
def test_interface_frames_over_a_veth_pair(veth: tuple[list[str], str, str], procs: list) -> None:
    exe, a, b = veth
    reader = subprocess.Popen([*exe, *PYSOCAT, "-u", f"INTERFACE:{a}", "-"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    procs.append(reader)
    time.sleep(0.5)
    frames = [b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + f"frame {i} ".encode() * (i + 3)
              for i in range(3)]
    for frame in frames:
        sent = subprocess.run([*exe, *PYSOCAT, "-u", "-", f"INTERFACE:{b}"], input=frame, capture_output=True,
                              timeout=15)
        assert sent.returncode == 0, sent.stderr
    time.sleep(0.3)
    reader.terminate()
    out, err = reader.communicate(timeout=10)
    for frame in frames:
        assert frame in out, (out, err)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-u", "-", "INTERFACE:pysocat-none0"], b'unknown interface "pysocat-none0"'),
        (["-u", "TUN:10.1.2.3/99", "-"], b"invalid network"),
        (["-u", "TUN,tun-type=tup", "-"], b'unknown tun-type "tup"'),
        (["-u", "TUN,iff-up=maybe", "-"], b"iff-up=maybe"),
        (["-u", "-", "INTERFACE:lo,tun-name=x"], b"not supported with this address type"),
    ],
)
def test_bad_input_is_one_error_line(args: list[str], needle: bytes) -> None:
    proc = run(*args, input=b"", timeout=10)
    assert proc.returncode == 1
    assert needle in proc.stderr, proc.stderr
    assert b"Traceback" not in proc.stderr
    assert proc.stderr.count(b" E ") == 1


@pytest.mark.parametrize("address", ["TUN:10.9.9.1/24", "INTERFACE:lo"])
def test_without_privileges_is_one_error(address: str) -> None:
    """As an ordinary user (root drops to nobody with setpriv for this test)."""
    drop: list[str] = []
    if ROOT:
        if not shutil.which("setpriv"):
            pytest.skip("root, and no setpriv to drop privileges")
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]
    proc = subprocess.run([*drop, *PYSOCAT, "-u", address, "-"], input=b"", capture_output=True, timeout=10)
    if proc.returncode == 0:
        pytest.skip("this user may create interfaces and packet sockets")
    if b" E " not in proc.stderr:
        pytest.skip(f"pysocat did not run as nobody: {proc.stderr[-200:]!r}")
    assert proc.returncode == 1 and proc.stderr.count(b" E ") == 1, proc.stderr
    assert b"Traceback" not in proc.stderr
