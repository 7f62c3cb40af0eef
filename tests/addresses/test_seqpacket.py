"""UNIX sockets of type SOCK_SEQPACKET (so-type=5 / socktype=5) through the real CLI (issue 4).

Records keep their boundaries through the relay, a zero read is EOF, and a socket
type that does not match the peer's is one E line and exit status 1 (socat's
CONNECT_TO_SEQPACKET and SEQPACKET_TO_STREAM).
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from conftest import finish, run, start, wait_path

SEQ = socket.SOCK_SEQPACKET


def seq_client(path: Path) -> socket.socket:
    c = socket.socket(socket.AF_UNIX, SEQ)
    c.settimeout(5)
    c.connect(str(path))
    return c


def test_listen_keeps_record_boundaries(tmp_path: Path, procs: list) -> None:
    path = tmp_path / "seq.sock"
    procs.append(start(f"UNIX-LISTEN:{path},so-type=5", "PIPE"))
    wait_path(path)
    c = seq_client(path)
    records = [b"a", b"bb" * 100, b"ccc\n", b"d" * 7000]
    for rec in records:  # lock-step: one record, then its echo as one record
        c.send(rec)
        assert c.recv(65536) == rec
    c.close()


def test_relay_between_seqpacket_sockets_with_eof(tmp_path: Path, procs: list) -> None:
    inner, outer = tmp_path / "inner.sock", tmp_path / "outer.sock"
    srv = socket.socket(socket.AF_UNIX, SEQ)
    srv.bind(str(inner))
    srv.listen(1)
    srv.settimeout(10)
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = srv.accept()
        conn.settimeout(10)
        while True:
            rec = conn.recv(65536)
            if not rec:
                break
            got.append(rec)
        conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    proc = start(f"UNIX-LISTEN:{outer},socktype=5", f"UNIX-CONNECT:{inner},socktype=5")
    procs.append(proc)
    wait_path(outer)
    c = seq_client(outer)
    records = [b"one", b"two two", b"three " * 50]
    for rec in records:
        c.send(rec)
    c.shutdown(socket.SHUT_WR)  # EOF goes through as EOF, not as an empty record
    thread.join(10)
    c.close()
    assert got == records
    assert finish(proc, 10)[0] == 0


@pytest.mark.parametrize("address", ["GOPEN:{}", "UNIX-CLIENT:{}", "{}"])
def test_clients_that_try_every_type_reach_seqpacket(tmp_path: Path, procs: list, address: str) -> None:
    """socat's GOPENUNIXSEQPACKET: stream, datagram, then seqpacket."""
    path = tmp_path / "seq.sock"
    procs.append(start(f"UNIX-LISTEN:{path},so-type=5", "PIPE"))
    wait_path(path)
    proc = run("-", address.format(path), input=b"hello seqpacket\n", timeout=15)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"hello seqpacket\n"


def test_sendto_with_seqpacket_type(tmp_path: Path, procs: list) -> None:
    path = tmp_path / "seq.sock"
    procs.append(start(f"UNIX-LISTEN:{path},so-type=5", "PIPE"))
    wait_path(path)
    proc = run("-", f"UNIX-SENDTO:{path},so-type=5", input=b"sent\n", timeout=15)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"sent\n"


@pytest.mark.parametrize(("server", "client"), [
    ("UNIX-LISTEN:{},socktype=5", "UNIX-CONNECT:{}"),  # CONNECT_TO_SEQPACKET
    ("UNIX-LISTEN:{}", "UNIX-CONNECT:{},socktype=5"),  # SEQPACKET_TO_STREAM
    ("UNIX-RECV:{}", "UNIX-CONNECT:{},socktype=5"),  # SEQPACKET_TO_DGRAM
])
def test_mismatched_socket_type_is_one_error(tmp_path: Path, procs: list, server: str, client: str) -> None:
    path = tmp_path / "s.sock"
    procs.append(start("-u", server.format(path), "/dev/null"))
    wait_path(path)
    proc = run("-u", "-", client.format(path), input=b"x\n", timeout=15)
    assert proc.returncode == 1
    assert proc.stderr.count(b" E ") == 1 and b"Protocol wrong type" in proc.stderr, proc.stderr
    assert b"Traceback" not in proc.stderr
