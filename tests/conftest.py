"""Shared helpers: run the real CLI, pick free ports, wait for listeners."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "pysocat"
PYSOCAT = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "pysocat"]


def _own_ports() -> range:
    """This test process's share of the ports below the kernel's ephemeral range.

    A port from bind(port 0) lies in the ephemeral range, where every connect() also picks
    its local port: under load a client connection (or its TIME_WAIT) could take it before
    the pysocat under test binds it. Below that range only explicit binds land, and each
    xdist worker gets a slice of its own.
    """
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            ephemeral = int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
    index = int(worker) if worker.isdigit() else 0
    span = (ephemeral - PORT_BASE) // max(workers, 1)
    return range(PORT_BASE + index * span, PORT_BASE + (index + 1) * span)


PORT_BASE = 10000
_PORTS = _own_ports()
_next_port = itertools.count(int.from_bytes(os.urandom(2), "big"))  # where in the slice to go on


def free_port(family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM) -> int:
    """A port that was free a moment ago on loopback, outside the ephemeral range.

    Ports are handed out in turn, so a test does not get the one the previous test
    left in TIME_WAIT.
    """
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    for _ in range(len(_PORTS)):
        port = _PORTS[next(_next_port) % len(_PORTS)]
        with socket.socket(family, kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket(family, kind) as s:  # no room below the ephemeral range here
        s.bind((host, 0))
        return int(s.getsockname()[1])


class OneShot:
    """A TCP server on loopback that hands its one connection to ``handler`` in a thread.

    ``got`` and ``request`` are for the handler to record what it received.
    """

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.lst = socket.socket()
        self.lst.bind(("127.0.0.1", 0))
        self.lst.listen(1)
        self.port = self.lst.getsockname()[1]
        self.handler = handler
        self.got: list[bytes] = []
        self.request = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.lst.settimeout(20)
        try:
            conn, _ = self.lst.accept()
        except OSError:
            return
        finally:
            self.lst.close()
        conn.settimeout(10)
        with conn:
            try:
                self.handler(conn)
            except OSError:
                pass

    def join(self) -> None:
        self.thread.join(10)


def echo(conn: socket.socket) -> None:
    """Echo until EOF, then half-close (a OneShot handler)."""
    while True:
        data = conn.recv(65536)
        if not data:
            conn.shutdown(socket.SHUT_WR)
            return
        conn.sendall(data)


def run(*args: str, input: bytes | None = None, timeout: float = 20, **kw: object) -> subprocess.CompletedProcess[bytes]:
    """Run pysocat to completion and return the CompletedProcess (stdout/stderr bytes)."""
    return subprocess.run(
        [*PYSOCAT, *args], input=input, capture_output=True, timeout=timeout, **kw  # type: ignore[arg-type]
    )


def start(*args: str, **kw: object) -> subprocess.Popen[bytes]:
    """Start pysocat in the background (stdin/stdout/stderr pipes unless given)."""
    kw.setdefault("stdin", subprocess.PIPE)
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    if not kw.get("start_new_session"):
        kw.setdefault("process_group", 0)  # its own group: teardown ends the children it forked too
    return subprocess.Popen([*PYSOCAT, *args], **kw)  # type: ignore[call-overload]


def wait_tcp(port: int, host: str = "127.0.0.1", timeout: float = 10) -> None:
    """Poll until something accepts on host:port (bounded)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _listening_tcp(port, family):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {host}:{port}")


def wait_udp(port: int, timeout: float = 10) -> None:
    """Poll /proc/net/udp* until something is bound to ``port`` (bounded)."""
    deadline = time.monotonic() + timeout
    hexport = f":{port:04X}"
    while time.monotonic() < deadline:
        for name in ("/proc/net/udp", "/proc/net/udp6"):
            with open(name) as fh:
                if any(line.split()[1].endswith(hexport) for line in list(fh)[1:]):
                    return
        time.sleep(0.02)
    raise TimeoutError(f"nothing bound to UDP port {port}")


def _listening_tcp(port: int, family: int) -> bool:
    """Check /proc/net/tcp* for a LISTEN socket on ``port`` without connecting to it."""
    files = ["/proc/net/tcp", "/proc/net/tcp6"]
    hexport = f"{port:04X}"
    for name in files:
        try:
            with open(name) as fh:
                next(fh)
                for line in fh:
                    fields = line.split()
                    if fields[1].endswith(":" + hexport) and fields[3] == "0A":
                        return True
        except OSError:
            continue
    return False


def children(pid: int) -> list[int]:
    """Child pids of ``pid`` (any of its threads), zombies included."""
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                kids += [int(x) for x in fh.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return kids


def wait_path(path: str | Path, timeout: float = 10) -> None:
    """Poll until ``path`` exists (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        time.sleep(0.02)
    raise TimeoutError(f"{path} did not appear")


def finish(proc: subprocess.Popen[bytes], timeout: float = 20) -> tuple[int, bytes, bytes]:
    """Wait for a started process; kill it if it overruns. Returns (rc, out, err)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise
    return proc.returncode, out, err


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test started; killed at the end if still running."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        try:  # the relay and whatever it forked (a forking listener's children outlive it by design)
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if p.poll() is None:
            p.kill()
        p.wait(timeout=5)


@pytest.fixture(params=["splice", "userspace"] if os.environ.get("PYSOCAT_BOTH_PATHS") else ["default"])
def engine_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on each transfer path (the zero-copy path is chosen by the engine)."""
    if request.param == "userspace":
        monkeypatch.setenv("PYSOCAT_NO_SPLICE", "1")
    return str(request.param)
