"""Listener semantics: one peer, fork, max-children, reaping, range, accept-timeout, backlog, env."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import children, finish, free_port, run, start, wait_tcp

# --- a Python backend ----------------------------------------------------------------


class Backend:
    """Threaded TCP server: echo (default) or sleep ``delay`` then send ``reply`` and close."""

    def __init__(self, delay: float = 0.0, reply: bytes | None = None) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = int(self.sock.getsockname()[1])
        self.delay = delay
        self.reply = reply
        self.hold = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                conn, _peer = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        try:
            if self.reply is not None:
                time.sleep(self.delay)
                conn.sendall(self.reply)
                conn.shutdown(socket.SHUT_WR)
                while conn.recv(4096):
                    pass
                return
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


@pytest.fixture
def echo() -> Iterator[Backend]:
    b = Backend()
    yield b
    b.close()


def talk(port: int, data: bytes, timeout: float = 20, bind: tuple[str, int] | None = None) -> bytes:
    with socket.socket() as c:
        c.settimeout(timeout)
        if bind:
            c.bind(bind)
        c.connect(("127.0.0.1", port))
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        out = bytearray()
        while True:
            chunk = c.recv(65536)
            if not chunk:
                return bytes(out)
            out += chunk


def read_all(port: int, timeout: float = 30) -> bytes:
    """Connect and read until the server side closes (the client never half-closes first)."""
    with socket.socket() as c:
        c.settimeout(timeout)
        c.connect(("127.0.0.1", port))
        out = b""
        while chunk := c.recv(65536):
            out += chunk
        return out


# --- /proc helpers ---------------------------------------------------------------------


def state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def baseline_children(pid: int, timeout: float = 5) -> int:
    """Children a forking listener keeps while no peer is connected (0, or idle workers forked
    ahead of demand): the count once it has been steady for 0.3 s."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(children(pid))
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= 0.3:
            break
        time.sleep(0.02)
    assert last <= 8, f"{last} children with no peer connected"
    return last


def settle_children(pid: int, baseline: int = 0, timeout: float = 5) -> list[int]:
    """Wait until ``pid`` is back to ``baseline`` children and none is a zombie (bounded);
    return the children still there when it is not."""
    deadline = time.monotonic() + timeout
    kids = children(pid)
    while time.monotonic() < deadline:
        kids = children(pid)
        if len(kids) <= baseline and not any(state(k) == "Z" for k in kids):
            return []
        time.sleep(0.05)
    return kids


def stderr_text(p: subprocess.Popen[bytes]) -> str:
    if p.poll() is None:
        p.kill()
    _out, err = p.communicate(timeout=10)
    return err.decode(errors="replace")


# --- without fork -------------------------------------------------------------------------


def test_no_fork_serves_one_peer_then_exits(echo: Backend, procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr", f"TCP:127.0.0.1:{echo.port}")
    procs.append(p)
    wait_tcp(port)
    assert talk(port, b"only one\n") == b"only one\n"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


def test_no_fork_second_client_not_served(echo: Backend, procs: list[subprocess.Popen[bytes]]) -> None:
    """While the one peer is being served, the listening socket is closed (no second accept)."""
    port = free_port()
    p = start(f"TCP-LISTEN:{port}", f"TCP:127.0.0.1:{echo.port}")
    procs.append(p)
    wait_tcp(port)
    first = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        first.sendall(b"x")
        assert first.recv(10) == b"x"
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        first.close()
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err


# --- fork ------------------------------------------------------------------------------------


def talk_full(port: int, data: bytes, timeout: float = 30) -> bytes:
    """Send, read the whole echo back while both directions are open, then close (no -t involved)."""
    with socket.socket() as c:
        c.settimeout(timeout)
        c.connect(("127.0.0.1", port))
        c.sendall(data)
        out = bytearray()
        while len(out) < len(data):
            chunk = c.recv(65536)
            if not chunk:
                break
            out += chunk
        c.shutdown(socket.SHUT_WR)
        while chunk := c.recv(65536):
            out += chunk
        return bytes(out)


PAYLOADS = [f"client {i} ".encode() * (1 + i % 50) + os.urandom(i) for i in range(200)]


def test_fork_200_concurrent_clients(echo: Backend, procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr,fork", f"TCP:127.0.0.1:{echo.port}")
    procs.append(p)
    wait_tcp(port)
    base = baseline_children(p.pid)
    payloads = PAYLOADS
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=200) as pool:
        results = list(pool.map(lambda d: talk_full(port, d), payloads))
    took = time.monotonic() - t0
    bad = [i for i, (got, want) in enumerate(zip(results, payloads, strict=True)) if got != want]
    assert not bad, f"{len(bad)} clients got wrong data, e.g. #{bad[0]}"
    assert took < 30
    assert p.poll() is None, "the forking listener stopped"
    left = settle_children(p.pid, base, timeout=5)
    assert left == [], f"children left: {[(k, state(k)) for k in left]}"
    p.terminate()
    p.wait(timeout=10)


def test_fork_200_concurrent_half_closing_clients(echo: Backend, procs: list[subprocess.Popen[bytes]]) -> None:
    """`printf data | socat - TCP:...` style: each client half-closes right after sending.

    Every child then has the default -t 0.5 s to bring the echo back; C socat 1.7.4.4 serves all
    200 in ~0.2 s on this setup.
    """
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr,fork", f"TCP:127.0.0.1:{echo.port}")
    procs.append(p)
    wait_tcp(port)
    base = baseline_children(p.pid)
    with ThreadPoolExecutor(max_workers=200) as pool:
        results = list(pool.map(lambda d: talk(port, d, timeout=30), PAYLOADS))
    bad = [i for i, (got, want) in enumerate(zip(results, PAYLOADS, strict=True)) if got != want]
    empty = sum(1 for i in bad if results[i] == b"")
    assert not bad, f"{len(bad)}/200 clients got wrong data ({empty} got nothing at all), e.g. #{bad[0]}"
    assert settle_children(p.pid, base, timeout=5) == []
    p.terminate()
    p.wait(timeout=10)


def test_fork_200_clients_served_data(procs: list[subprocess.Popen[bytes]]) -> None:
    """The backend speaks first and closes: every one of 200 concurrent clients gets its bytes."""
    reply = b"served " * 1000
    srv = Backend(reply=reply)
    try:
        port = free_port()
        p = start(f"TCP-LISTEN:{port},reuseaddr,fork", f"TCP:127.0.0.1:{srv.port}")
        procs.append(p)
        wait_tcp(port)
        base = baseline_children(p.pid)

        with ThreadPoolExecutor(max_workers=200) as pool:
            results = list(pool.map(lambda i: read_all(port), range(200)))
        assert sum(r == reply for r in results) == 200
        assert settle_children(p.pid, base, timeout=5) == []
        assert p.poll() is None
    finally:
        srv.close()


def test_fork_max_children_bound(procs: list[subprocess.Popen[bytes]]) -> None:
    slow = Backend(delay=0.3, reply=b"ok\n")
    try:
        port = free_port()
        p = start(f"TCP-LISTEN:{port},reuseaddr,fork,max-children=10", f"TCP:127.0.0.1:{slow.port}")
        procs.append(p)
        wait_tcp(port)
        base = baseline_children(p.pid)
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                live = [k for k in children(p.pid) if state(k) not in ("Z", "gone")]
                peak = max(peak, len(live))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            with ThreadPoolExecutor(max_workers=60) as pool:
                results = list(pool.map(lambda i: read_all(port), range(60)))
        finally:
            stop.set()
            sampler.join()
        assert results == [b"ok\n"] * 60
        assert peak <= 10, f"peak live children {peak} > max-children=10"
        assert peak >= 5, f"peak {peak}: the burst never ran children concurrently (test would prove nothing)"
        left = settle_children(p.pid, base, timeout=5)
        assert left == []
    finally:
        slow.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_group_signal_ends_listener_and_idle_workers_quietly(
    sig: signal.Signals, echo: Backend, procs: list[subprocess.Popen[bytes]]
) -> None:
    """Ctrl-C (or a signal to the whole group): only the listener says it is exiting;
    workers waiting for a peer end without a line and nothing is left behind."""
    port = free_port()
    p = start("-d", f"TCP-LISTEN:{port},reuseaddr,fork", f"TCP:127.0.0.1:{echo.port}", start_new_session=True)
    procs.append(p)
    wait_tcp(port)
    assert baseline_children(p.pid) >= 1, "no worker waiting for a peer"
    os.killpg(p.pid, sig)
    code, _out, err = finish(p, timeout=10)
    assert code == 128 + sig, err
    lines = err.decode().splitlines()
    assert [line for line in lines if "exiting on signal" in line] == [
        line for line in lines if f"pysocat[{p.pid}]" in line and f"exiting on signal {int(sig)}" in line
    ], err
    assert all(f"pysocat[{p.pid}]" in line for line in lines), f"a worker spoke: {err!r}"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(p.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("processes of the listener's group still alive")


def test_fork_no_zombies_after_burst(procs: list[subprocess.Popen[bytes]]) -> None:
    quick = Backend(reply=b"bye\n")
    try:
        port = free_port()
        p = start(f"TCP-LISTEN:{port},reuseaddr,fork", f"TCP:127.0.0.1:{quick.port}")
        procs.append(p)
        wait_tcp(port)
        base = baseline_children(p.pid)
        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(lambda i: read_all(port), range(100)))
        assert results == [b"bye\n"] * 100
        time.sleep(1.5)
        kids = children(p.pid)
        zombies = [k for k in kids if state(k) == "Z"]
        assert zombies == [], f"zombie children 1.5 s after the burst: {zombies}"
        assert len(kids) <= base, f"children still alive: {[(k, state(k)) for k in kids]} (baseline {base})"
        assert p.poll() is None
    finally:
        quick.close()


def test_fork_listener_fd_count_stable(echo: Backend, procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr,fork", f"TCP:127.0.0.1:{echo.port}")
    procs.append(p)
    wait_tcp(port)
    base = baseline_children(p.pid)
    # one warm-up connection so lazily created descriptors exist before counting
    assert talk_full(port, b"warm") == b"warm"
    assert settle_children(p.pid, base) == []
    before = fd_count(p.pid)
    with ThreadPoolExecutor(max_workers=25) as pool:
        results = list(pool.map(lambda i: talk_full(port, b"n%d" % i), range(50)))
    assert results == [b"n%d" % i for i in range(50)]
    assert settle_children(p.pid, base) == []
    after = fd_count(p.pid)
    assert after == before, f"listener fds {before} -> {after}"


def test_fork_unix_listener(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    path = str(tmp_path / "f")
    p = start(f"UNIX-LISTEN:{path},fork", "PIPE")
    procs.append(p)
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    base = baseline_children(p.pid)

    def one(i: int) -> bytes:
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(20)
            c.connect(path)
            c.sendall(b"u%d" % i)
            out = b""
            while len(out) < len(b"u%d" % i) and (chunk := c.recv(100)):
                out += chunk
            c.shutdown(socket.SHUT_WR)
            while chunk := c.recv(100):
                out += chunk
            return out

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(40)))
    assert results == [b"u%d" % i for i in range(40)]
    assert p.poll() is None
    assert settle_children(p.pid, base) == []
    p.terminate()
    p.wait(timeout=10)
    # a forking UNIX listener's children must not remove the parent's socket; the parent removes it at exit
    assert not os.path.exists(path)


def test_fork_children_do_not_remove_unix_socket(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    path = str(tmp_path / "f")
    p = start(f"UNIX-LISTEN:{path},fork", "PIPE")
    procs.append(p)
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    base = baseline_children(p.pid)
    for _ in range(3):
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(10)
            c.connect(path)
            c.sendall(b"x")
            assert c.recv(10) == b"x"
            c.shutdown(socket.SHUT_WR)
            assert c.recv(10) == b""
    assert settle_children(p.pid, base) == []
    assert os.path.exists(path), "a child removed the listener's socket file"
    p.terminate()
    p.wait(timeout=10)


# --- range ------------------------------------------------------------------------------------


def _wait_line(p: subprocess.Popen[bytes], needle: bytes, timeout: float = 10) -> bytes:
    """Read stderr lines of ``p`` until one contains ``needle``."""
    assert p.stderr is not None
    got = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(p.stderr.fileno(), False)
    while time.monotonic() < deadline:
        try:
            chunk = os.read(p.stderr.fileno(), 65536)
        except BlockingIOError:
            chunk = None
        if chunk:
            got += chunk
            if needle in got:
                return got
        elif chunk == b"":
            break
        else:
            time.sleep(0.02)
    raise AssertionError(f"{needle!r} not seen in {got!r}")


def test_range_rejects_then_serves_without_fork(echo: Backend, procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr,range=127.0.0.2/32", f"TCP:127.0.0.1:{echo.port}")
    procs.append(p)
    wait_tcp(port)
    with socket.socket() as c:
        c.settimeout(10)
        c.connect(("127.0.0.1", port))
        # a clean EOF (FIN), not a reset and not data
        assert c.recv(100) == b""
    err = _wait_line(p, b"refusing connection from")
    assert b" W refusing connection from AF=2 127.0.0.1:" in err, err
    assert p.poll() is None, "listener exited after a rejection (no fork)"
    assert talk(port, b"from .2\n", bind=("127.0.0.2", 0)) == b"from .2\n"
    rc, _o, _e = finish(p, timeout=10)
    assert rc == 0


def test_range_mask_form(echo: Backend, procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr,range=127.0.0.0:255.255.255.0", f"TCP:127.0.0.1:{echo.port}")
    procs.append(p)
    wait_tcp(port)
    assert talk(port, b"in range\n", bind=("127.0.0.9", 0)) == b"in range\n"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err


def test_range_no_fd_leak_over_50_rejections(echo: Backend, procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr,range=127.0.0.2/32", f"TCP:127.0.0.1:{echo.port}")
    procs.append(p)
    wait_tcp(port)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        assert c.recv(10) == b""
    time.sleep(0.2)  # a refused peer is drained briefly (FIN, not RST) before its fd is closed
    before = fd_count(p.pid)
    for _ in range(50):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            assert c.recv(10) == b""
    time.sleep(0.2)
    after = fd_count(p.pid)
    assert after == before, f"listener fds {before} -> {after} over 50 rejections"
    assert p.poll() is None
    assert talk(port, b"finally\n", bind=("127.0.0.2", 0)) == b"finally\n"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err
    assert err.count(b"refusing connection from") == 51, err


def test_range_with_fork_keeps_listening(echo: Backend, procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr,fork,range=127.0.0.2/32", f"TCP:127.0.0.1:{echo.port}")
    procs.append(p)
    wait_tcp(port)
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            assert c.recv(10) == b""
        assert talk(port, b"ok", bind=("127.0.0.2", 0)) == b"ok"
    assert p.poll() is None
    p.terminate()
    p.wait(timeout=10)


def test_range_bad_value() -> None:
    port = free_port()
    r = run(f"TCP-LISTEN:{port},range=notanaddress", "PIPE", timeout=10)
    assert r.returncode == 1
    assert b" E " in r.stderr and b"Traceback" not in r.stderr


# --- accept-timeout --------------------------------------------------------------------------


@pytest.mark.parametrize("opt", ["accept-timeout", "listen-timeout"])
def test_accept_timeout(opt: str) -> None:
    port = free_port()
    t0 = time.monotonic()
    r = run(f"TCP-LISTEN:{port},{opt}=0.5", "PIPE", timeout=10)
    took = time.monotonic() - t0
    # as socat: a W line and exit 0 (the option's purpose is to stop waiting; socat's test suite expects 0)
    assert r.returncode == 0, r.stderr
    assert b" W accept: Connection timed out" in r.stderr, r.stderr
    assert b" E " not in r.stderr and b"Traceback" not in r.stderr
    assert 0.4 <= took <= 5, took


def test_accept_timeout_not_hit_when_peer_comes(echo: Backend, procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port},accept-timeout=5", f"TCP:127.0.0.1:{echo.port}")
    procs.append(p)
    wait_tcp(port)
    assert talk(port, b"in time") == b"in time"
    rc, _o, err = finish(p, timeout=10)
    assert rc == 0, err


# --- backlog ---------------------------------------------------------------------------------


def _send_q(port: int) -> int:
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, timeout=5).stdout
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert lines, f"ss shows no listener on {port}"
    return int(lines[0].split()[2])


@pytest.mark.skipif(shutil.which("ss") is None, reason="no ss")
def test_backlog_default_is_somaxconn(procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port}", "PIPE")
    procs.append(p)
    wait_tcp(port)
    with open("/proc/sys/net/core/somaxconn") as fh:
        somaxconn = int(fh.read())
    assert _send_q(port) == min(socket.SOMAXCONN, somaxconn)
    assert _send_q(port) > 5


@pytest.mark.skipif(shutil.which("ss") is None, reason="no ss")
def test_backlog_option(procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port},backlog=7", "PIPE")
    procs.append(p)
    wait_tcp(port)
    assert _send_q(port) == 7


# --- environment of forked children --------------------------------------------------------
#
# socat exports the peer variables to the programs it starts; a SYSTEM child prints them.

_PRINT_ENV = "SYSTEM:env"


def _child_env(*args: str) -> tuple[dict[str, str], int, int]:
    """Run a forking listener whose second address prints its environment; connect from 127.0.0.3."""
    port = free_port()
    p = start(*[a.replace("PORT", str(port)) for a in args])
    try:
        wait_tcp(port)
        with socket.socket() as c:
            c.settimeout(10)
            c.bind(("127.0.0.3", 0))
            c.connect(("127.0.0.1", port))
            cport = c.getsockname()[1]
            data = b""
            while chunk := c.recv(65536):
                data += chunk
    finally:
        p.terminate()
        p.wait(timeout=10)
    env = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
    return env, cport, port


def test_children_see_socat_peer_and_sock_vars() -> None:
    env, cport, port = _child_env("TCP-LISTEN:PORT,reuseaddr,fork", _PRINT_ENV)
    assert env.get("SOCAT_PEERADDR") == "127.0.0.3", env
    assert env.get("SOCAT_PEERPORT") == str(cport), env
    assert env.get("SOCAT_SOCKADDR") == "127.0.0.1", env
    assert env.get("SOCAT_SOCKPORT") == str(port), env
    assert int(env.get("SOCAT_PPID", "0")) not in (0, os.getpid()), env


def test_lp_prefix_sets_foo_vars_too() -> None:
    env, cport, port = _child_env("-lpfoo", "TCP-LISTEN:PORT,reuseaddr,fork", _PRINT_ENV)
    assert env.get("FOO_PEERADDR") == "127.0.0.3", env
    assert env.get("FOO_PEERPORT") == str(cport), env
    assert env.get("FOO_SOCKPORT") == str(port), env
    assert env.get("SOCAT_PEERADDR") == "127.0.0.3", env


def test_second_peer_gets_its_own_variables() -> None:
    """Each forked child exports its own peer: two connections, two different peer ports."""
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr,fork", "SYSTEM:echo $SOCAT_PEERPORT")
    try:
        wait_tcp(port)
        seen = []
        for _ in range(2):
            with socket.socket() as c:
                c.settimeout(10)
                c.connect(("127.0.0.1", port))
                seen.append((c.getsockname()[1], c.makefile("rb").read().strip().decode()))
    finally:
        p.terminate()
        p.wait(timeout=10)
    assert [str(cport) for cport, _ in seen] == [printed for _, printed in seen]
