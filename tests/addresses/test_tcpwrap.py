"""TCP wrappers options: hosts.allow / hosts.deny decide which peers a listener serves."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from conftest import finish, free_port, start, wait_tcp


def _talk(port: int, data: bytes, source: str = "127.0.0.1") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as c:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := c.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_deny_all_allow_one(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    allow, deny = tmp_path / "hosts.allow", tmp_path / "hosts.deny"
    allow.write_text("socat: 127.0.0.2\n")
    deny.write_text("ALL: ALL\n")
    port = free_port()
    p = start(f"TCP4-LISTEN:{port},reuseaddr,fork,hosts-allow={allow},hosts-deny={deny}", "PIPE")
    procs.append(p)
    wait_tcp(port)
    assert _talk(port, b"denied\n") == b""
    assert _talk(port, b"allowed\n", source="127.0.0.2") == b"allowed\n"
    p.terminate()
    _rc, _out, err = finish(p)
    assert b"refusing connection from AF=2 127.0.0.1:" in err and b"tcpwrap" in err


def test_daemon_name_and_tcpwrap_etc(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    (tmp_path / "hosts.allow").write_text("other: ALL\n")
    (tmp_path / "hosts.deny").write_text("mydaemon: 127.0.0.0/255.0.0.0\n")
    port = free_port()
    p = start(f"TCP4-LISTEN:{port},reuseaddr,tcpwrap=mydaemon,tcpwrap-etc={tmp_path}", "PIPE")
    procs.append(p)
    wait_tcp(port)
    assert _talk(port, b"x\n") == b""
    assert p.poll() is None, "a refused peer must not end a listener"
    p.terminate()
    finish(p)


def test_except_clause(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    (tmp_path / "hosts.allow").write_text("")
    (tmp_path / "hosts.deny").write_text("ALL: ALL EXCEPT 127.0.0.1\n")
    port = free_port()
    p = start(f"TCP4-LISTEN:{port},reuseaddr,tcpwrap-etc={tmp_path}", "PIPE")
    procs.append(p)
    wait_tcp(port)
    assert _talk(port, b"served\n") == b"served\n"
    rc, _out, err = finish(p)
    assert rc == 0, err
