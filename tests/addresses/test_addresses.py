"""Every stream address type and its options, through the real CLI."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import socket
import stat
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import finish, free_port, run, start, wait_path, wait_tcp

IS_ROOT = os.geteuid() == 0


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAS_IPV6 = _has_ipv6()
needs_ipv6 = pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback")
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root")


# --- servers written in Python ------------------------------------------------------


class EchoServer:
    """A threaded stream echo server that records the peers it accepted."""

    def __init__(self, family: int = socket.AF_INET, host: str = "127.0.0.1", port: int = 0,
                 path: str | None = None, echo: bool = True) -> None:
        self.sock = socket.socket(socket.AF_UNIX if path else family, socket.SOCK_STREAM)
        if not path:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(path if path else (host, port))
        self.sock.listen(128)
        self.port = 0 if path else int(self.sock.getsockname()[1])
        self.echo = echo
        self.peers: list[Any] = []
        self.received: list[bytes] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.peers.append(peer)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        got = bytearray()
        conn.settimeout(15)
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                got += data
                if self.echo:
                    conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            conn.close()
            with self.lock:
                self.received.append(bytes(got))
            self.done.set()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    srv = EchoServer()
    yield srv
    srv.close()


def talk(port: int, data: bytes, host: str = "127.0.0.1", family: int = socket.AF_INET,
         timeout: float = 10, bind: tuple[str, int] | None = None) -> bytes:
    """Connect, send ``data``, half-close, read everything back."""
    with socket.socket(family, socket.SOCK_STREAM) as c:
        c.settimeout(timeout)
        if bind:
            c.bind(bind)
        c.connect((host, port))
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        out = bytearray()
        while True:
            chunk = c.recv(65536)
            if not chunk:
                return bytes(out)
            out += chunk


def talk_unix(path: str, data: bytes, abstract: bool = False, timeout: float = 10) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while True:  # the path appears at bind(), a moment before listen()
            try:
                c.connect(("\0" + path) if abstract else path)
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        out = bytearray()
        while True:
            chunk = c.recv(65536)
            if not chunk:
                return bytes(out)
            out += chunk


def close_stdin(p: subprocess.Popen[bytes]) -> None:
    """Send EOF on a started process's stdin (and let finish() cope with it)."""
    if p.stdin is not None:
        p.stdin.close()
        p.stdin = None


def e_lines(err: bytes) -> list[str]:
    return [ln for ln in err.decode(errors="replace").splitlines() if re.search(r"\] E ", ln)]


def assert_clean_error(rc: int, err: bytes, *words: str) -> None:
    text = err.decode(errors="replace")
    assert rc == 1, text
    assert "Traceback" not in text, text
    lines = e_lines(err)
    assert lines, f"no E line in {text!r}"
    for word in words:
        assert word in text, (word, text)


# --- peeking at a live pysocat's descriptors ----------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def grab_fd(pid: int, fd: int) -> int:
    """pidfd_getfd(): a duplicate of another process's descriptor (root/ptrace)."""
    pidfd = os.pidfd_open(pid)
    try:
        got = _libc.syscall(438, pidfd, fd, 0)
        if got < 0:
            err = ctypes.get_errno()
            pytest.skip(f"pidfd_getfd unavailable: {os.strerror(err)}")
        return int(got)
    finally:
        os.close(pidfd)


def proc_sockets(pid: int) -> list[socket.socket]:
    """Duplicates of every socket descriptor of ``pid`` (caller closes them)."""
    out = []
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:"):
            out.append(socket.socket(fileno=grab_fd(pid, int(name))))
    return out


def tcp_socket_of(pid: int, listening: bool = False, timeout: float = 5) -> socket.socket:
    """The (single) connected or listening TCP socket of a live process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = None
        for s in proc_sockets(pid):
            keep = False
            if s.type == socket.SOCK_STREAM and s.family in (socket.AF_INET, socket.AF_INET6):
                accepting = s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
                if accepting == listening and found is None:
                    if listening:
                        keep = True
                    else:
                        try:
                            s.getpeername()
                            keep = True
                        except OSError:
                            pass
            if keep:
                found = s
            else:
                s.close()
        if found is not None:
            return found
        time.sleep(0.05)
    raise TimeoutError(f"no {'listening' if listening else 'connected'} TCP socket in {pid}")


def fd_flags_for(pid: int, path: str, timeout: float = 5) -> int:
    """open() flags (from /proc/PID/fdinfo) of the descriptor of ``pid`` open on ``path``."""
    real = os.path.realpath(path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{name}")
            except OSError:
                continue
            if target == real:
                with open(f"/proc/{pid}/fdinfo/{name}") as fh:
                    for line in fh:
                        if line.startswith("flags:"):
                            return int(line.split()[1], 8)
        time.sleep(0.05)
    raise TimeoutError(f"{pid} has no descriptor on {path}")


# --- STDIO, STDIN, STDOUT, STDERR, FD ---------------------------------------------


@pytest.mark.parametrize("spec", ["STDIO", "-", "stdio", "Stdio"])
def test_stdio_with_pipe_echo(spec: str) -> None:
    r = run(spec, "PIPE", input=b"hello stdio\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hello stdio\n"


def test_stdin_to_stdout_unidirectional() -> None:
    data = bytes(range(256)) * 100
    r = run("-u", "STDIN", "STDOUT", input=data, timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data


def test_stdin_to_stderr() -> None:
    r = run("-u", "STDIN", "STDERR", input=b"to stderr\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stderr == b"to stderr\n"
    assert r.stdout == b""


def test_stdin_cannot_be_written() -> None:
    r = run("-u", "-", "STDIN", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr)


@pytest.mark.parametrize("form", ["FD:{fd}", "fd:{fd}", "{fd}"])
def test_fd_write(form: str) -> None:
    rfd, wfd = os.pipe()
    try:
        r = run("-u", "STDIN", form.format(fd=wfd), input=b"via fd\n", pass_fds=(wfd,), timeout=10)
        os.close(wfd)
        wfd = -1
        assert r.returncode == 0, r.stderr
        assert os.read(rfd, 100) == b"via fd\n"
    finally:
        os.close(rfd)
        if wfd >= 0:
            os.close(wfd)


def test_fd_read() -> None:
    rfd, wfd = os.pipe()
    os.write(wfd, b"from an fd\n")
    os.close(wfd)
    try:
        r = run("-u", f"FD:{rfd}", "STDOUT", pass_fds=(rfd,), timeout=10)
    finally:
        os.close(rfd)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"from an fd\n"


def test_fd_not_open_is_error() -> None:
    r = run("-u", "STDIN", "FD:77", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr)


# --- OPEN, CREATE, GOPEN ------------------------------------------------------------


def test_open_reads_existing_file(tmp_path: Path) -> None:
    f = tmp_path / "in"
    f.write_bytes(b"file content\n" * 1000)
    r = run("-u", f"OPEN:{f}", "STDOUT", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"file content\n" * 1000


def test_file_alias_reads(tmp_path: Path) -> None:
    f = tmp_path / "in"
    f.write_bytes(b"alias\n")
    r = run("-u", f"open:{f}", "STDOUT", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"alias\n"


def test_open_writes_in_place_without_truncating(tmp_path: Path) -> None:
    f = tmp_path / "out"
    f.write_bytes(b"0123456789")
    r = run("-u", "STDIN", f"OPEN:{f}", input=b"ab", timeout=10)
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == b"ab23456789"


def test_open_missing_file_fails_without_creating(tmp_path: Path) -> None:
    f = tmp_path / "missing"
    r = run("-u", "STDIN", f"OPEN:{f}", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr, "No such file")
    assert not f.exists()


def test_open_creat_creates(tmp_path: Path) -> None:
    f = tmp_path / "new"
    r = run("-u", "STDIN", f"OPEN:{f},creat", input=b"created\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == b"created\n"


def test_open_excl_on_existing_fails_and_keeps_content(tmp_path: Path) -> None:
    f = tmp_path / "exists"
    f.write_bytes(b"precious")
    r = run("-u", "STDIN", f"OPEN:{f},creat,excl", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr, "File exists")
    assert f.read_bytes() == b"precious"


def test_open_excl_on_missing_creates(tmp_path: Path) -> None:
    f = tmp_path / "fresh"
    r = run("-u", "STDIN", f"OPEN:{f},creat,excl", input=b"x", timeout=10)
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == b"x"


def test_open_append(tmp_path: Path) -> None:
    f = tmp_path / "log"
    f.write_bytes(b"line1\n")
    r = run("-u", "STDIN", f"OPEN:{f},append", input=b"line2\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == b"line1\nline2\n"


def test_open_trunc(tmp_path: Path) -> None:
    f = tmp_path / "t"
    f.write_bytes(b"a long old content")
    r = run("-u", "STDIN", f"OPEN:{f},trunc", input=b"new", timeout=10)
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == b"new"


def test_open_nofollow_refuses_symlink(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"untouched")
    link = tmp_path / "link"
    link.symlink_to(target)
    r = run("-u", "STDIN", f"OPEN:{link},nofollow", input=b"overwrite", timeout=10)
    assert_clean_error(r.returncode, r.stderr)
    assert target.read_bytes() == b"untouched"
    # without nofollow the link is followed
    r = run("-u", "STDIN", f"OPEN:{link}", input=b"over", timeout=10)
    assert r.returncode == 0, r.stderr
    assert target.read_bytes() == b"overuched"


@pytest.mark.parametrize("opt,mode", [("perm=0600", 0o600), ("mode=0640", 0o640), ("perm=0604", 0o604)])
def test_open_perm_on_creation(tmp_path: Path, opt: str, mode: int) -> None:
    f = tmp_path / "p"
    r = run("-u", "STDIN", f"OPEN:{f},creat,{opt}", input=b"x", timeout=10)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(f).st_mode) == mode


def test_open_bad_mode_value(tmp_path: Path) -> None:
    f = tmp_path / "p"
    r = run("-u", "STDIN", f"OPEN:{f},creat,perm=999", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr)
    assert not f.exists()


@needs_root
def test_open_user_group_chown(tmp_path: Path) -> None:
    f = tmp_path / "owned"
    r = run("-u", "STDIN", f"OPEN:{f},creat,user=nobody,group=nogroup", input=b"x", timeout=10)
    assert r.returncode == 0, r.stderr
    st = os.stat(f)
    assert (st.st_uid, st.st_gid) == (65534, 65534)
    g = tmp_path / "owned2"
    r = run("-u", "STDIN", f"OPEN:{g},creat,owner=65534", input=b"x", timeout=10)
    assert r.returncode == 0, r.stderr
    assert os.stat(g).st_uid == 65534


def test_open_unknown_user_is_error(tmp_path: Path) -> None:
    f = tmp_path / "u"
    r = run("-u", "STDIN", f"OPEN:{f},creat,user=no-such-user-xyz", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr, "no-such-user-xyz")
    assert not f.exists()


def test_open_perm_early_changes_existing_mode(tmp_path: Path) -> None:
    f = tmp_path / "e"
    f.write_bytes(b"")
    os.chmod(f, 0o644)
    r = run("-u", "STDIN", f"OPEN:{f},perm-early=0600", input=b"x", timeout=10)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    assert f.read_bytes() == b"x"


@pytest.mark.parametrize("opt,flag", [("sync", os.O_SYNC), ("nonblock", os.O_NONBLOCK), ("append", os.O_APPEND)])
def test_open_flags_on_live_descriptor(tmp_path: Path, procs: list[subprocess.Popen[bytes]], opt: str,
                                       flag: int) -> None:
    f = tmp_path / "flags"
    f.write_bytes(b"")
    p = start("-u", "STDIN", f"OPEN:{f},{opt}")
    procs.append(p)
    assert p.stdin is not None
    p.stdin.write(b"abc")
    p.stdin.flush()
    flags = fd_flags_for(p.pid, str(f))
    assert flags & flag == flag, oct(flags)
    close_stdin(p)
    rc, _out, err = finish(p, timeout=10)
    assert rc == 0, err
    assert f.read_bytes() == b"abc"


def test_open_without_flag_options_has_plain_flags(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    f = tmp_path / "plain"
    f.write_bytes(b"")
    p = start("-u", "STDIN", f"OPEN:{f}")
    procs.append(p)
    flags = fd_flags_for(p.pid, str(f))
    assert flags & (os.O_SYNC | os.O_APPEND) == 0, oct(flags)
    assert p.stdin is not None
    close_stdin(p)
    rc, _out, err = finish(p, timeout=10)
    assert rc == 0, err


@pytest.mark.parametrize("kw", ["CREATE", "CREAT", "create"])
def test_create_truncates_existing(tmp_path: Path, kw: str) -> None:
    f = tmp_path / "c"
    f.write_bytes(b"old old old old")
    r = run("-u", "STDIN", f"{kw}:{f}", input=b"new", timeout=10)
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == b"new"


def test_create_makes_missing_with_perm(tmp_path: Path) -> None:
    f = tmp_path / "c"
    r = run("-u", "STDIN", f"CREATE:{f},perm=0600", input=b"data", timeout=10)
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == b"data"
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600


def test_gopen_appends_to_existing(tmp_path: Path) -> None:
    f = tmp_path / "g"
    f.write_bytes(b"first\n")
    r = run("-u", "STDIN", f"GOPEN:{f}", input=b"second\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == b"first\nsecond\n"


def test_gopen_creates_missing(tmp_path: Path) -> None:
    f = tmp_path / "g"
    r = run("-u", "STDIN", f"GOPEN:{f}", input=b"made\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == b"made\n"


def test_bare_path_is_gopen(tmp_path: Path) -> None:
    f = tmp_path / "bare"
    f.write_bytes(b"a")
    r = run("-u", "STDIN", str(f), input=b"b", timeout=10)
    assert r.returncode == 0, r.stderr
    assert f.read_bytes() == b"ab"
    r = run("-u", str(f), "STDOUT", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"ab"


def test_gopen_connects_unix_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "sock")
    srv = EchoServer(path=path)
    try:
        r = run("-", f"GOPEN:{path}", input=b"through gopen\n", timeout=10)
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"through gopen\n"
    finally:
        srv.close()


# --- PIPE and SOCKETPAIR ------------------------------------------------------------


@pytest.mark.parametrize("kw", ["PIPE", "pipe"])
def test_unnamed_pipe_echoes(kw: str) -> None:
    data = os.urandom(50000)
    r = run("-", kw, input=data, timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data


def test_named_pipe_created_passes_data_and_removed(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    fifo = tmp_path / "fifo"
    p = start("-u", "STDIN", f"PIPE:{fifo}")
    procs.append(p)
    wait_path(fifo, timeout=10)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    fd = os.open(fifo, os.O_RDONLY)
    try:
        assert p.stdin is not None
        p.stdin.write(b"through the fifo\n")
        close_stdin(p)
        got = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            chunk = os.read(fd, 100)
            if not chunk:
                break
            got += chunk
    finally:
        os.close(fd)
    rc, _out, err = finish(p, timeout=10)
    assert rc == 0, err
    assert got == b"through the fifo\n"
    assert not os.path.lexists(fifo), "the FIFO pysocat created was not removed at close"


def test_named_pipe_bidirectional_echo(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    r = run("-", f"PIPE:{fifo}", input=b"echo via fifo\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"echo via fifo\n"
    assert not os.path.lexists(fifo)


def test_named_pipe_existing_is_kept(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = run("-", f"PIPE:{fifo}", input=b"kept\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"kept\n"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "a FIFO pysocat did not create was removed"


@pytest.mark.parametrize("kw", ["SOCKETPAIR", "socketpair"])
def test_socketpair_echoes(kw: str) -> None:
    r = run("-", kw, input=b"pair echo\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"pair echo\n"


# --- dual addresses -----------------------------------------------------------------


def test_dual_address_files(tmp_path: Path) -> None:
    src = tmp_path / "src"
    dst = tmp_path / "dst"
    data = os.urandom(20000)
    src.write_bytes(data)
    r = run(f"OPEN:{src}!!CREATE:{dst}", "PIPE", timeout=10)
    assert r.returncode == 0, r.stderr
    assert dst.read_bytes() == data


def test_dual_address_stdin_to_stderr() -> None:
    r = run("STDIN!!STDERR", "PIPE", input=b"dual\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stderr == b"dual\n"
    assert r.stdout == b""


def test_dual_address_on_the_right(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"left from file\n")
    dst = tmp_path / "dst"
    r = run("-u", f"OPEN:{src}", f"STDIN!!CREATE:{dst}", timeout=10)
    assert r.returncode == 0, r.stderr
    assert dst.read_bytes() == b"left from file\n"


# --- TCP clients --------------------------------------------------------------------


@pytest.mark.parametrize("kw", ["TCP", "tcp", "TCP4", "TCP-CONNECT", "tcp-connect", "TCP4-CONNECT"])
def test_tcp_client_echo(echo: EchoServer, kw: str) -> None:
    r = run("-", f"{kw}:127.0.0.1:{echo.port}", input=b"tcp hello\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"tcp hello\n"


def test_tcp_client_resolves_localhost(echo: EchoServer) -> None:
    r = run("-", f"TCP:localhost:{echo.port}", input=b"by name\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"by name\n"


@needs_ipv6
@pytest.mark.parametrize("kw", ["TCP6", "TCP", "TCP6-CONNECT"])
def test_tcp6_client_echo(kw: str) -> None:
    srv = EchoServer(family=socket.AF_INET6, host="::1")
    try:
        r = run("-", f"{kw}:[::1]:{srv.port}", input=b"v6 hello\n", timeout=10)
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"v6 hello\n"
        assert srv.peers and srv.peers[0][0] == "::1"
    finally:
        srv.close()


def test_tcp_connection_refused(tmp_path: Path) -> None:
    port = free_port()
    r = run("-", f"TCP:127.0.0.1:{port}", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr, "Connection refused")


def test_tcp_localhost_refused_names_error() -> None:
    port = free_port()
    r = run("-", f"TCP:localhost:{port}", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr, "Connection refused")


def test_tcp_unknown_service_name_is_error() -> None:
    r = run("-", "TCP:127.0.0.1:no-such-service-xyz", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr, "no-such-service-xyz")


def test_tcp_unresolvable_host_is_error() -> None:
    r = run("-", "TCP:no-such-host.invalid:80", input=b"x", timeout=20)
    assert_clean_error(r.returncode, r.stderr, "no-such-host.invalid")


@needs_root
def test_tcp_service_name_resolves_for_connect_and_listen(procs: list[subprocess.Popen[bytes]]) -> None:
    # 'tcpmux' is port 1 in /etc/services
    if socket.getservbyname("tcpmux", "tcp") != 1:
        pytest.skip("no tcpmux in services")
    try:
        probe = socket.socket()
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", 1))
        probe.close()
    except OSError:
        pytest.skip("port 1 not free")
    p = start("TCP4-LISTEN:tcpmux,bind=127.0.0.1,reuseaddr", "PIPE")
    procs.append(p)
    wait_tcp(1)
    r = run("-", "TCP:127.0.0.1:tcpmux", input=b"via service name\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"via service name\n"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err


def test_tcp_port_out_of_range() -> None:
    r = run("-", "TCP:127.0.0.1:65536", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr, "65536")


# --- TCP listeners ------------------------------------------------------------------


@pytest.mark.parametrize("kw", ["TCP-LISTEN", "TCP4-LISTEN", "tcp-l", "TCP-L", "tcp4-listen", "TCP4-L"])
def test_tcp_listen_serves_one_peer(procs: list[subprocess.Popen[bytes]], kw: str) -> None:
    port = free_port()
    p = start(f"{kw}:{port},reuseaddr", "PIPE")
    procs.append(p)
    wait_tcp(port)
    assert talk(port, b"listen echo\n") == b"listen echo\n"
    rc, _out, err = finish(p, timeout=10)
    assert rc == 0, err


def test_tcp_listen_to_stdout(procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port}", "-", stdin=subprocess.DEVNULL)
    procs.append(p)
    wait_tcp(port)
    assert talk(port, b"to stdout\n") == b""
    rc, out, err = finish(p, timeout=10)
    assert rc == 0, err
    assert out == b"to stdout\n"


@needs_ipv6
@pytest.mark.parametrize("kw", ["TCP6-LISTEN", "TCP6-L"])
def test_tcp6_listen(procs: list[subprocess.Popen[bytes]], kw: str) -> None:
    port = free_port(socket.AF_INET6)
    p = start(f"{kw}:{port}", "PIPE")
    procs.append(p)
    wait_tcp(port, host="::1")
    assert talk(port, b"six\n", host="::1", family=socket.AF_INET6) == b"six\n"
    rc, _out, err = finish(p, timeout=10)
    assert rc == 0, err


def test_tcp_listen_port_in_use(procs: list[subprocess.Popen[bytes]]) -> None:
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = run(f"TCP-LISTEN:{port}", "-", input=b"", timeout=10)
    assert_clean_error(r.returncode, r.stderr, "Address already in use")


# --- UNIX and ABSTRACT --------------------------------------------------------------


@pytest.mark.parametrize("kw", ["UNIX-CONNECT", "UNIX", "unix-connect", "UNIX-CLIENT"])
def test_unix_connect_stream(tmp_path: Path, kw: str) -> None:
    path = str(tmp_path / "s")
    srv = EchoServer(path=path)
    try:
        r = run("-", f"{kw}:{path}", input=b"unix echo\n", timeout=10)
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"unix echo\n"
    finally:
        srv.close()


def test_unix_connect_missing_is_error(tmp_path: Path) -> None:
    r = run("-", f"UNIX-CONNECT:{tmp_path / 'none'}", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr, "No such file")


def test_unix_client_to_datagram_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "d")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as d:
        d.bind(path)
        d.settimeout(10)
        r = run("-u", "STDIN", f"UNIX-CLIENT:{path}", input=b"datagram\n", timeout=10)
        assert r.returncode == 0, r.stderr
        assert d.recv(100) == b"datagram\n"


def test_unix_connect_refuses_datagram_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "d")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as d:
        d.bind(path)
        r = run("-u", "STDIN", f"UNIX-CONNECT:{path}", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr)


@pytest.mark.parametrize("kw", ["UNIX-LISTEN", "UNIX-L", "unix-listen"])
def test_unix_listen_serves_and_removes_socket(tmp_path: Path, procs: list[subprocess.Popen[bytes]],
                                               kw: str) -> None:
    path = str(tmp_path / "l")
    p = start(f"{kw}:{path}", "PIPE")
    procs.append(p)
    wait_path(path)
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert talk_unix(path, b"unix listen\n") == b"unix listen\n"
    rc, _out, err = finish(p, timeout=10)
    assert rc == 0, err
    assert not os.path.lexists(path), "socket file left behind"


def test_unix_listen_existing_path_is_error_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "taken"
    path.write_bytes(b"a regular file")
    r = run(f"UNIX-LISTEN:{path}", "-", input=b"", timeout=10)
    assert_clean_error(r.returncode, r.stderr, "exists")
    assert path.read_bytes() == b"a regular file"


def test_unix_listen_perm(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    path = str(tmp_path / "perm")
    p = start(f"UNIX-LISTEN:{path},perm=0600", "PIPE")
    procs.append(p)
    wait_path(path)
    deadline = time.monotonic() + 5
    while stat.S_IMODE(os.lstat(path).st_mode) != 0o600 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
    assert talk_unix(path, b"p") == b"p"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err


def test_unix_listen_to_unix_connect_between_two_pysocats(tmp_path: Path,
                                                          procs: list[subprocess.Popen[bytes]]) -> None:
    path = str(tmp_path / "pair")
    p = start(f"UNIX-LISTEN:{path}", "PIPE")
    procs.append(p)
    wait_path(path)
    r = run("-", f"UNIX-CONNECT:{path}", input=b"pysocat to pysocat\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"pysocat to pysocat\n"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err


def _abstract_name() -> str:
    return f"pysocat-test-{os.getpid()}-{time.monotonic_ns()}"


@pytest.mark.parametrize("client", ["ABSTRACT-CONNECT", "ABSTRACT", "ABSTRACT-CLIENT"])
def test_abstract_listen_and_connect(procs: list[subprocess.Popen[bytes]], client: str) -> None:
    name = _abstract_name()
    p = start(f"ABSTRACT-LISTEN:{name}", "PIPE")
    procs.append(p)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open("/proc/net/unix") as fh:
            if any(line.rstrip().endswith("@" + name) for line in fh):
                break
        time.sleep(0.02)
    else:
        pytest.fail("abstract listener did not appear")
    assert not os.path.exists(name)
    r = run("-", f"{client}:{name}", input=b"abstract\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"abstract\n"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err


def test_abstract_connect_python_server() -> None:
    name = _abstract_name()
    srv = EchoServer(path="\0" + name)
    try:
        r = run("-", f"ABSTRACT-CONNECT:{name}", input=b"to python\n", timeout=10)
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"to python\n"
    finally:
        srv.close()


# --- client socket options ----------------------------------------------------------


def test_bind_sets_client_source_address(echo: EchoServer) -> None:
    sport = free_port()
    r = run("-", f"TCP:127.0.0.1:{echo.port},bind=127.0.0.2:{sport}", input=b"bound\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"bound\n"
    assert echo.peers == [("127.0.0.2", sport)]


def test_bind_host_only(echo: EchoServer) -> None:
    r = run("-", f"TCP:127.0.0.1:{echo.port},bind=127.0.0.3", input=b"b\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert echo.peers[0][0] == "127.0.0.3"


@pytest.mark.parametrize("opt", ["sourceport", "sp"])
def test_sourceport(echo: EchoServer, opt: str) -> None:
    sport = free_port()
    r = run("-", f"TCP:127.0.0.1:{echo.port},{opt}={sport}", input=b"sp\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"sp\n"
    assert echo.peers[0][1] == sport


@needs_root
def test_lowport(echo: EchoServer) -> None:
    r = run("-", f"TCP:127.0.0.1:{echo.port},lowport", input=b"low\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"low\n"
    assert 640 <= echo.peers[0][1] <= 1023


def _blackhole() -> tuple[socket.socket, list[socket.socket], int]:
    """A listener whose accept queue is full: further SYNs are dropped."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.2)
    with socket.socket() as probe:
        probe.settimeout(0.5)
        try:
            probe.connect(("127.0.0.1", port))
            connected = True
        except OSError:
            connected = False
    if connected:
        lsock.close()
        for c in fillers:
            c.close()
        pytest.skip("cannot make a connect hang on this machine")
    return lsock, fillers, port


def test_connect_timeout() -> None:
    lsock, fillers, port = _blackhole()
    try:
        t0 = time.monotonic()
        r = run("-", f"TCP:127.0.0.1:{port},connect-timeout=1", input=b"x", timeout=15)
        took = time.monotonic() - t0
    finally:
        lsock.close()
        for c in fillers:
            c.close()
    assert_clean_error(r.returncode, r.stderr)
    assert 0.8 <= took <= 5, took


@contextmanager
def _echo_server_after(delay: float, port: int) -> Iterator[None]:
    """An echo server that starts listening on ``port`` only after ``delay`` seconds."""
    holder: dict[str, EchoServer] = {}

    def late() -> None:
        time.sleep(delay)
        holder["srv"] = EchoServer(port=port)

    t = threading.Thread(target=late)
    t.start()
    try:
        yield
    finally:
        t.join()
        holder["srv"].close()


def test_retry_interval_waits_for_late_listener() -> None:
    port = free_port()
    with _echo_server_after(0.8, port):
        r = run("-", f"TCP:127.0.0.1:{port},retry=10,interval=0.2", input=b"late\n", timeout=15)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"late\n"


def test_retry_gives_up() -> None:
    port = free_port()
    t0 = time.monotonic()
    r = run("-", f"TCP:127.0.0.1:{port},retry=3,interval=0.2", input=b"x", timeout=15)
    took = time.monotonic() - t0
    assert_clean_error(r.returncode, r.stderr, "Connection refused")
    assert 0.5 <= took <= 6, took


def test_forever_waits_for_late_listener() -> None:
    port = free_port()
    with _echo_server_after(1.0, port):
        r = run("-", f"TCP:127.0.0.1:{port},forever,interval=0.1", input=b"forever\n", timeout=15)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"forever\n"


def _live_client(port: int, opts: str, procs: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    p = start("-", f"TCP:127.0.0.1:{port},{opts}")
    procs.append(p)
    return p


def _end_client(p: subprocess.Popen[bytes]) -> None:
    assert p.stdin is not None
    p.stdin.write(b"still works\n")
    close_stdin(p)
    rc, out, err = finish(p, timeout=10)
    assert rc == 0, err
    assert out == b"still works\n"


SOL, TCP = socket.SOL_SOCKET, socket.IPPROTO_TCP


@pytest.mark.parametrize(
    "opts,level,name,expect",
    [
        ("keepalive", SOL, socket.SO_KEEPALIVE, 1),
        ("so-keepalive", SOL, socket.SO_KEEPALIVE, 1),
        ("keepalive,keepidle=37", TCP, socket.TCP_KEEPIDLE, 37),
        ("keepalive,keepintvl=11", TCP, socket.TCP_KEEPINTVL, 11),
        ("keepalive,keepcnt=4", TCP, socket.TCP_KEEPCNT, 4),
        ("nodelay", TCP, socket.TCP_NODELAY, 1),
        ("reuseaddr", SOL, socket.SO_REUSEADDR, 1),
        ("reuseport", SOL, socket.SO_REUSEPORT, 1),
        ("rcvbuf=50000", SOL, socket.SO_RCVBUF, 100000),
        ("sndbuf=50000", SOL, socket.SO_SNDBUF, 100000),
        ("setsockopt-int=1:2:1", SOL, socket.SO_REUSEADDR, 1),
        ("setsockopt=1:9:1", SOL, socket.SO_KEEPALIVE, 1),
        ("setsockopt-bin=1:9:x01000000", SOL, socket.SO_KEEPALIVE, 1),
        ("setsockopt=6:1:x01000000", TCP, socket.TCP_NODELAY, 1),
    ],
)
def test_client_socket_option_on_live_socket(echo: EchoServer, procs: list[subprocess.Popen[bytes]], opts: str,
                                             level: int, name: int, expect: int) -> None:
    if not IS_ROOT:
        pytest.skip("reading another process's socket needs root")
    p = _live_client(echo.port, opts, procs)
    s = tcp_socket_of(p.pid)
    try:
        assert s.getsockopt(level, name) == expect
    finally:
        s.close()
    _end_client(p)


def test_client_defaults_differ_from_options(echo: EchoServer, procs: list[subprocess.Popen[bytes]]) -> None:
    """Control: without options the values checked above are not already set."""
    if not IS_ROOT:
        pytest.skip("reading another process's socket needs root")
    p = _live_client(echo.port, "bind=127.0.0.1", procs)
    s = tcp_socket_of(p.pid)
    try:
        assert s.getsockopt(SOL, socket.SO_KEEPALIVE) == 0
        assert s.getsockopt(TCP, socket.TCP_NODELAY) == 0
        assert s.getsockopt(SOL, socket.SO_REUSEADDR) == 0
        assert s.getsockopt(SOL, socket.SO_RCVBUF) != 100000
        assert s.getsockopt(SOL, socket.SO_SNDBUF) != 100000
        assert s.getsockopt(TCP, socket.TCP_KEEPIDLE) != 37
    finally:
        s.close()
    _end_client(p)


def test_linger_on_live_socket(echo: EchoServer, procs: list[subprocess.Popen[bytes]]) -> None:
    if not IS_ROOT:
        pytest.skip("reading another process's socket needs root")
    p = _live_client(echo.port, "linger=5", procs)
    s = tcp_socket_of(p.pid)
    try:
        onoff, secs = struct.unpack("ii", s.getsockopt(SOL, socket.SO_LINGER, 8))
        assert (onoff, secs) == (1, 5)
    finally:
        s.close()
    _end_client(p)


def test_keepalive_visible_in_ss(echo: EchoServer, procs: list[subprocess.Popen[bytes]]) -> None:
    if shutil.which("ss") is None:
        pytest.skip("no ss")
    p = _live_client(echo.port, "keepalive,keepidle=37,keepintvl=5,keepcnt=3", procs)
    deadline = time.monotonic() + 5
    text = ""
    while time.monotonic() < deadline:
        text = subprocess.run(["ss", "-tnoH", "state", "established", f"dport = :{echo.port}"],
                              capture_output=True, text=True, timeout=5).stdout
        if "keepalive" in text:
            break
        time.sleep(0.05)
    assert "timer:(keepalive," in text, text
    m = re.search(r"timer:\(keepalive,(\d+)(?:\.\d+)?sec", text)
    assert m and 30 <= int(m.group(1)) <= 37, text
    _end_client(p)


@pytest.mark.parametrize(
    "opts",
    ["keepalive,keepidle=10,keepintvl=2,keepcnt=3", "nodelay", "rcvbuf=32768,sndbuf=32768", "linger=2",
     "reuseaddr,reuseport", "setsockopt-int=1:2:1", "setsockopt-bin=1:9:x01000000", "tcp-nodelay,so-reuseaddr"],
)
def test_client_options_transfer_works(echo: EchoServer, opts: str) -> None:
    data = os.urandom(100000)
    r = run("-", f"TCP:127.0.0.1:{echo.port},{opts}", input=data, timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data


@pytest.mark.parametrize("bad", ["setsockopt-int=1:2", "setsockopt-bin=1:9:xZZ", "setsockopt-int=a:b:c",
                                 "keepcnt=abc", "rcvbuf=-5"])
def test_bad_socket_option_values(echo: EchoServer, bad: str) -> None:
    r = run("-", f"TCP:127.0.0.1:{echo.port},{bad}", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr)
    assert echo.peers == [], "connected despite a bad option"


# --- listener socket options --------------------------------------------------------


@pytest.mark.parametrize(
    "opts,level,name,expect",
    [
        ("reuseaddr", SOL, socket.SO_REUSEADDR, 1),
        ("reuseport", SOL, socket.SO_REUSEPORT, 1),
        ("rcvbuf=50000", SOL, socket.SO_RCVBUF, 100000),
    ],
)
def test_listener_socket_option_on_live_socket(procs: list[subprocess.Popen[bytes]], opts: str, level: int,
                                               name: int, expect: int) -> None:
    if not IS_ROOT:
        pytest.skip("reading another process's socket needs root")
    port = free_port()
    p = start(f"TCP4-LISTEN:{port},{opts}", "PIPE")
    procs.append(p)
    wait_tcp(port)
    s = tcp_socket_of(p.pid, listening=True)
    try:
        assert s.getsockopt(level, name) == expect
    finally:
        s.close()
    assert talk(port, b"ok") == b"ok"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err


def test_reuseport_allows_two_listeners(procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    a = start(f"TCP4-LISTEN:{port},reuseport", "PIPE")
    procs.append(a)
    wait_tcp(port)
    b = start(f"TCP4-LISTEN:{port},reuseport", "PIPE")
    procs.append(b)
    time.sleep(0.3)
    assert b.poll() is None, b.stderr.read() if b.stderr else b""
    # without reuseport a third cannot bind
    r = run(f"TCP4-LISTEN:{port}", "PIPE", timeout=10)
    assert_clean_error(r.returncode, r.stderr, "Address already in use")


def test_reuseaddr_binds_over_time_wait(procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP4-LISTEN:{port}", "PIPE")
    procs.append(p)
    wait_tcp(port)
    # the server closes first (echo then EOF after our shutdown): its side enters TIME_WAIT
    assert talk(port, b"tw") == b"tw"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err
    q = start(f"TCP4-LISTEN:{port},reuseaddr", "PIPE")
    procs.append(q)
    wait_tcp(port)
    assert talk(port, b"again") == b"again"
    rc, _o, err = finish(q, timeout=10)
    assert rc == 0, err


@needs_ipv6
def test_ipv6_v6only_refuses_ipv4(procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port(socket.AF_INET6)
    p = start(f"TCP6-LISTEN:{port},ipv6-v6only=1", "PIPE")
    procs.append(p)
    wait_tcp(port, host="::1")
    with pytest.raises(ConnectionRefusedError):
        talk(port, b"v4")
    assert talk(port, b"v6", host="::1", family=socket.AF_INET6) == b"v6"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err


@needs_ipv6
def test_ipv6_v6only_off_accepts_ipv4(procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port(socket.AF_INET6)
    p = start("-d", "-d", f"TCP6-LISTEN:{port},ipv6-v6only=0", "PIPE")
    procs.append(p)
    wait_tcp(port, host="::1")
    assert talk(port, b"mapped") == b"mapped"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err
    assert b"::ffff:127.0.0.1" in err, err


def _listening_in(port: int, table: str) -> bool:
    with open(table) as fh:
        next(fh)
        return any(line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A" for line in fh)


@needs_ipv6
@pytest.mark.parametrize("pf,table", [("ip4", "/proc/net/tcp"), ("ip6", "/proc/net/tcp6"),
                                      ("ipv4", "/proc/net/tcp"), ("ipv6", "/proc/net/tcp6")])
def test_pf_selects_listener_family(procs: list[subprocess.Popen[bytes]], pf: str, table: str) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port},pf={pf}", "PIPE")
    procs.append(p)
    wait_tcp(port)
    assert _listening_in(port, table)
    other = "/proc/net/tcp6" if table == "/proc/net/tcp" else "/proc/net/tcp"
    assert not _listening_in(port, other)
    host, fam = ("::1", socket.AF_INET6) if pf.endswith("6") else ("127.0.0.1", socket.AF_INET)
    assert talk(port, b"pf", host=host, family=fam) == b"pf"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err


def test_pf_ip4_client(echo: EchoServer) -> None:
    r = run("-", f"TCP:localhost:{echo.port},pf=ip4", input=b"pf4\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"pf4\n"


@needs_ipv6
def test_pf_ip6_client_cannot_reach_ipv4_literal(echo: EchoServer) -> None:
    r = run("-", f"TCP:127.0.0.1:{echo.port},pf=ip6", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr)
    assert echo.peers == []


def test_pf_bad_value(echo: EchoServer) -> None:
    r = run("-", f"TCP:127.0.0.1:{echo.port},pf=ipx", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr, "pf")


# --- unlink-early, unlink-close, lockfile, waitlock ---------------------------------


def _stale_socket(path: str) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    s.close()
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_unlink_early_removes_stale_socket(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    path = str(tmp_path / "stale")
    _stale_socket(path)
    ino = os.lstat(path).st_ino
    p = start(f"UNIX-LISTEN:{path},unlink-early", "PIPE")
    procs.append(p)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            talk_unix(path, b"")
            break
        except OSError:
            time.sleep(0.05)
    # the probe above used up the one accept; check the new socket replaced the old one
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err
    assert not os.path.lexists(path) or os.lstat(path).st_ino != ino


def test_unlink_early_then_serves(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    path = str(tmp_path / "stale")
    _stale_socket(path)
    p = start(f"UNIX-LISTEN:{path},unlink-early", "PIPE")
    procs.append(p)
    deadline = time.monotonic() + 10
    got = None
    while time.monotonic() < deadline:
        try:
            got = talk_unix(path, b"after unlink-early\n")
            break
        except (ConnectionRefusedError, FileNotFoundError):
            time.sleep(0.05)
    assert got == b"after unlink-early\n"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err


def test_unlink_early_without_it_stale_socket_is_error(tmp_path: Path) -> None:
    path = str(tmp_path / "stale")
    _stale_socket(path)
    r = run(f"UNIX-LISTEN:{path}", "PIPE", timeout=10)
    assert_clean_error(r.returncode, r.stderr, "exists")
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_unlink_early_refuses_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "regular"
    path.write_bytes(b"do not delete me")
    r = run(f"UNIX-LISTEN:{path},unlink-early", "PIPE", timeout=10)
    assert_clean_error(r.returncode, r.stderr)
    assert path.read_bytes() == b"do not delete me"


def test_unlink_early_refuses_regular_file_for_open(tmp_path: Path) -> None:
    path = tmp_path / "regular"
    path.write_bytes(b"do not delete me")
    r = run("-u", "STDIN", f"OPEN:{path},creat,unlink-early", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr)
    assert path.read_bytes() == b"do not delete me"


@pytest.mark.parametrize("fork", ["", ",fork"])
def test_unlink_early_refuses_live_server(tmp_path: Path, procs: list[subprocess.Popen[bytes]], fork: str) -> None:
    """A live server keeps its path and keeps serving (also a one-shot server: probing must not use it up)."""
    path = str(tmp_path / "live")
    a = start(f"UNIX-LISTEN:{path}{fork}", "PIPE")
    procs.append(a)
    wait_path(path)
    r = run(f"UNIX-LISTEN:{path},unlink-early", "PIPE", timeout=10)
    assert_clean_error(r.returncode, r.stderr)
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    # the first server still owns the path
    assert talk_unix(path, b"still A\n") == b"still A\n"
    if fork:
        assert a.poll() is None
    else:
        rc, _o, err = finish(a, timeout=10)
        assert rc == 0, err


def test_unlink_close_removes_file(tmp_path: Path) -> None:
    f = tmp_path / "gone"
    r = run("-u", "STDIN", f"OPEN:{f},creat,unlink-close", input=b"x", timeout=10)
    assert r.returncode == 0, r.stderr
    assert not f.exists()


def test_unlink_close_off_keeps_unix_socket(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    path = str(tmp_path / "keep")
    p = start(f"UNIX-LISTEN:{path},unlink-close=0", "PIPE")
    procs.append(p)
    wait_path(path)
    assert talk_unix(path, b"k") == b"k"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_lockfile_existing_fails(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.write_bytes(b"someone\n")
    out = tmp_path / "out"
    r = run("-u", "STDIN", f"OPEN:{out},creat,lockfile={lock}", input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr, str(lock))
    assert not out.exists()
    assert lock.read_bytes() == b"someone\n"


def test_lockfile_held_during_run_and_removed(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    lock = tmp_path / "lock"
    out = tmp_path / "out"
    p = start("-u", "STDIN", f"OPEN:{out},creat,lockfile={lock}")
    procs.append(p)
    wait_path(lock)
    assert p.poll() is None
    assert p.stdin is not None
    p.stdin.write(b"locked\n")
    close_stdin(p)
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err
    assert out.read_bytes() == b"locked\n"
    assert not lock.exists()


def test_waitlock_waits_for_release(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    lock = tmp_path / "lock"
    lock.write_bytes(b"held\n")
    out = tmp_path / "out"
    p = start("-u", "STDIN", f"OPEN:{out},creat,waitlock={lock}", stdin=subprocess.DEVNULL)
    procs.append(p)
    time.sleep(0.6)
    assert p.poll() is None, "did not wait for the lock"
    assert not out.exists()
    lock.unlink()
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err
    assert out.exists()
    assert not lock.exists()


# --- option validity ----------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    ["OPEN:/tmp/x,fork", "STDIO,creat", "PIPE,bind=127.0.0.1", "TCP:127.0.0.1:1,range=127.0.0.1/32",
     "UNIX-CONNECT:/tmp/x,nodelay", "TCP:127.0.0.1:1,nosuchopt"],
)
def test_option_not_valid_for_type(spec: str) -> None:
    r = run("-", spec, input=b"x", timeout=10)
    assert_clean_error(r.returncode, r.stderr)
