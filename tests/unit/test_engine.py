"""The engine: many sessions in one epoll loop, stop() from another thread, timeouts, containment.

Sessions run between socketpairs (and pipes) whose far ends the test holds;
the engine runs in a thread of its own inside the relay's runtime, so its log
lines land in the test's logger.
"""

from __future__ import annotations

import io
import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pysocat.core.config import Config
from pysocat.core.endpoint import Endpoint
from pysocat.core.engine import Engine
from pysocat.core.log import LEVELS, Logger
from pysocat.core.runtime import Runtime
from pysocat.errors import SocatError

pytestmark = pytest.mark.timeout(30)


def quiet_runtime(level: str = "N", splice: bool = True) -> tuple[Runtime, io.StringIO]:
    logger = Logger()
    logger.threshold = LEVELS.index(level)
    out = io.StringIO()
    logger.stream = out
    return Runtime(logger, splice=splice), out


class Running:
    """``engine.run()`` in a thread, inside the runtime; its exception, if any, is kept."""

    def __init__(self, engine: Engine, rt: Runtime) -> None:
        self.engine, self.rt = engine, rt
        self.error: BaseException | None = None
        self.started = time.monotonic()
        self.ended: float | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with self.rt:
                self.engine.run()
        except BaseException as exc:  # noqa: B036 - reported to the test thread
            self.error = exc
        finally:
            self.ended = time.monotonic()

    def join(self, timeout: float = 10.0) -> float:
        """Wait for run() to return; how long it ran."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "engine.run() did not return"
        assert self.ended is not None
        return self.ended - self.started


class Pair:
    """A session's two far ends: ``left`` talks to the first endpoint, ``right`` to the second."""

    def __init__(self, left: socket.socket, right: socket.socket, first: Endpoint, second: Endpoint) -> None:
        self.left, self.right, self.first, self.second = left, right, first, second


@pytest.fixture
def pairs() -> Iterator[list[Pair]]:
    made: list[Pair] = []
    yield made
    for p in made:
        p.left.close()
        p.right.close()
        p.first.close()
        p.second.close()


def socket_session(made: list[Pair]) -> Pair:
    left, a = socket.socketpair()
    b, right = socket.socketpair()
    for s in (left, a, b, right):
        s.setblocking(False)
    p = Pair(left, right, Endpoint("a", a.fileno(), a.fileno(), sock=a), Endpoint("b", b.fileno(), b.fileno(), sock=b))
    made.append(p)
    return p


def exchange(flows: list[tuple[socket.socket, bytes, socket.socket]], budget: float = 15.0) -> list[bytes]:
    """Send each flow's bytes (then shut the sender's write side) and read its receiver to EOF."""
    sent = [0] * len(flows)
    got = [bytearray() for _ in flows]
    done_send = [False] * len(flows)
    done_recv = [False] * len(flows)
    deadline = time.monotonic() + budget
    while not all(done_recv):
        assert time.monotonic() < deadline, f"received {[len(g) for g in got]} of {[len(f[1]) for f in flows]}"
        poller = select.poll()
        wanted: dict[int, int] = {}
        for i, (src, _data, dst) in enumerate(flows):
            if not done_send[i]:
                wanted[src.fileno()] = wanted.get(src.fileno(), 0) | select.POLLOUT
            if not done_recv[i]:
                wanted[dst.fileno()] = wanted.get(dst.fileno(), 0) | select.POLLIN
        for fd, ev in wanted.items():
            poller.register(fd, ev)
        ready = dict(poller.poll(500))
        for i, (src, data, dst) in enumerate(flows):
            if not done_send[i] and ready.get(src.fileno(), 0) & select.POLLOUT:
                try:
                    sent[i] += src.send(data[sent[i]:sent[i] + (1 << 16)])
                except BlockingIOError:
                    pass
                if sent[i] == len(data):
                    src.shutdown(socket.SHUT_WR)
                    done_send[i] = True
            if not done_recv[i] and ready.get(dst.fileno(), 0) & (select.POLLIN | select.POLLHUP):
                while True:
                    try:
                        chunk = dst.recv(1 << 16)
                    except BlockingIOError:
                        break
                    if not chunk:
                        done_recv[i] = True
                        break
                    got[i] += chunk
    return [bytes(g) for g in got]


def recv_until_eof(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    out = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(out)
        out += chunk


# --- many sessions at once ---------------------------------------------------------------


@pytest.mark.parametrize("splice", [True, False], ids=["splice", "copy"])
def test_several_sessions_at_once_are_byte_exact(pairs: list[Pair], splice: bool) -> None:
    rt, _out = quiet_runtime(splice=splice)
    engine = Engine(Config(), rt)
    try:
        sessions = [socket_session(pairs) for _ in range(8)]
        for p in sessions:
            engine.session(p.first, p.second)
        running = Running(engine, rt)
        flows = []
        for p in sessions:
            flows.append((p.left, os.urandom(300_000), p.right))
            flows.append((p.right, os.urandom(200_000), p.left))
        got = exchange(flows)
        for (_src, data, _dst), received in zip(flows, got, strict=True):
            assert received == data
        running.join()  # every session ended: nothing left to serve
        assert running.error is None
        assert engine.stats() == {"sessions": 8, "open_sessions": 0,
                                  "bytes_left_to_right": 8 * 300_000, "bytes_right_to_left": 8 * 200_000}
    finally:
        engine.close()


def test_pipe_sessions_beside_socket_sessions(pairs: list[Pair]) -> None:
    rt, _out = quiet_runtime()
    engine = Engine(Config(), rt)
    fds: list[int] = []
    try:
        sock = socket_session(pairs)
        engine.session(sock.first, sock.second)
        a_r, a_w = os.pipe2(os.O_NONBLOCK)  # test -> first
        c_r, c_w = os.pipe2(os.O_NONBLOCK)  # first -> test
        d_r, d_w = os.pipe2(os.O_NONBLOCK)  # test -> second
        b_r, b_w = os.pipe2(os.O_NONBLOCK)  # second -> test
        fds += [a_w, c_r, d_w, b_r]
        engine.session(Endpoint("p1", a_r, c_w), Endpoint("p2", d_r, b_w))
        running = Running(engine, rt)
        payload_lr, payload_rl = os.urandom(500_000), os.urandom(100_000)
        writer = threading.Thread(target=_write_all_and_close, args=(a_w, payload_lr, fds))
        writer2 = threading.Thread(target=_write_all_and_close, args=(d_w, payload_rl, fds))
        writer.start()
        writer2.start()
        sock_data = os.urandom(100_000)
        got_sock = exchange([(sock.left, sock_data, sock.right), (sock.right, b"", sock.left)])
        assert got_sock == [sock_data, b""]
        assert _read_all(b_r) == payload_lr
        assert _read_all(c_r) == payload_rl
        writer.join(5)
        writer2.join(5)
        running.join()
        assert running.error is None
        stats = engine.stats()
        assert stats["sessions"] == 2 and stats["open_sessions"] == 0
        assert stats["bytes_left_to_right"] == 100_000 + 500_000
        assert stats["bytes_right_to_left"] == 100_000
    finally:
        engine.close()
        for fd in fds:
            os.close(fd)


def _write_all_and_close(fd: int, data: bytes, owned: list[int]) -> None:
    os.set_blocking(fd, True)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    owned.remove(fd)
    os.close(fd)


def _read_all(fd: int, budget: float = 10.0) -> bytes:
    out = bytearray()
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        select.select([fd], [], [], 0.5)
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            continue
        if not chunk:
            return bytes(out)
        out += chunk
    raise AssertionError(f"no EOF after {len(out)} bytes")


# --- stop() and stats() -------------------------------------------------------------------


def test_stop_from_another_thread_returns_run_promptly(pairs: list[Pair]) -> None:
    rt, _out = quiet_runtime()
    engine = Engine(Config(), rt)
    closed = False
    try:
        p = socket_session(pairs)
        engine.session(p.first, p.second)
        running = Running(engine, rt)
        time.sleep(0.2)
        assert running.thread.is_alive()  # an idle session keeps the engine waiting
        stopped_at = time.monotonic()
        engine.stop()
        running.join(5)
        assert time.monotonic() - stopped_at < 1.0
        assert running.error is None
        assert engine.stats()["open_sessions"] == 1  # stopping does not end sessions: close() does
        engine.close()
        closed = True
        assert engine.stats()["open_sessions"] == 0
        assert recv_until_eof(p.left) == b""
        assert recv_until_eof(p.right) == b""
    finally:
        if not closed:
            engine.close()


def test_stop_before_run_returns_at_once(pairs: list[Pair]) -> None:
    rt, _out = quiet_runtime()
    engine = Engine(Config(), rt)
    try:
        p = socket_session(pairs)
        engine.session(p.first, p.second)
        engine.stop()
        assert Running(engine, rt).join(5) < 1.0
    finally:
        engine.close()


def test_stats_while_running_and_after(pairs: list[Pair]) -> None:
    rt, _out = quiet_runtime()
    engine = Engine(Config(), rt)
    try:
        assert engine.stats() == {"sessions": 0, "open_sessions": 0, "bytes_left_to_right": 0, "bytes_right_to_left": 0}
        a, b = socket_session(pairs), socket_session(pairs)
        engine.session(a.first, a.second)
        engine.session(b.first, b.second)
        running = Running(engine, rt)
        a.left.sendall(b"x" * 1000)
        a.right.settimeout(5)
        got = b""
        while len(got) < 1000:
            got += a.right.recv(4096)
        b.right.sendall(b"y" * 10)
        b.left.settimeout(5)
        assert b.left.recv(100) == b"y" * 10
        deadline = time.monotonic() + 5
        while engine.stats()["bytes_right_to_left"] < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert engine.stats() == {"sessions": 2, "open_sessions": 2, "bytes_left_to_right": 1000,
                                  "bytes_right_to_left": 10}
        for s in (a.left, a.right):
            s.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + 5
        while engine.stats()["open_sessions"] != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        # an ended session's bytes still count
        assert engine.stats() == {"sessions": 2, "open_sessions": 1, "bytes_left_to_right": 1000,
                                  "bytes_right_to_left": 10}
        engine.stop()
        running.join()
    finally:
        engine.close()


# --- containment -----------------------------------------------------------------------------


def _broken_session(made: list[Pair]) -> tuple[Pair, int]:
    """A session whose second endpoint writes into a pipe nobody reads: the first byte fails (EPIPE)."""
    left, a = socket.socketpair()
    right, dummy = socket.socketpair()
    r, w = os.pipe()
    os.close(r)
    p = Pair(left, right, Endpoint("a", a.fileno(), a.fileno(), sock=a), Endpoint("broken", None, w))
    dummy.close()
    made.append(p)
    return p, w


@pytest.mark.parametrize("splice", [True, False], ids=["splice", "copy"])
def test_a_failing_session_ends_alone_when_contained(pairs: list[Pair], splice: bool) -> None:
    rt, out = quiet_runtime(splice=splice)
    engine = Engine(Config(), rt, contain=True)
    ended: list[tuple[int, int]] = []
    engine.on_end = lambda s, status: ended.append((s.number, status))
    try:
        good = [socket_session(pairs) for _ in range(3)]
        numbers = [engine.session(p.first, p.second).number for p in good[:2]]
        bad, bad_fd = _broken_session(pairs)
        bad_number = engine.session(bad.first, bad.second).number
        numbers.append(engine.session(good[2].first, good[2].second).number)
        running = Running(engine, rt)
        bad.left.setblocking(True)
        bad.left.sendall(b"doomed")
        # its session ended and closed the first endpoint (a reset when the splice mover left "doomed" unread)
        try:
            assert recv_until_eof(bad.left) == b""
        except ConnectionResetError:
            pass
        deadline = time.monotonic() + 5
        while not ended and time.monotonic() < deadline:  # the end hook runs just after the close
            time.sleep(0.01)
        assert ended == [(bad_number, 1)]
        assert running.thread.is_alive()
        flows = []
        for p in good:
            flows.append((p.left, os.urandom(50_000), p.right))
            flows.append((p.right, os.urandom(50_000), p.left))
        got = exchange(flows)
        assert got == [data for _s, data, _d in flows]
        running.join()
        assert running.error is None
        assert sorted(ended) == sorted([(bad_number, 1)] + [(n, 0) for n in numbers])
        lines = [line for line in out.getvalue().splitlines() if " E " in line]
        assert len(lines) == 1 and lines[0].endswith("Broken pipe")
        assert f" E write({bad_fd}, 0x0, " in lines[0]
    finally:
        engine.close()


def test_a_failing_session_raises_when_not_contained(pairs: list[Pair]) -> None:
    rt, _out = quiet_runtime()
    engine = Engine(Config(), rt)
    try:
        bad, bad_fd = _broken_session(pairs)
        engine.session(bad.first, bad.second)
        running = Running(engine, rt)
        bad.left.setblocking(True)
        bad.left.sendall(b"doomed")
        running.join()
        assert isinstance(running.error, SocatError)
        assert running.error.message.startswith(f"write({bad_fd}, 0x0, ")
        assert running.error.message.endswith("Broken pipe")
    finally:
        engine.close()



def test_contain_holds_for_errors_raised_on_the_fast_path(pairs: list[Pair]) -> None:
    """Engine(contain=True): an error other than SocatError in a steady session ends that session only.

    A steady session is read on the engine's fast path.  The trigger is real: -r to a file that
    cannot be written (/dev/full) makes the raw dump raise OSError(ENOSPC); it once ended every
    session of a concurrent listener.
    """
    rt, out = quiet_runtime()
    engine = Engine(Config(raw_lr="/dev/full"), rt, contain=True)
    ended: list[tuple[int, int]] = []
    engine.on_end = lambda s, status: ended.append((s.number, status))
    try:
        a, b = socket_session(pairs), socket_session(pairs)
        number_a = engine.session(a.first, a.second).number
        engine.session(b.first, b.second)
        running = Running(engine, rt)
        time.sleep(0.2)  # both sessions planned: steady, on the fast path
        a.left.setblocking(True)
        a.left.sendall(b"dumped")  # the > direction's raw dump writes to /dev/full
        deadline = time.monotonic() + 5
        while not ended and running.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert running.error is None, f"run() raised {running.error!r}: every session ended"
        assert ended == [(number_a, 1)]
        b.right.setblocking(True)
        b.right.sendall(b"still here")  # the < direction has no raw file
        b.left.settimeout(5)
        assert b.left.recv(64) == b"still here"
        errors = [line for line in out.getvalue().splitlines() if " E " in line]
        assert len(errors) == 1 and errors[0].endswith("No space left on device")
        engine.stop()
        running.join()
    finally:
        engine.close()
        for raw in engine.dumper.raw.values():  # the -r file, whether or not the engine closed it
            if raw is not None:
                try:
                    raw.close()
                except OSError:  # flushing to /dev/full fails again; the file is closed all the same
                    pass


# --- timeouts --------------------------------------------------------------------------------


def test_total_timeout_ends_an_idle_session(pairs: list[Pair]) -> None:
    rt, out = quiet_runtime()
    engine = Engine(Config(total_timeout=0.3), rt)
    statuses: list[int] = []
    engine.on_end = lambda s, status: statuses.append(status)
    try:
        p = socket_session(pairs)
        engine.session(p.first, p.second)
        took = Running(engine, rt).join()
        assert 0.25 <= took < 2.0
        assert statuses == [0]
        assert "N inactivity timeout triggered" in out.getvalue()
        assert recv_until_eof(p.left) == b"" and recv_until_eof(p.right) == b""
    finally:
        engine.close()


def test_total_timeout_counts_from_the_last_bytes(pairs: list[Pair]) -> None:
    rt, _out = quiet_runtime()
    engine = Engine(Config(total_timeout=0.8), rt)
    try:
        p = socket_session(pairs)
        engine.session(p.first, p.second)
        running = Running(engine, rt)
        p.right.settimeout(5)
        for _ in range(12):  # 1.2 s of traffic, never 0.8 s idle
            p.left.send(b"tick")
            assert p.right.recv(16) == b"tick"
            time.sleep(0.1)
        assert running.thread.is_alive()
        quiet_since = time.monotonic()
        running.join()
        assert 0.6 <= time.monotonic() - quiet_since < 3.0
    finally:
        engine.close()


def test_close_timeout_after_one_direction_ends(pairs: list[Pair]) -> None:
    """EOF one way is passed on; the other way may still move bytes until it is idle for -t."""
    rt, out = quiet_runtime(level="I")
    engine = Engine(Config(close_timeout=0.4), rt)
    try:
        p = socket_session(pairs)
        engine.session(p.first, p.second)
        running = Running(engine, rt)
        p.left.shutdown(socket.SHUT_WR)
        assert recv_until_eof(p.right) == b""  # the EOF arrived as a half-close
        p.right.send(b"late reply")
        p.left.settimeout(5)
        assert p.left.recv(64) == b"late reply"
        replied = time.monotonic()
        running.join()
        assert 0.3 <= time.monotonic() - replied < 2.0
        assert recv_until_eof(p.left) == b""
        assert "I closing timeout expired" in out.getvalue()
    finally:
        engine.close()


def test_both_directions_ended_ends_the_session_without_waiting(pairs: list[Pair]) -> None:
    rt, _out = quiet_runtime()
    engine = Engine(Config(close_timeout=30.0), rt)
    try:
        p = socket_session(pairs)
        engine.session(p.first, p.second)
        running = Running(engine, rt)
        p.left.shutdown(socket.SHUT_WR)
        p.right.shutdown(socket.SHUT_WR)
        assert running.join() < 5.0  # not the 30 s close timeout
    finally:
        engine.close()


def test_run_one_returns_the_status(pairs: list[Pair]) -> None:
    rt, _out = quiet_runtime()
    engine = Engine(Config(), rt)
    try:
        p = socket_session(pairs)
        p.left.sendall(b"one")
        p.left.shutdown(socket.SHUT_WR)
        p.right.shutdown(socket.SHUT_WR)
        with rt:
            assert engine.run_one(p.first, p.second) == 0
        assert recv_until_eof(p.right) == b"one"
    finally:
        engine.close()



# --- descriptors epoll cannot wait for ------------------------------------------------------


@pytest.mark.parametrize("splice", [True, False], ids=["splice", "copy"])
def test_a_regular_file_source_is_read_without_waiting(pairs: list[Pair], tmp_path: Path, splice: bool) -> None:
    """A file is always readable and epoll refuses it: the session steps without waiting, to EOF."""
    data = os.urandom(3 << 20)
    path = tmp_path / "source"
    path.write_bytes(data)
    rt, _out = quiet_runtime(splice=splice)
    engine = Engine(Config(right_to_left=False), rt)
    fd = os.open(path, os.O_RDONLY)
    p = socket_session(pairs)
    try:
        engine.session(Endpoint("file", fd, None), p.second)
        running = Running(engine, rt)
        p.right.setblocking(True)
        assert recv_until_eof(p.right, timeout=10) == data
        running.join()
        assert running.error is None
        assert engine.stats()["bytes_left_to_right"] == len(data)
    finally:
        engine.close()  # the session owned the file's descriptor


@pytest.mark.parametrize("splice", [True, False], ids=["splice", "copy"])
def test_a_destination_epoll_refuses_is_written_without_waiting(pairs: list[Pair], splice: bool) -> None:
    """/dev/null is a character device (pollable by stat) that epoll_ctl refuses with EPERM."""
    rt, _out = quiet_runtime(splice=splice)
    engine = Engine(Config(right_to_left=False), rt)
    null = os.open(os.devnull, os.O_WRONLY)
    p = socket_session(pairs)
    try:
        engine.session(p.first, Endpoint("null", None, null))
        running = Running(engine, rt)
        p.left.setblocking(True)
        p.left.sendall(os.urandom(1 << 20))
        p.left.shutdown(socket.SHUT_WR)
        running.join()
        assert running.error is None
        assert engine.stats()["bytes_left_to_right"] == 1 << 20
    finally:
        engine.close()
