"""Serving strategies (pysocat.core.serve) run in-process on a real UNIX listening socket.

The acceptor is built directly on a listening socket in a temporary directory;
``handle``/``open_session`` are small functions of the test.  In the concurrent
strategy each peer is served by an echo endpoint (a pipe whose write end feeds
its read end, socat's unnamed PIPE), so what a client sends comes back to it.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pysocat.core import log, serve
from pysocat.core.acceptor import Acceptor, Peer
from pysocat.core.config import Config
from pysocat.core.endpoint import Endpoint
from pysocat.core.engine import Engine
from pysocat.core.log import LEVELS, Logger
from pysocat.core.runtime import Runtime
from pysocat.core.serve import serve_forking, serve_single, wait_for_peer
from pysocat.core.session import Session
from pysocat.errors import QuietExit, SocatError
from pysocat.options import OptionSet, resolve
from pysocat.registry import OpenContext

pytestmark = pytest.mark.timeout(30)

LISTEN_GROUPS = frozenset({"FD", "SOCKET", "UNIX", "NAMED", "LISTEN", "CHILD", "RETRY"})


def make_logger(level: str = "I") -> tuple[Logger, io.StringIO]:
    logger = Logger()
    logger.threshold = LEVELS.index(level)
    out = io.StringIO()
    logger.stream = out
    return logger, out


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """This thread's log lines (I and above)."""
    logger, out = make_logger()
    token = log.use(logger)
    yield out
    log.restore(token)


@pytest.fixture
def sockdir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="pysocat-serve-") as path:  # short: sun_path has 108 bytes
        yield path


def peer_endpoint(ctx: OpenContext, peer: Peer) -> Endpoint:
    conn = peer.conn
    return Endpoint("peer", conn.fileno(), conn.fileno(), sock=conn)


class Listener:
    """A listening UNIX socket wrapped in an Acceptor, with a cleanup that records it ran."""

    def __init__(self, directory: str, *options: tuple[str, str | None],
                 check: Callable[[Any], str | None] = lambda peer: None) -> None:
        self.path = os.path.join(directory, "listen.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(self.path)
        sock.listen(64)
        self.cleaned = 0
        opts: OptionSet = resolve(list(options), LISTEN_GROUPS)
        self.acceptor = Acceptor(sock, opts, check, peer_endpoint, cleanups=[self._cleanup])

    def _cleanup(self) -> None:
        self.cleaned += 1
        os.unlink(self.path)

    def connect(self, timeout: float = 5.0) -> socket.socket:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(timeout)
        try:
            client.connect(self.path)
        except OSError:
            client.close()
            raise
        return client

    def close(self) -> None:
        self.acceptor.close()


@pytest.fixture
def listeners(sockdir: str) -> Iterator[Callable[..., Listener]]:
    made: list[Listener] = []

    def make(*options: tuple[str, str | None], **kw: Any) -> Listener:
        lst = Listener(sockdir, *options, **kw)
        made.append(lst)
        return lst

    yield make
    for lst in made:
        lst.close()


def recv_all(sock: socket.socket) -> bytes:
    out = bytearray()
    while chunk := sock.recv(65536):
        out += chunk
    return bytes(out)


def echo_exchange(client: socket.socket, data: bytes) -> bytes:
    """Send ``data``, half-close, and read the echo to EOF (sending in a thread: no deadlock)."""
    sender = threading.Thread(target=lambda: (client.sendall(data), client.shutdown(socket.SHUT_WR)))
    sender.start()
    got = recv_all(client)
    sender.join(5)
    return got


# --- concurrent: every peer a session of one engine ---------------------------------------------


class Concurrent:
    """serve_concurrent in a thread; open_session gives each peer an echo pipe."""

    def __init__(self, lst: Listener, fail: Callable[[int], bool] = lambda n: False) -> None:
        self.logger, self.out = make_logger()
        self.rt = Runtime(self.logger)
        self.engine = Engine(Config(), self.rt, contain=True)
        self.lst = lst
        self.fail = fail
        self.opened = 0
        self.ended: list[int] = []
        self.most_open = 0
        self.result: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def first(self, rt: Runtime, peer: Peer) -> Endpoint:
        return Endpoint("peer", peer.conn.fileno(), peer.conn.fileno(), sock=peer.conn)

    def second(self, rt: Runtime, ep1: Endpoint) -> Endpoint:
        self.opened += 1
        if self.fail(self.opened):
            raise SocatError(f"peer {self.opened} refused by the test")
        r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.most_open = max(self.most_open, len(self.engine.sessions) + 1)
        return Endpoint("echo", r, w)

    def serve(self) -> int:
        """serve_concurrent with this peer recipe (a PeerSession, or an open_session callable before it)."""
        peer_session = getattr(serve, "PeerSession", None)
        if peer_session is not None:
            peers = peer_session(self.rt.session, self.first, self.second, handshake=False)
            return serve.serve_concurrent(self.lst.acceptor, self.engine, peers, self._ended)

        def open_session(peer: Peer) -> tuple[Endpoint, Endpoint, Runtime]:
            rt = self.rt.session()
            ep1 = self.first(rt, peer)
            try:
                return ep1, self.second(rt, ep1), rt
            except BaseException:
                ep1.close()
                raise

        return serve.serve_concurrent(self.lst.acceptor, self.engine, open_session, self._ended)  # type: ignore[arg-type]

    def _ended(self, session: Session, status: int) -> None:
        self.ended.append(status)

    def _run(self) -> None:
        try:
            with self.rt:
                self.result = self.serve()
        except BaseException as exc:  # noqa: B036 - reported to the test thread
            self.error = exc

    def stop(self) -> None:
        self.engine.stop()
        self.thread.join(5)
        assert not self.thread.is_alive(), "serve_concurrent did not return after stop()"
        self.engine.close()

    def wait_for(self, what: Callable[[], bool], budget: float = 5.0) -> None:
        deadline = time.monotonic() + budget
        while not what():
            assert time.monotonic() < deadline, "condition not reached"
            time.sleep(0.01)


def test_concurrent_serves_many_peers_in_process(listeners: Callable[..., Listener]) -> None:
    lst = listeners()
    served = Concurrent(lst)
    try:
        clients = [lst.connect() for _ in range(20)]
        payloads = [os.urandom(20_000 + i) for i in range(len(clients))]
        results: list[bytes | None] = [None] * len(clients)

        def talk(i: int) -> None:
            results[i] = echo_exchange(clients[i], payloads[i])

        threads = [threading.Thread(target=talk, args=(i,)) for i in range(len(clients))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert results == payloads
        served.wait_for(lambda: len(served.ended) == len(clients))
        assert served.ended == [0] * len(clients)
        stats = served.engine.stats()
        assert stats["sessions"] == len(clients) and stats["open_sessions"] == 0
        assert stats["bytes_left_to_right"] == stats["bytes_right_to_left"] == sum(map(len, payloads))
        assert served.thread.is_alive()  # the listener goes on until the engine is stopped
        for c in clients:
            c.close()
    finally:
        served.stop()
    assert served.error is None and served.result == 0
    assert lst.acceptor.closed and lst.cleaned == 1  # the acceptor was closed with its cleanups
    assert not os.path.exists(lst.path)


def test_concurrent_max_children_pauses_the_listener(listeners: Callable[..., Listener]) -> None:
    lst = listeners(("max-children", "2"))
    assert lst.acceptor.max_children == 2
    served = Concurrent(lst)
    try:
        first, second = lst.connect(), lst.connect()
        for c in (first, second):
            c.sendall(b"hi")
            assert c.recv(16) == b"hi"
        third = lst.connect()  # waits in the listen queue: connect() succeeds, nobody serves it
        third.sendall(b"waiting")
        third.settimeout(0.4)
        with pytest.raises(TimeoutError):
            third.recv(16)
        assert served.engine.stats()["open_sessions"] == 2
        assert served.opened == 2
        assert echo_exchange(first, b"bye") == b"bye"  # one session ends: room for the next peer
        third.settimeout(5)
        assert third.recv(16) == b"waiting"
        assert served.most_open <= 2
        for c in (first, second, third):
            c.close()
    finally:
        served.stop()
    assert served.error is None


def test_concurrent_a_failing_open_ends_only_that_peer(listeners: Callable[..., Listener]) -> None:
    lst = listeners()
    served = Concurrent(lst, fail=lambda n: n == 2)
    try:
        ok1 = lst.connect()
        ok1.sendall(b"one")
        assert ok1.recv(16) == b"one"
        doomed = lst.connect()
        served.wait_for(lambda: served.opened >= 2)
        doomed.settimeout(5)
        try:
            assert doomed.recv(16) == b""  # its connection is closed, nothing was served
        except ConnectionResetError:
            pass
        ok2 = lst.connect()
        assert echo_exchange(ok2, b"three") == b"three"
        assert echo_exchange(ok1, b"") == b""
        served.wait_for(lambda: len(served.ended) == 2)
        assert served.ended == [0, 0]
        errors = [line for line in served.out.getvalue().splitlines() if " E " in line]
        assert len(errors) == 1 and errors[0].endswith(" E peer 2 refused by the test")
        for c in (ok1, ok2, doomed):
            c.close()
    finally:
        served.stop()
    assert served.error is None


def test_concurrent_stop_with_sessions_open(listeners: Callable[..., Listener]) -> None:
    lst = listeners()
    served = Concurrent(lst)
    client = lst.connect()
    client.sendall(b"x")
    assert client.recv(4) == b"x"
    served.stop()  # stop() returns the serve loop; close() ends the open session
    assert served.result == 0
    assert recv_all(client) == b""
    client.close()
    with pytest.raises((ConnectionRefusedError, FileNotFoundError)):
        lst.connect()



def test_concurrent_accept_timeout_ends_an_idle_listener(listeners: Callable[..., Listener]) -> None:
    """No peer within accept-timeout: socat's W line, the listener closes, serve_concurrent returns 0."""
    lst = listeners(("accept-timeout", "0.3"))
    served = Concurrent(lst)
    try:
        served.thread.join(3.0)
        assert not served.thread.is_alive(), "still serving 3 s after accept-timeout=0.3"
        assert served.error is None and served.result == 0
        assert "W accept: Connection timed out (no peer within 0.3 seconds)" in served.out.getvalue()
        assert lst.acceptor.closed
    finally:
        if served.thread.is_alive():
            served.stop()
        else:
            served.engine.close()


def test_concurrent_accept_timeout_lets_open_sessions_finish(listeners: Callable[..., Listener]) -> None:
    lst = listeners(("accept-timeout", "0.3"))
    served = Concurrent(lst)
    try:
        client = lst.connect()
        client.sendall(b"a")
        assert client.recv(4) == b"a"
        served.wait_for(lambda: not lst.acceptor.listening)  # no second peer within 0.3 s
        assert served.thread.is_alive()
        client.sendall(b"b")
        assert client.recv(4) == b"b"  # the open session goes on
        assert echo_exchange(client, b"c") == b"c"
        client.close()
        served.thread.join(5)
        assert not served.thread.is_alive() and served.result == 0
    finally:
        if served.thread.is_alive():
            served.stop()
        else:
            served.engine.close()


def test_concurrent_accept_timeout_counts_from_the_last_peer(listeners: Callable[..., Listener]) -> None:
    lst = listeners(("accept-timeout", "0.8"))
    served = Concurrent(lst)
    clients = []
    try:
        for _ in range(6):  # a new peer every 0.25 s: 1.5 s in all, never 0.8 s without one
            c = lst.connect()
            clients.append(c)
            c.sendall(b"p")
            assert c.recv(4) == b"p"
            time.sleep(0.25)
        assert lst.acceptor.listening
        served.wait_for(lambda: not lst.acceptor.listening)
    finally:
        for c in clients:
            c.close()
        served.stop()


def test_concurrent_refusing_a_peer_does_not_stall_other_sessions(sockdir: str) -> None:
    """A refused peer (range, tcpwrap, ...) is closed without holding up the loop's other sessions.

    A silent refused peer must not make an open session wait for a drain timeout: its echo
    round trip, measured just after a refused peer connects, stays short (best of 5).
    """
    verdicts = iter([None] + ["range"] * 20)
    lst = Listener(sockdir, check=lambda peer: next(verdicts))
    served = Concurrent(lst)
    refused = []
    try:
        a = lst.connect()
        a.sendall(b"p")
        assert a.recv(4) == b"p"
        best = 10.0
        for _ in range(5):
            refused.append(lst.connect())  # stays silent and open
            time.sleep(0.02)
            started = time.monotonic()
            a.sendall(b"q")
            assert a.recv(4) == b"q"
            best = min(best, time.monotonic() - started)
        assert best < 0.1, f"an open session waited {best:.3f} s while a peer was refused"
        for c in refused:
            assert recv_all(c) == b""  # refused: closed, nothing served
        a.close()
    finally:
        served.stop()
        lst.close()
        for c in refused:
            c.close()



EMFILE_SERVER = """
import os, sys, time
sys.path.insert(0, sys.argv[2])
from unit.test_serve import Listener, Concurrent
lst = Listener(sys.argv[1])
served = Concurrent(lst)
time.sleep(0.2)
hog = []
try:
    while True:
        hog.append(os.open(os.devnull, os.O_RDONLY))
except OSError:
    pass
print("ready", flush=True)
sys.stdin.readline()  # the client connected and waited
for fd in hog:
    os.close(fd)
deadline = time.monotonic() + 3
while served.opened == 0 and time.monotonic() < deadline:  # descriptors again: serve the waiting peer
    time.sleep(0.01)
print(served.out.getvalue().count(" W accept("), served.opened, int(served.thread.is_alive()), flush=True)
sys.stdin.readline()  # the client checked its echo
if served.thread.is_alive():
    served.stop()
"""


def test_concurrent_out_of_descriptors_waits_instead_of_spinning(sockdir: str) -> None:
    """accept() failing with EMFILE while no session is open: pause, then serve the waiting peer.

    Neither a busy loop (once ~250000 "W accept(N): Too many open files" a second) nor an
    end of serving (the pause is a timer, which must keep the loop alive).  Runs in a child
    interpreter, which uses up its own descriptors.
    """
    tests = str(Path(__file__).resolve().parent.parent)
    with subprocess.Popen([sys.executable, "-c", EMFILE_SERVER, sockdir, tests], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as proc:
        client = socket.socket(socket.AF_UNIX)
        try:
            assert proc.stdout is not None and proc.stdin is not None
            assert proc.stdout.readline().strip() == "ready"
            client.settimeout(5)
            client.connect(os.path.join(sockdir, "listen.sock"))
            time.sleep(1.0)
            proc.stdin.write("go\n")
            proc.stdin.flush()
            lines, opened, serving = map(int, proc.stdout.readline().split())
            assert 1 <= lines < 50, f"{lines} W lines in one second out of descriptors"
            assert serving, "serve_concurrent returned (listener closed) while out of descriptors"
            assert opened == 1, "the peer waiting in the listen queue was never served"
            client.sendall(b"late")
            assert client.recv(16) == b"late"
            proc.stdin.write("done\n")
            proc.stdin.flush()
            assert proc.wait(10) == 0
        finally:
            client.close()
            if proc.poll() is None:
                proc.kill()

# --- single -----------------------------------------------------------------------------------


def test_serve_single_closes_the_listener_after_one_peer(listeners: Callable[..., Listener]) -> None:
    lst = listeners()
    client = lst.connect()
    seen: dict[str, Any] = {}

    def handle(peer: Peer) -> int:
        seen["listening"] = lst.acceptor.listening
        try:
            lst.connect(timeout=1).close()
            seen["second"] = "connected"
        except ConnectionRefusedError:
            seen["second"] = "refused"
        seen["path"] = os.path.exists(lst.path)  # the socket file stays until the end (unlink-close)
        peer.conn.sendall(b"served")
        peer.conn.close()
        return 7

    assert serve_single(lst.acceptor, handle) == 7
    assert seen == {"listening": False, "second": "refused", "path": True}
    assert recv_all(client) == b"served"
    assert lst.acceptor.closed and lst.cleaned == 1
    client.close()


def test_serve_single_closes_the_listener_when_handle_fails(listeners: Callable[..., Listener]) -> None:
    lst = listeners()
    client = lst.connect()

    def handle(peer: Peer) -> int:
        peer.conn.close()
        raise SocatError("the other address failed")

    with pytest.raises(SocatError, match="the other address failed"):
        serve_single(lst.acceptor, handle)
    assert lst.acceptor.closed and lst.cleaned == 1
    client.close()


def test_wait_for_peer_accept_timeout_is_a_quiet_exit(listeners: Callable[..., Listener],
                                                       logged: io.StringIO) -> None:
    lst = listeners(("accept-timeout", "0.3"))
    started = time.monotonic()
    with pytest.raises(QuietExit) as info:
        wait_for_peer(lst.acceptor, None)
    took = time.monotonic() - started
    assert info.value.status == 0
    assert 0.25 <= took < 3.0
    assert "W accept: Connection timed out (no peer within 0.3 seconds)" in logged.getvalue()


def test_serve_single_with_accept_timeout_ends_quietly_and_cleans_up(listeners: Callable[..., Listener],
                                                                      logged: io.StringIO) -> None:
    lst = listeners(("listen-timeout", "0.2"))  # the alias
    with pytest.raises(QuietExit):
        serve_single(lst.acceptor, lambda peer: 1)
    assert lst.acceptor.closed and lst.cleaned == 1


def test_wait_for_peer_skips_refused_peers(listeners: Callable[..., Listener], logged: io.StringIO) -> None:
    verdicts = iter(["range", None])
    lst = listeners(check=lambda peer: next(verdicts))
    refused = lst.connect()
    admitted = lst.connect()
    peer = wait_for_peer(lst.acceptor, None)
    peer.conn.sendall(b"welcome")
    peer.conn.close()
    assert recv_all(refused) == b""  # closed cleanly, nothing served
    assert recv_all(admitted) == b"welcome"
    assert 'W refusing connection from AF=1 "" due to range option' in logged.getvalue()
    refused.close()
    admitted.close()


# --- forking: one child process per peer --------------------------------------------------------


def _reap(pids: list[int], budget: float = 5.0) -> None:
    deadline = time.monotonic() + budget
    for pid in pids:
        while True:
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break  # reaped by the strategy already
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.01)


def test_serve_forking_serves_each_peer_in_its_own_child(listeners: Callable[..., Listener],
                                                        logged: io.StringIO) -> None:
    """Peers queued before serving starts; accept-timeout ends the loop once they are all taken."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGCHLD wakeups need the main thread")
    lst = listeners(("accept-timeout", "1"))
    clients = [lst.connect() for _ in range(4)]
    for i, c in enumerate(clients):
        c.sendall(b"%d\n" % i)
    parent = os.getpid()

    def handle(peer: Peer) -> int:  # runs in the child only
        peer.conn.settimeout(5)
        line = peer.conn.recv(16)
        peer.conn.sendall(b"pid=%d got=%s listening=%d" % (os.getpid(), line.strip(),
                                                             int(lst.acceptor.listening)))
        peer.conn.close()
        return 3

    pids: list[int] = []
    try:
        with pytest.raises(QuietExit):
            serve_forking(lst.acceptor, handle)
        replies = [recv_all(c) for c in clients]
        for i, reply in enumerate(replies):
            fields = dict(part.split(b"=") for part in reply.split())
            pids.append(int(fields[b"pid"]))
            assert fields[b"got"] == b"%d" % i
            assert fields[b"listening"] == b"0"  # the child released the listening socket
        assert len(set(pids)) == len(clients) and parent not in pids
    finally:
        _reap(pids)
        for c in clients:
            c.close()
    assert lst.acceptor.closed and lst.cleaned == 1  # the parent closed the acceptor once
    text = logged.getvalue()
    for pid in pids:
        assert f"N forked off child process {pid}" in text
    reaped = [pid for pid in pids if f"I waitpid(): child {pid} exited with status 3" in text]
    assert reaped, "no child was reaped while serving"


def test_serve_forking_max_children_serves_one_at_a_time(listeners: Callable[..., Listener],
                                                         logged: io.StringIO) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGCHLD wakeups need the main thread")
    lst = listeners(("accept-timeout", "1"), ("max-children", "1"))
    clients = [lst.connect() for _ in range(3)]

    def handle(peer: Peer) -> int:
        start = time.time()
        time.sleep(0.2)
        peer.conn.sendall(b"%.6f %.6f %d" % (start, time.time(), os.getpid()))
        peer.conn.close()
        return 0

    pids: list[int] = []
    try:
        with pytest.raises(QuietExit):
            serve_forking(lst.acceptor, handle)
        spans = []
        for c in clients:
            a, b, pid = recv_all(c).split()
            spans.append((float(a), float(b)))
            pids.append(int(pid))
        spans.sort()
        for (_s1, e1), (s2, _e2) in zip(spans, spans[1:], strict=False):
            assert s2 >= e1, f"two children at once with max-children=1: {spans}"
    finally:
        _reap(pids)
        for c in clients:
            c.close()


def test_serve_forking_max_children_wait_is_not_an_accept_timeout(listeners: Callable[..., Listener],
                                                                  logged: io.StringIO) -> None:
    """fork,max-children=1,accept-timeout=0.5; the first peer takes 1 s, a second peer is queued.

    As socat, waiting for a free child slot has no timeout: the queued peer is served, and
    only then does accept-timeout end the loop.
    """
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGCHLD wakeups need the main thread")
    lst = listeners(("accept-timeout", "0.5"), ("max-children", "1"))
    clients = [lst.connect() for _ in range(2)]

    def handle(peer: Peer) -> int:
        peer.conn.sendall(b"%d " % os.getpid())
        time.sleep(1.0)
        peer.conn.sendall(b"served")
        peer.conn.close()
        return 0

    pids: list[int] = []
    try:
        with pytest.raises(QuietExit):
            serve_forking(lst.acceptor, handle)
        replies = []
        for c in clients:
            try:
                reply = recv_all(c)
            except ConnectionResetError:
                reply = b"<reset>"
            if reply[:1].isdigit():
                pid, reply = reply.split(b" ", 1)
                pids.append(int(pid))
            replies.append(reply)
        assert replies == [b"served", b"served"], logged.getvalue()
    finally:
        _reap(pids)
        for c in clients:
            c.close()


def test_serve_forking_restores_sigchld(listeners: Callable[..., Listener]) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGCHLD wakeups need the main thread")
    before = signal.getsignal(signal.SIGCHLD)
    wakeup = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup)
    lst = listeners(("accept-timeout", "0.1"))
    with pytest.raises(QuietExit):
        serve_forking(lst.acceptor, lambda peer: 0)
    assert signal.getsignal(signal.SIGCHLD) == before
    assert signal.set_wakeup_fd(wakeup) == wakeup
    assert lst.acceptor.closed

