"""``pysocat.Relay`` in-process: relays as a Python program sees them, on real loopback sockets.

A relay runs in a background thread of the test process, so these tests also check
what must not change in the host: its descriptors (0-2 above all), threads, signal
handlers, cwd, umask and environment.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pwd
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import OneShot, free_port

import pysocat

pytestmark = pytest.mark.timeout(60)

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGPIPE, signal.SIGQUIT]


# --- helpers ---------------------------------------------------------------------------------


def roundtrip(port: int, data: bytes, timeout: float = 20) -> bytes:
    """Connect, send, read the echo of ``data`` back, close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        return exchange(c, data)


def exchange(c: socket.socket, data: bytes) -> bytes:
    """Send ``data`` from a helper thread while reading as many bytes back."""
    sender = threading.Thread(target=c.sendall, args=(data,))
    sender.start()
    out = bytearray()
    try:
        while len(out) < len(data):
            chunk = c.recv(262144)
            if not chunk:
                break
            out += chunk
    finally:
        sender.join(30)
    return bytes(out)


def refused(port: int) -> bool:
    """Whether a connect to 127.0.0.1:port is refused (nothing listens there)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return False
    except ConnectionRefusedError:
        return True


def wait_for(predicate: Callable[[], object], timeout: float = 10, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise TimeoutError(f"{what} not met within {timeout} s")


def fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def identity(fd: int) -> tuple[int, int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino, stat.S_IFMT(st.st_mode)


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def host_state() -> dict[str, object]:
    """What a relay must leave as it found it in the host process."""
    return {
        "fds": fds(),
        "threads": threading.active_count(),
        "signals": {sig: signal.getsignal(sig) for sig in SIGNALS},
        "std": [identity(fd) for fd in (0, 1, 2)],
        "blocking": [os.get_blocking(fd) for fd in (0, 1, 2)],
        "cwd": os.getcwd(),
        "umask": current_umask(),
        "environ": dict(os.environ),
    }


def own_children() -> list[int]:
    kids: list[int] = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/children") as fh:
                kids += [int(x) for x in fh.read().split()]
        except FileNotFoundError:  # a thread that just ended
            pass
    return kids


@pytest.fixture
def echo_relay() -> Iterator[pysocat.Relay]:
    """An echo service: every session its own pipe."""
    with pysocat.Relay("TCP-LISTEN:0,reuseaddr,concurrent", "PIPE") as relay:
        yield relay


# --- running relays --------------------------------------------------------------------------


def test_two_relays_at_once(echo_relay: pysocat.Relay) -> None:
    assert echo_relay.running and echo_relay.port
    front = pysocat.Relay("TCP-LISTEN:0,reuseaddr,concurrent", f"TCP:127.0.0.1:{echo_relay.port}")
    with front:
        assert front.port != echo_relay.port
        data = os.urandom(300_000)
        assert roundtrip(front.port or 0, data) == data  # through both relays
        assert roundtrip(echo_relay.port, b"direct\n") == b"direct\n"
        wait_for(lambda: front.stats()["open_sessions"] == 0, what="the front session to end")
        assert front.stats()["bytes_left_to_right"] == len(data)
        assert front.stats()["bytes_right_to_left"] == len(data)
        assert echo_relay.running
    assert not front.running
    assert echo_relay.running, "stopping one relay stopped the other"
    assert roundtrip(echo_relay.port, b"still here\n") == b"still here\n"


def test_fifty_sequential_relays_leave_the_host_as_it_was() -> None:
    before = host_state()
    for i in range(50):
        relay = pysocat.Relay("TCP-LISTEN:0,reuseaddr,concurrent", "PIPE")
        relay.start()
        port = relay.port
        assert port
        if i == 0:
            during = host_state()
            assert during["signals"] == before["signals"], "a running relay changed signal handlers"
            assert during["std"] == before["std"] and during["cwd"] == before["cwd"]
            assert during["umask"] == before["umask"] and during["environ"] == before["environ"]
        c = socket.create_connection(("127.0.0.1", port), timeout=20)
        try:
            assert exchange(c, f"relay {i}\n".encode()) == f"relay {i}\n".encode()
            if i % 2:  # every other relay is stopped with its session still open
                assert relay.stop(10) is not None
        finally:
            c.close()
        if not i % 2:
            assert relay.stop(10) is not None
        assert not relay.running
    after = host_state()
    assert after["fds"] == before["fds"], f"descriptors left: {sorted(after['fds'] - before['fds'])}"  # type: ignore[operator]
    assert after == before


def test_relay_started_from_a_worker_thread() -> None:
    outcome: dict[str, object] = {}

    def worker() -> None:
        try:
            with pysocat.Relay("TCP-LISTEN:0,reuseaddr,concurrent", "SYSTEM:read l; echo got $l") as relay:
                with socket.create_connection(("127.0.0.1", relay.port or 0), timeout=20) as c:
                    c.sendall(b"from a thread\n")
                    got = bytearray()
                    while chunk := c.recv(100):  # the program answers and ends
                        got += chunk
                    outcome["echo"] = bytes(got)
            outcome["status"] = relay.stop(10)
        except BaseException as exc:  # noqa: BLE001  (checked below, in the test's thread)
            outcome["error"] = exc

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGCHLD)
    t = threading.Thread(target=worker)
    t.start()
    t.join(30)
    assert not t.is_alive()
    assert "error" not in outcome, outcome
    assert outcome["echo"] == b"got from a thread\n"
    assert isinstance(outcome["status"], int)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGCHLD)) == before
    wait_for(lambda: own_children() == [], what="the started program to be reaped")


def test_fork_in_a_library_relay_never_forks_the_host() -> None:
    """``fork`` in the library serves every peer in the relay's thread, as ``concurrent``."""
    with pysocat.Relay("TCP-LISTEN:0,reuseaddr,fork", "PIPE") as relay:
        clients = [socket.create_connection(("127.0.0.1", relay.port or 0), timeout=20) for _ in range(3)]
        try:
            for i, c in enumerate(clients):  # three at once
                assert exchange(c, f"peer {i}\n".encode()) == f"peer {i}\n".encode()
            assert relay.stats()["open_sessions"] == 3
            assert own_children() == []
        finally:
            for c in clients:
                c.close()
        assert roundtrip(relay.port or 0, b"and a fourth\n") == b"and a fourth\n"


def test_listener_without_fork_serves_one_peer_and_ends() -> None:
    relay = pysocat.Relay("TCP-LISTEN:0,reuseaddr", "PIPE").start()
    try:
        port = relay.port
        assert port
        with pytest.raises(TimeoutError):
            relay.wait(0.2)  # no peer yet
        with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
            assert exchange(c, b"the only one\n") == b"the only one\n"
            c.shutdown(socket.SHUT_WR)
            assert c.recv(10) == b""
        assert relay.wait(20) == 0
        assert refused(port)
    finally:
        relay.stop(5)


def test_context_manager_stops_and_closes_the_port() -> None:
    with pysocat.Relay("TCP-LISTEN:0,reuseaddr,concurrent", "PIPE") as relay:
        port = relay.port
        assert port and relay.running
        assert relay.address[1] == port
        assert roundtrip(port, b"x") == b"x"
    assert not relay.running
    assert refused(port)


def test_environment_of_started_programs_stays_theirs() -> None:
    """SOCAT_PEERPORT reaches each session's program; os.environ of the host gets nothing."""
    before = dict(os.environ)
    with pysocat.Relay("TCP-LISTEN:0,reuseaddr,concurrent", "SYSTEM:echo $SOCAT_PEERPORT") as relay:
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", relay.port or 0), timeout=20) as c:
                got = bytearray()
                while chunk := c.recv(100):
                    got += chunk
                assert bytes(got) == f"{c.getsockname()[1]}\n".encode()
            assert dict(os.environ) == before


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("TCP-LISTEN:0,nosuchoption", "PIPE"), "nosuchoption"),
        (("TCP:127.0.0.1", "PIPE"), "wrong number of parameters"),
        (("NOSUCHTYPE:1", "PIPE"), "NOSUCHTYPE"),
        (("PIPE",), "2 addresses"),
        (("TCP-LISTEN:0,concurrent,fork", "PIPE"), "fork"),
        (("TCP-LISTEN:0,concurrent", "PIPE,umask=022"), "umask"),
    ],
)
def test_address_error_at_construction(argv: tuple[str, ...], says: str) -> None:
    threads = threading.active_count()
    with pytest.raises(pysocat.AddressError) as info:
        pysocat.Relay(*argv)
    assert says.lower() in str(info.value).lower()
    assert isinstance(info.value, pysocat.Error)  # one family: except pysocat.Error catches both
    assert threading.active_count() == threads


def test_address_error_opens_nothing(tmp_path: Path) -> None:
    """A valid listening first address with a bad second one: nothing listens, nothing is created."""
    port = free_port()
    before = fds()
    with pytest.raises(pysocat.AddressError):
        pysocat.Relay(f"TCP-LISTEN:{port},reuseaddr", "TCP:127.0.0.1")
    with pytest.raises(pysocat.AddressError):
        pysocat.Relay(f"UNIX-LISTEN:{tmp_path}/s.sock", "PIPE,nosuchoption")
    assert refused(port)
    assert not (tmp_path / "s.sock").exists()
    assert fds() == before


def test_connection_refused_is_an_error_from_start() -> None:
    port = free_port()
    threads, before = threading.active_count(), fds()
    relay = pysocat.Relay("PIPE", f"TCP:127.0.0.1:{port}")  # parses fine
    with pytest.raises(pysocat.Error, match="Connection refused") as info:
        relay.start()
    assert not isinstance(info.value, pysocat.AddressError)
    assert not relay.running
    assert threading.active_count() == threads
    assert fds() == before


def test_listen_on_a_busy_port_is_an_error_from_start() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(pysocat.Error, match="Address already in use"):
            pysocat.Relay(f"TCP-LISTEN:{port},bind=127.0.0.1", "PIPE").start()


def test_start_twice_and_wait_before_start() -> None:
    relay = pysocat.Relay("TCP-LISTEN:0,reuseaddr,concurrent", "PIPE")
    with pytest.raises(pysocat.Error):
        relay.wait(1)
    with relay:
        with pytest.raises(pysocat.Error):
            relay.start()
        assert roundtrip(relay.port or 0, b"ok") == b"ok"


def _in_a_child_python(*code: str, timeout: float = 30) -> dict[str, object]:
    """Run ``code`` in a fresh Python: if a relay did change its process (uid, chroot), not this one.

    ``code`` (pieces, each dedented) calls ``report(dict)``, which sends JSON back over a pipe of its own.
    """
    r, w = os.pipe()
    prelude = f"import json, os\ndef report(d):\n    os.write({w}, json.dumps(d).encode())\n"
    try:
        proc = subprocess.Popen([sys.executable, "-c", prelude + "".join(map(textwrap.dedent, code))], pass_fds=(w,),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(w)
        w = -1
        _out, err = proc.communicate(timeout=timeout)
        data = os.read(r, 65536)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    assert data, err.decode(errors="replace")
    return dict(json.loads(data))


PROCESS_STATE = """
    def state():
        mask = os.umask(0o022)
        os.umask(mask)
        return [mask, os.getcwd(), os.getuid(), os.geteuid(), os.getgid(), os.getegid()]
"""


@pytest.mark.parametrize(("second", "option"), [
    ("OPEN:{d}/out,creat,umask=077", "umask"),
    ("OPEN:{d}/out,creat,chroot=/", "chroot"),
    ("OPEN:{d}/out,creat,su=nobody", "su"),
    ("OPEN:{d}/out,creat,setuid=nobody", "setuid"),
    ("SYSTEM:cat,sigint", "sigint"),
])
def test_options_that_change_the_process_are_refused(second: str, option: str, tmp_path: Path) -> None:
    """In a host program they would change the host: AddressError at construction, host untouched."""
    (tmp_path / "in").write_bytes(b"data\n")
    out = _in_a_child_python(PROCESS_STATE, f"""
        import pysocat
        os.chdir({str(tmp_path)!r})
        before = state()
        try:
            relay = pysocat.Relay("-u", "OPEN:{tmp_path}/in", {second.format(d=tmp_path)!r})
        except pysocat.AddressError as exc:
            report({{"refused": str(exc), "before": before, "after": state()}})
        else:
            relay.start()
            relay.wait(10)
            report({{"refused": None, "before": before, "after": state()}})
    """)
    assert out["after"] == out["before"], out
    assert out["refused"] and option in str(out["refused"]), out
    assert not (tmp_path / "out").exists()


def test_su_on_a_listener_is_refused() -> None:
    out = _in_a_child_python(PROCESS_STATE, """
        import pysocat
        before = state()
        try:
            pysocat.Relay("TCP-LISTEN:0,reuseaddr,su=nobody", "PIPE")
        except pysocat.AddressError as exc:
            report({"refused": str(exc), "before": before, "after": state()})
        else:
            report({"refused": None, "before": before, "after": state()})
    """)
    assert out["refused"] and "su" in str(out["refused"]), out
    assert out["after"] == out["before"]


@pytest.mark.skipif(os.geteuid() != 0, reason="su= needs root")
def test_su_for_a_started_program_applies_to_the_program_only() -> None:
    nobody = pwd.getpwnam("nobody").pw_uid
    out = _in_a_child_python(PROCESS_STATE, """
        import socket, pysocat
        before = state()
        with pysocat.Relay("TCP-LISTEN:0,reuseaddr,concurrent", "SYSTEM:id -u,su=nobody") as relay:
            with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as c:
                got = b""
                while chunk := c.recv(100):
                    got += chunk
        report({"got": got.decode(), "before": before, "after": state()})
    """)
    assert out["got"] == f"{nobody}\n"
    assert out["after"] == out["before"]


# --- stopping --------------------------------------------------------------------------------------


def test_stop_is_prompt_and_closes_idle_sessions() -> None:
    relay = pysocat.Relay("TCP-LISTEN:0,reuseaddr,concurrent", "PIPE").start()
    port = relay.port or 0
    clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
    try:
        for i, c in enumerate(clients):
            assert exchange(c, f"idle {i}\n".encode()) == f"idle {i}\n".encode()
        assert relay.stats()["open_sessions"] == 3
        t0 = time.monotonic()
        status = relay.stop(10)
        took = time.monotonic() - t0
        assert status is not None, "the relay's thread still runs after stop()"
        assert took < 3, f"stop() took {took:.1f} s with idle sessions open"
        for c in clients:  # each client sees its connection end
            try:
                assert c.recv(100) == b""
            except ConnectionResetError:
                pass
        assert refused(port)
    finally:
        for c in clients:
            c.close()


def test_stop_before_start_and_twice() -> None:
    relay = pysocat.Relay("TCP-LISTEN:0,reuseaddr,concurrent", "PIPE")
    assert relay.stop(1) is None  # never started: no status
    relay = pysocat.Relay("TCP-LISTEN:0,reuseaddr,concurrent", "PIPE").start()
    first = relay.stop(10)
    assert first is not None
    assert relay.stop(10) == first


# --- one-shot relays -------------------------------------------------------------------------------


def test_file_to_tcp_wait_returns_zero_and_delivers(tmp_path: Path) -> None:
    data = os.urandom(3 << 20)
    src = tmp_path / "in.bin"
    src.write_bytes(data)
    digest = hashlib.sha256()
    size = [0]

    def receive(conn: socket.socket) -> None:
        while chunk := conn.recv(262144):
            digest.update(chunk)
            size[0] += len(chunk)

    server = OneShot(receive)
    relay = pysocat.Relay("-u", f"OPEN:{src}", f"TCP:127.0.0.1:{server.port}").start()
    assert relay.wait(30) == 0
    server.join()
    assert size[0] == len(data)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    stats = relay.stats()
    assert stats["sessions"] == 1 and stats["open_sessions"] == 0
    assert stats["bytes_left_to_right"] == len(data) and stats["bytes_right_to_left"] == 0


def test_stdout_in_a_library_relay_keeps_fds_0_to_2(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.txt"
    src.write_text("to standard output\n")
    before = [identity(fd) for fd in (0, 1, 2)], [os.get_blocking(fd) for fd in (0, 1, 2)]
    relay = pysocat.Relay("-u", f"OPEN:{src}", "STDOUT").start()
    assert relay.wait(20) == 0
    assert ([identity(fd) for fd in (0, 1, 2)], [os.get_blocking(fd) for fd in (0, 1, 2)]) == before
    os.write(1, b"the host writes after it\n")  # stdout still works, not pointed at /dev/null
    assert capfd.readouterr().out == "to standard output\nthe host writes after it\n"


def test_stdin_in_a_library_relay_is_read_not_closed(tmp_path: Path) -> None:
    r, w = os.pipe()
    saved = os.dup(0)
    try:
        os.dup2(r, 0)
        piped = identity(0)
        out = tmp_path / "out.bin"
        relay = pysocat.Relay("-u", "STDIN", f"OPEN:{out},creat,trunc").start()
        os.write(w, b"through standard input\n")
        os.close(w)
        w = -1
        assert relay.wait(20) == 0
        assert out.read_bytes() == b"through standard input\n"
        assert identity(0) == piped, "fd 0 was closed or replaced"
        assert os.get_blocking(0)
    finally:
        os.dup2(saved, 0)
        for fd in (saved, r, w):
            if fd >= 0:
                os.close(fd)


def test_fd_of_the_host_stays_open(tmp_path: Path) -> None:
    r, w = os.pipe()
    try:
        src = tmp_path / "in.txt"
        src.write_bytes(b"via my pipe\n")
        assert pysocat.Relay("-u", f"OPEN:{src}", f"FD:{w}").start().wait(20) == 0
        assert os.read(r, 100) == b"via my pipe\n"
        os.write(w, b"still mine\n")  # the relay did not close it
        assert os.read(r, 100) == b"still mine\n"
    finally:
        os.close(r)
        os.close(w)


# --- stats and logging --------------------------------------------------------------------------------


def test_stats_count_sessions_and_bytes(echo_relay: pysocat.Relay) -> None:
    assert echo_relay.stats() == {"sessions": 0, "open_sessions": 0, "bytes_left_to_right": 0,
                                  "bytes_right_to_left": 0}
    sizes = [1, 20_000, 700_000]
    held = socket.create_connection(("127.0.0.1", echo_relay.port or 0), timeout=20)
    try:
        assert exchange(held, b"held\n") == b"held\n"
        # the client may read the echo a moment before the relay's thread counts what it wrote
        wait_for(lambda: echo_relay.stats()["bytes_right_to_left"] == 5, what="the echo to be counted")
        assert echo_relay.stats() == {"sessions": 1, "open_sessions": 1, "bytes_left_to_right": 5,
                                      "bytes_right_to_left": 5}
        for n in sizes:
            data = os.urandom(n)
            assert roundtrip(echo_relay.port or 0, data) == data
    finally:
        held.close()
    wait_for(lambda: echo_relay.stats()["open_sessions"] == 0, what="every session to end")
    total = 5 + sum(sizes)
    assert echo_relay.stats() == {"sessions": 4, "open_sessions": 0, "bytes_left_to_right": total,
                                  "bytes_right_to_left": total}


def test_log_records_go_to_the_pysocat_logger(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG, logger="pysocat")
    backend = free_port()
    with pysocat.Relay("TCP-LISTEN:0,reuseaddr,concurrent", f"TCP:127.0.0.1:{backend}") as relay:
        with socket.create_connection(("127.0.0.1", relay.port or 0), timeout=20) as c:
            try:
                assert c.recv(10) == b""  # the backend refuses: this session ends
            except ConnectionResetError:
                pass

        def refused_record() -> list[logging.LogRecord]:
            return [r for r in caplog.records if r.levelno == logging.ERROR and "Connection refused" in r.getMessage()]

        wait_for(refused_record, what="an ERROR record")
        assert relay.running, "the failing session ended the listener"
    ours = [r for r in caplog.records if r.name == "pysocat" or r.name.startswith("pysocat.")]
    assert len(refused_record()) == 1
    assert any("accepting connection from" in r.getMessage() for r in ours)
    assert {r.name for r in caplog.records} <= {r.name for r in ours}, "records from other loggers"
    assert capfd.readouterr().err == "", "the library wrote to standard error"
