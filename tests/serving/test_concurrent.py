"""``concurrent`` listeners through the real CLI: every peer served in one process, no fork.

What a user sees: many clients at once, each byte-exact, and one pysocat process
with no child; one program per session for EXEC/SYSTEM; ``max-children`` holding
back the next peer; a failing session ending alone while the listener goes on;
and options that cannot work in one shared process refused before anything listens.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
from conftest import children, finish, free_port, run, start, wait_tcp

# --- helpers ---------------------------------------------------------------------------------


class EchoServer:
    """Threaded TCP echo server on loopback (one thread per connection)."""

    def __init__(self, port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(1024)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            try:
                conn, _peer = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _serve(conn: socket.socket) -> None:
        conn.settimeout(60)
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    srv = EchoServer()
    yield srv
    srv.close()


def threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line")


def wait_for(predicate: Callable[[], object], timeout: float = 10, what: str = "condition") -> None:
    """Poll ``predicate()`` until true (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise TimeoutError(f"{what} not met within {timeout} s")


def wait_unix_listening(path: Path, timeout: float = 10) -> None:
    """Poll /proc/net/unix until a socket bound to ``path`` listens (bounded; connects to nothing).

    The file appears at bind(), a moment before listen(): a connect in between is refused.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/unix") as fh:
            next(fh)
            for line in fh:
                fields = line.split()
                # Num RefCount Protocol Flags Type St Inode Path; Flags has __SO_ACCEPTCON (0x10000)
                if len(fields) >= 8 and fields[7] == str(path) and int(fields[3], 16) & 0x10000:
                    return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {path}")


def e_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.search(r"\] E ", line)]


def log_text(path: Path) -> str:
    return path.read_bytes().decode(errors="replace")


def exchange(sock: socket.socket, data: bytes) -> tuple[str, int]:
    """Send ``data`` from a second thread while reading the echo; then half-close and read to EOF.

    Returns (sha256 of everything read, byte count). The whole echo is read before the
    half-close, so the ``-t`` grace period after EOF plays no part.
    """
    error: list[BaseException] = []

    def send() -> None:
        try:
            sock.sendall(data)
        except OSError as exc:
            error.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    digest = hashlib.sha256()
    got = 0
    try:
        while got < len(data):
            chunk = sock.recv(262144)
            if not chunk:
                break
            digest.update(chunk)
            got += len(chunk)
    finally:
        sender.join(60)
    assert not error, error
    sock.shutdown(socket.SHUT_WR)
    while chunk := sock.recv(65536):
        digest.update(chunk)
        got += len(chunk)
    return digest.hexdigest(), got


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def read_to_eof(sock: socket.socket) -> bytes:
    out = bytearray()
    while chunk := sock.recv(65536):
        out += chunk
    return bytes(out)


@pytest.fixture
def logfile(tmp_path: Path) -> Iterator[IO[bytes]]:
    """A file for a relay's stderr (a pipe nobody reads could fill and block a chatty relay)."""
    with open(tmp_path / "relay.log", "wb") as fh:
        yield fh


# --- many peers, one process ----------------------------------------------------------------


def _payload(i: int) -> bytes:
    size = (1 << 20) + i * 997 if i % 25 == 0 else 1 + (i * 7919) % 40000  # every 25th over 1 MiB
    return random.Random(i).randbytes(size)


#: parallel clients in the burst test: past ~170 sessions the relay's descriptors pass 1023
BURST = 200


@pytest.mark.timeout(120)
def test_parallel_clients_byte_exact_in_one_process(
    echo_server: EchoServer, procs: list[subprocess.Popen[bytes]], logfile: IO[bytes]
) -> None:
    burst(BURST, echo_server, procs, logfile)


def burst(n: int, echo_server: EchoServer, procs: list[subprocess.Popen[bytes]], logfile: IO[bytes]) -> None:
    """``n`` clients connected at once, then all sending (every 25th over 1 MiB): each gets its
    own bytes back, the relay has no child and no thread per peer, and one pid logs every line."""
    port = free_port()
    p = start("-d", "-d", f"TCP-LISTEN:{port},reuseaddr,concurrent", f"TCP:127.0.0.1:{echo_server.port}",
              stderr=logfile)
    procs.append(p)
    wait_tcp(port)
    payloads = [_payload(i) for i in range(n)]
    want = [(hashlib.sha256(d).hexdigest(), len(d)) for d in payloads]
    results: list[tuple[str, int] | BaseException | None] = [None] * n
    all_connected = threading.Barrier(n + 1, timeout=60)
    peak = {"children": 0, "threads": 0}
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            try:
                peak["children"] = max(peak["children"], len(children(p.pid)))
                peak["threads"] = max(peak["threads"], threads(p.pid))
            except OSError:
                return
            time.sleep(0.005)

    def client(i: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as c:
                all_connected.wait()  # every client holds a connection before any sends
                results[i] = exchange(c, payloads[i])
        except BaseException as exc:  # noqa: BLE001  (reported below)
            results[i] = exc

    sampler = threading.Thread(target=sample)
    sampler.start()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    try:
        for w in workers:
            w.start()
        all_connected.wait()
        for w in workers:
            w.join(90)
    finally:
        sampling.set()
        sampler.join(5)
    failed = [(i, r) for i, r in enumerate(results) if r != want[i]]
    assert not failed, f"{len(failed)}/{n} clients got wrong data, e.g. #{failed[0][0]}: {failed[0][1]!r}"
    assert echo_server.accepted == n
    assert peak["children"] == 0, "the concurrent listener started a child process"
    assert peak["threads"] < 50, f"the relay ran {peak['threads']} threads: one per peer?"
    assert p.poll() is None, "the listener ended"
    assert children(p.pid) == []
    p.terminate()
    rc, _out, _err = finish(p, timeout=10)
    log = log_text(Path(logfile.name))
    accepted = [line for line in log.splitlines() if "accepting connection from" in line]
    assert len(accepted) == n, log[-2000:]
    pids = set(re.findall(r"pysocat\[(\d+)\]", log))
    assert pids == {str(p.pid)}, f"log lines from other processes: {pids}"
    assert e_lines(log) == [], log[-2000:]


# --- EXEC/SYSTEM: one program per session -------------------------------------------------------


@pytest.mark.timeout(60)
def test_system_per_session_sees_its_own_peer(procs: list[subprocess.Popen[bytes]], logfile: IO[bytes]) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr,concurrent", "SYSTEM:echo $SOCAT_PEERPORT; cat", stderr=logfile)
    procs.append(p)
    wait_tcp(port)
    clients = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(8)]
    try:
        # all eight sessions are open at once; each program first names its own peer's port
        firsts = [recv_exactly(c, len(f"{c.getsockname()[1]}\n")) for c in clients]
        assert firsts == [f"{c.getsockname()[1]}\n".encode() for c in clients]
        assert len(set(firsts)) == 8
        for i, c in enumerate(clients):
            c.sendall(f"hello from client {i}\n".encode())
        for i, c in enumerate(clients):
            assert recv_exactly(c, len(f"hello from client {i}\n")) == f"hello from client {i}\n".encode()
        assert len(children(p.pid)) == 8, "one program per open session"
        for c in clients:
            c.shutdown(socket.SHUT_WR)
        assert [read_to_eof(c) for c in clients] == [b""] * 8
    finally:
        for c in clients:
            c.close()
    wait_for(lambda: children(p.pid) == [], what="programs ended and reaped")
    assert p.poll() is None
    p.terminate()
    finish(p, timeout=10)
    assert e_lines(log_text(Path(logfile.name))) == []


@pytest.mark.timeout(60)
@pytest.mark.skipif(os.geteuid() != 0, reason="su= needs root")
def test_su_for_the_started_program_is_allowed(procs: list[subprocess.Popen[bytes]]) -> None:
    """``su`` on EXEC/SYSTEM acts on the started program, not on pysocat: allowed with concurrent."""
    import pwd

    nobody = pwd.getpwnam("nobody").pw_uid
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr,concurrent", "SYSTEM:id -u,su=nobody")
    procs.append(p)
    wait_tcp(port)
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
            assert read_to_eof(c) == f"{nobody}\n".encode()
    with open(f"/proc/{p.pid}/status") as fh:
        uids = next(line for line in fh if line.startswith("Uid:")).split()[1:]
    assert uids == ["0"] * 4, "pysocat itself changed user"
    p.terminate()
    finish(p, timeout=10)


# --- max-children ------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_max_children_holds_back_the_third_client(
    echo_server: EchoServer, procs: list[subprocess.Popen[bytes]], logfile: IO[bytes]
) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr,concurrent,max-children=2", f"TCP:127.0.0.1:{echo_server.port}",
              stderr=logfile)
    procs.append(p)
    wait_tcp(port)
    first = socket.create_connection(("127.0.0.1", port), timeout=20)
    second = socket.create_connection(("127.0.0.1", port), timeout=20)
    third = socket.create_connection(("127.0.0.1", port), timeout=20)  # the kernel queues it
    try:
        for c, data in ((first, b"one\n"), (second, b"two\n")):
            c.sendall(data)
            assert recv_exactly(c, len(data)) == data
        third.sendall(b"three\n")
        third.settimeout(1.5)
        with pytest.raises(TimeoutError):  # two sessions open: the third is not served
            third.recv(100)
        assert echo_server.accepted == 2
        second.sendall(b"still two\n")  # the open sessions are unaffected
        second.settimeout(20)
        assert recv_exactly(second, 10) == b"still two\n"
        first.shutdown(socket.SHUT_WR)
        first.settimeout(20)
        assert read_to_eof(first) == b""  # the first session ends...
        third.settimeout(20)
        assert recv_exactly(third, 6) == b"three\n"  # ...and the third is served
        assert echo_server.accepted == 3
    finally:
        for c in (first, second, third):
            c.close()
    assert p.poll() is None
    p.terminate()
    finish(p, timeout=10)


# --- a failing session ends alone ----------------------------------------------------------------


@pytest.mark.timeout(60)
def test_refused_backend_ends_one_session_and_listener_goes_on(
    procs: list[subprocess.Popen[bytes]], logfile: IO[bytes]
) -> None:
    port, backend_port = free_port(), free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr,concurrent", f"TCP:127.0.0.1:{backend_port}", stderr=logfile)
    procs.append(p)
    wait_tcp(port)
    log = Path(logfile.name)
    with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
        try:
            assert read_to_eof(c) == b""  # nothing to connect to: the peer is closed
        except ConnectionResetError:
            pass
    wait_for(lambda: e_lines(log_text(log)), what="an E line")
    errors = e_lines(log_text(log))
    assert len(errors) == 1 and "Connection refused" in errors[0], errors
    assert p.poll() is None, "the listener ended with its failing session"
    backend = EchoServer(backend_port)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
            assert exchange(c, b"now it is up\n") == (hashlib.sha256(b"now it is up\n").hexdigest(), 13)
    finally:
        backend.close()
    assert p.poll() is None
    p.terminate()
    finish(p, timeout=10)
    assert len(e_lines(log_text(log))) == 1


@pytest.mark.timeout(60)
def test_idle_timeout_ends_only_the_idle_session(procs: list[subprocess.Popen[bytes]]) -> None:
    """``-T`` is per session: the idle peer is closed, a busy one and the listener go on."""
    port = free_port()
    p = start("-T", "1", f"TCP-LISTEN:{port},reuseaddr,concurrent", "PIPE")
    procs.append(p)
    wait_tcp(port)
    idle = socket.create_connection(("127.0.0.1", port), timeout=20)
    busy = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        idle.sendall(b"i")
        assert idle.recv(10) == b"i"
        quiet_since = time.monotonic()
        ended = threading.Event()
        ended_at = [0.0]

        def watch_idle() -> None:
            try:
                if idle.recv(10) != b"":
                    return
            except OSError:
                pass
            ended_at[0] = time.monotonic()
            ended.set()

        watcher = threading.Thread(target=watch_idle)
        watcher.start()
        deadline = time.monotonic() + 10
        while not ended.is_set() and time.monotonic() < deadline:  # keep the busy one busy
            busy.sendall(b"b")
            assert busy.recv(10) == b"b"
            time.sleep(0.05)
        watcher.join(10)
        assert ended.is_set(), "the idle session was never closed"
        assert ended_at[0] - quiet_since >= 0.9, "the idle session ended before it was idle for -T 1"
        busy.sendall(b"still busy")
        assert recv_exactly(busy, 10) == b"still busy"
    finally:
        idle.close()
        busy.close()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as late:
        late.sendall(b"late")
        assert recv_exactly(late, 4) == b"late"
    assert p.poll() is None
    p.terminate()
    finish(p, timeout=10)


# --- other listeners -------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_unix_listen_concurrent(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    path = tmp_path / "relay.sock"
    p = start(f"UNIX-LISTEN:{path},concurrent", "PIPE")  # every session gets its own pipe
    procs.append(p)
    wait_unix_listening(path)
    clients = []
    try:
        for _ in range(6):
            c = socket.socket(socket.AF_UNIX)
            c.settimeout(20)
            c.connect(str(path))
            clients.append(c)
        for i, c in enumerate(clients):  # all six open at once, answered in reverse order
            c.sendall(f"unix {i}\n".encode() * 1000)
        for i, c in reversed(list(enumerate(clients))):
            assert recv_exactly(c, 7 * 1000) == f"unix {i}\n".encode() * 1000
        assert children(p.pid) == []
    finally:
        for c in clients:
            c.close()
    assert p.poll() is None
    p.terminate()
    finish(p, timeout=10)
    assert not path.exists(), "the socket file was left behind"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def server_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1 (it is its own CA), key and certificate in one file."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "srv.key", "-out", "srv.crt", "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", cwd=d)
    (d / "srv.pem").write_bytes((d / "srv.crt").read_bytes() + (d / "srv.key").read_bytes())
    return d / "srv.pem"


@pytest.mark.timeout(60)
def test_openssl_listen_concurrent(server_pem: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"OPENSSL-LISTEN:{port},reuseaddr,concurrent,cert={server_pem},verify=0", "PIPE")
    procs.append(p)
    wait_tcp(port)
    ctx = ssl.create_default_context(cafile=str(server_pem))
    clients = []
    try:
        for _ in range(5):
            raw = socket.create_connection(("127.0.0.1", port), timeout=20)
            clients.append(ctx.wrap_socket(raw, server_hostname="127.0.0.1"))
        for i, c in enumerate(clients):
            c.sendall(f"tls {i}\n".encode())
        for i, c in enumerate(clients):
            assert recv_exactly(c, 6) == f"tls {i}\n".encode()
        assert children(p.pid) == []
    finally:
        for c in clients:
            c.close()
    assert p.poll() is None
    p.terminate()
    finish(p, timeout=10)


# --- refused before anything listens -----------------------------------------------------------------

REFUSED = [
    pytest.param("TCP-LISTEN:{port},reuseaddr,concurrent,fork", "PIPE", "fork", id="fork"),
    pytest.param("TCP-LISTEN:{port},reuseaddr,concurrent,su=nobody", "PIPE", "su", id="su"),
    pytest.param("TCP-LISTEN:{port},reuseaddr,concurrent,setuid=nobody", "PIPE", "setuid", id="setuid"),
    pytest.param("TCP-LISTEN:{port},reuseaddr,concurrent,chroot=/", "PIPE", "chroot", id="chroot"),
    pytest.param("UNIX-LISTEN:{path},concurrent,umask=022", "PIPE", "umask", id="umask-listener"),
    pytest.param("TCP-LISTEN:{port},reuseaddr,concurrent", "PIPE,umask=022", "umask", id="umask-second"),
    pytest.param("TCP-LISTEN:{port},reuseaddr,concurrent", "SYSTEM:cat,sigint", "sigint", id="sigint"),
    pytest.param("TCP:127.0.0.1:{port},concurrent", "PIPE", "concurrent", id="not-listening"),
    pytest.param("PIPE", "TCP-LISTEN:{port},reuseaddr,concurrent", "concurrent", id="second-address"),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("first", "second", "named"), REFUSED)
def test_refused_at_parse_time(first: str, second: str, named: str, tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "never.sock"
    first, second = (a.format(port=port, path=path) for a in (first, second))
    res = run(first, second, timeout=10)
    assert res.returncode == 1, res.stderr
    errors = e_lines(res.stderr.decode(errors="replace"))
    assert len(errors) == 1, res.stderr
    assert named in errors[0] and "concurrent" in errors[0], errors[0]
    assert res.stdout == b""
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    assert not path.exists()


@pytest.mark.timeout(30)
def test_refused_with_debug_log_shows_no_listening(tmp_path: Path) -> None:
    """The refusal comes before opening: even at -d -d there is no "listening on" line."""
    port = free_port()
    res = run("-d", "-d", f"TCP-LISTEN:{port},reuseaddr,concurrent,fork", "PIPE", timeout=10)
    assert res.returncode == 1
    text = res.stderr.decode(errors="replace")
    assert "listening on" not in text and "opening address" not in text, text
    assert len(e_lines(text)) == 1, text
