"""Options added for socat's own test suite: behaviour a user sees, through the real CLI."""

from __future__ import annotations

import fcntl
import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import PYSOCAT, finish, free_port, run, start, wait_tcp


def test_file_alias_and_o_trunc(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_bytes(b"old content that is long\n")
    r = run("-u", "-", f"FILE:{target},o-trunc", input=b"new\n")
    assert r.returncode == 0, r.stderr
    assert target.read_bytes() == b"new\n"


def test_ftruncate_and_seek(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"0123456789")
    r = run("-u", "-", f"OPEN:{target},ftruncate=4,seek=2", input=b"ab")
    assert r.returncode == 0, r.stderr
    assert target.read_bytes() == b"01ab"


def test_umask_applies_to_created_file(tmp_path: Path) -> None:
    target = tmp_path / "masked"
    r = run("-u", "-", f"CREATE:{target},umask=0077", input=b"x")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_unlink_late_removes_entry_after_open(tmp_path: Path) -> None:
    target = tmp_path / "gone"
    r = run("-u", "-", f"CREATE:{target},unlink-late", input=b"x")
    assert r.returncode == 0, r.stderr
    assert not target.exists()


def test_perm_late(tmp_path: Path) -> None:
    target = tmp_path / "p"
    r = run("-u", "-", f"CREATE:{target},perm-late=0640", input=b"x")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_flock_ex_nb_fails_when_locked(tmp_path: Path) -> None:
    target = tmp_path / "locked"
    target.write_bytes(b"")
    with open(target, "rb+") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        r = run("-u", "-", f"OPEN:{target},flock-ex-nb", input=b"x")
    assert r.returncode == 1
    assert b" E " in r.stderr and b"Traceback" not in r.stderr


def test_setlk_on_stdout_in_unidirectional_mode(tmp_path: Path) -> None:
    # socat's BUG-UNISTDIO: options of "-" apply only to the fd used in -u mode
    out = tmp_path / "o"
    with open(out, "wb") as fh, open(os.devnull, "rb") as devnull:
        r = subprocess.run([*PYSOCAT, "-u", "/dev/null", "-,setlk"],
                           stdin=devnull, stdout=fh, stderr=subprocess.PIPE, timeout=20)
    assert r.returncode == 0, r.stderr


def test_cool_write_makes_epipe_quiet() -> None:
    r = subprocess.run(
        ["bash", "-c", f"{' '.join(PYSOCAT)} -u /dev/zero STDOUT,cool-write | head -c 10 >/dev/null"],
        capture_output=True, timeout=20,
    )
    assert r.returncode == 0
    assert b" E " not in r.stderr, r.stderr


def test_without_cool_write_epipe_is_an_error() -> None:
    r = subprocess.run(
        ["bash", "-o", "pipefail", "-c",
         f"{' '.join(PYSOCAT)} -u /dev/zero STDOUT | head -c 10 >/dev/null"],
        capture_output=True, timeout=20,
    )
    assert r.returncode == 1
    assert b"Broken pipe" in r.stderr


def test_echo_alias_is_pipe() -> None:
    r = run("-", "echo", input=b"ping\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"ping\n"


def test_range_with_host_name(procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP4-LISTEN:{port},reuseaddr,range=localhost:255.255.255.255", "PIPE")
    procs.append(p)
    wait_tcp(port)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(b"hi\n")
        c.shutdown(socket.SHUT_WR)
        assert c.recv(10) == b"hi\n"
    rc, _out, err = finish(p)
    assert rc == 0, err


@pytest.mark.parametrize("spec", ["(,)[,]{,}\",\"([),])hugo"])
def test_mismatched_closer_is_literal(spec: str) -> None:
    r = run("-u", f"EXEC:echo {spec}", "-")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"(,)[,]{,},([),])hugo\n"


def test_fs_noatime_sets_inode_flag(tmp_path: Path) -> None:
    probe = subprocess.run(["lsattr", "-d", str(tmp_path)], capture_output=True, timeout=10)
    if probe.returncode != 0:
        pytest.skip("file system without inode flags (lsattr fails)")
    target = tmp_path / "f"
    r = run("-u", "/dev/null", f"CREATE:{target},fs-noatime")
    assert r.returncode == 0, r.stderr
    attrs = subprocess.run(["lsattr", str(target)], capture_output=True, timeout=10).stdout.split()[0]
    assert b"A" in attrs


def test_end_close_keeps_a_shared_exec_child(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    """socat's EXECENDCLOSE: one cat shared by the children of a forking listener."""
    sock = tmp_path / "s"
    p = start("-t", "0.3", "EXEC:cat,end-close", f"UNIX-LISTEN:{sock},fork")
    procs.append(p)
    from conftest import wait_path

    wait_path(sock)
    first = run("-t", "0.3", "-", f"UNIX-CONNECT:{sock}", input=b"one\n")
    second = run("-t", "0.3", "-", f"UNIX-CONNECT:{sock}", input=b"two\n")
    assert (first.stdout, second.stdout) == (b"one\n", b"two\n"), (first.stderr, second.stderr)
    p.terminate()
    _rc, _out, err = finish(p)
    assert b"Connection reset" not in err, err


def test_setsockopt_listen_and_generic_range(procs: list[subprocess.Popen[bytes]]) -> None:
    """socat's SETSOCKOPT_LISTEN and the x<port>x<addr>:x<port>x<mask> range form."""
    port = free_port()
    p = start(f"TCP4-LISTEN:{port},setsockopt-listen=1:2:1,range=x0000x7f000001:x0000xffffffff", "PIPE")
    procs.append(p)
    wait_tcp(port)
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.2", 0)) as c:
        c.sendall(b"refused\n")
        assert c.recv(10) == b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(b"served\n")
        c.shutdown(socket.SHUT_WR)
        assert c.recv(10) == b"served\n"
    rc, _out, err = finish(p)
    assert rc == 0, err


def test_pipe_echo_does_not_block_its_own_loop(procs: list[subprocess.Popen[bytes]]) -> None:
    """A PIPE echo on the userspace path: a full pipe must not block the loop that drains it."""
    import os as _os

    port = free_port()
    env = dict(_os.environ, PYSOCAT_NO_SPLICE="1")
    p = start(f"TCP-LISTEN:{port},reuseaddr", "PIPE", env=env)
    procs.append(p)
    wait_tcp(port)
    total = 16 << 20
    with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
        c.setblocking(False)
        block, sent, got = b"z" * 65536, 0, 0
        import time as _time

        start_reading = _time.monotonic() + 1.0  # first fill every buffer on the way, reading nothing
        deadline = _time.monotonic() + 30
        while got < total and _time.monotonic() < deadline:
            if sent < total:
                try:
                    sent += c.send(block[: total - sent])
                except BlockingIOError:
                    pass
            if _time.monotonic() < start_reading:
                continue
            try:
                got += len(c.recv(1 << 20))
            except BlockingIOError:
                _time.sleep(0.001)
    assert got == total, f"echoed {got} of {total} bytes"


IP_TRANSPARENT = 19


@pytest.mark.skipif(os.geteuid() != 0, reason="IP_TRANSPARENT needs CAP_NET_ADMIN (root)")
def test_ip_transparent_is_applied_before_bind() -> None:
    """ip-transparent is a PREBIND option: read back from the listening socket of an in-process relay."""
    import pysocat

    plain = pysocat.Relay("TCP4-LISTEN:0,bind=127.0.0.1", "PIPE")
    relay = pysocat.Relay("TCP4-LISTEN:0,bind=127.0.0.1,ip-transparent", "PIPE")
    with plain, relay:
        for r, want in ((plain, 0), (relay, 1)):
            acceptor = r._run.acceptor
            assert acceptor is not None
            assert acceptor.sock.getsockopt(socket.SOL_IP, IP_TRANSPARENT) == want
