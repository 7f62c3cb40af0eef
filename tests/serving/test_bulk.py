"""256 MiB of random bytes through pysocat, byte-exact (sha256), over TCP, UNIX,
a named FIFO and files.

The data is generated chunk by chunk with os.urandom and hashed as it is sent;
the receiver hashes what it reads.  Nothing holds the whole stream.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from conftest import finish, free_port, start, wait_path, wait_tcp

TOTAL = 256 * 1024 * 1024
CHUNK = 4 * 1024 * 1024
TIMEOUT = 90  # per transfer; each should take a few seconds


class Result:
    """What one side of the transfer saw: byte count and sha256."""

    def __init__(self) -> None:
        self.count = 0
        self.sha = hashlib.sha256()
        self.error: BaseException | None = None
        self.done = threading.Event()

    def digest(self) -> str:
        return self.sha.hexdigest()


def _chunks() -> object:
    left = TOTAL
    while left:
        n = min(CHUNK, left)
        yield os.urandom(n)
        left -= n


def send_stream(write: Callable[[bytes], object], res: Result) -> None:
    """Generate TOTAL random bytes, hash them, pass each chunk to ``write``."""
    try:
        for chunk in _chunks():  # type: ignore[attr-defined]
            res.sha.update(chunk)
            write(chunk)
            res.count += len(chunk)
    except BaseException as exc:  # reported by the test
        res.error = exc
    finally:
        res.done.set()


def hash_reader(read_into: Callable[[memoryview], int], res: Result) -> None:
    """Read until EOF, hashing everything."""
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    try:
        while True:
            n = read_into(view)
            if not n:
                break
            res.sha.update(view[:n])
            res.count += n
    except BaseException as exc:
        res.error = exc
    finally:
        res.done.set()


def in_thread(fn: Callable[..., None], *args: object) -> threading.Thread:
    th = threading.Thread(target=fn, args=args, daemon=True)
    th.start()
    return th


def tcp_sink() -> tuple[socket.socket, int, Result]:
    """A loopback TCP server that accepts one peer and hashes what it sends."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(TIMEOUT)
    res = Result()

    def serve() -> None:
        try:
            conn, _ = srv.accept()
        except BaseException as exc:
            res.error = exc
            res.done.set()
            return
        with conn:
            conn.settimeout(TIMEOUT)
            hash_reader(conn.recv_into, res)

    in_thread(serve)
    return srv, int(srv.getsockname()[1]), res


def send_to(sock: socket.socket) -> Result:
    """Send the stream over ``sock`` in a thread, then half-close it."""
    res = Result()

    def go() -> None:
        sock.settimeout(TIMEOUT)
        send_stream(sock.sendall, res)
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    in_thread(go)
    return res


def check(sent: Result, got: Result) -> None:
    assert sent.done.wait(TIMEOUT), "sender did not finish"
    assert got.done.wait(TIMEOUT), "receiver did not finish"
    assert sent.error is None, sent.error
    assert got.error is None, got.error
    assert sent.count == TOTAL
    assert got.count == TOTAL, f"received {got.count} of {TOTAL} bytes"
    assert got.digest() == sent.digest()


def test_bulk_tcp(procs: list, engine_path: str) -> None:
    srv, sink_port, got = tcp_sink()
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr", f"TCP:127.0.0.1:{sink_port}")
    procs.append(p)
    wait_tcp(port)
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    sent = send_to(client)
    check(sent, got)
    rc, _, err = finish(p, timeout=TIMEOUT)
    assert rc == 0, err
    client.close()
    srv.close()


def test_bulk_unix(tmp_path: Path, procs: list, engine_path: str) -> None:
    sink_path = str(tmp_path / "sink.sock")
    front = str(tmp_path / "front.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sink_path)
    srv.listen(1)
    srv.settimeout(TIMEOUT)
    got = Result()

    def serve() -> None:
        try:
            conn, _ = srv.accept()
        except BaseException as exc:
            got.error = exc
            got.done.set()
            return
        with conn:
            conn.settimeout(TIMEOUT)
            hash_reader(conn.recv_into, got)

    in_thread(serve)
    p = start(f"UNIX-LISTEN:{front}", f"UNIX-CONNECT:{sink_path}")
    procs.append(p)
    wait_path(front)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(10)
    client.connect(front)
    sent = send_to(client)
    check(sent, got)
    rc, _, err = finish(p, timeout=TIMEOUT)
    assert rc == 0, err
    client.close()
    srv.close()


def test_bulk_named_pipe(tmp_path: Path, procs: list, engine_path: str) -> None:
    """client -> pysocat -u TCP-LISTEN PIPE:fifo -> fifo -> pysocat -u PIPE:fifo TCP -> sink."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    srv, sink_port, got = tcp_sink()
    reader = start("-u", f"PIPE:{fifo}", f"TCP:127.0.0.1:{sink_port}")
    procs.append(reader)
    port = free_port()
    writer = start("-u", f"TCP-LISTEN:{port},reuseaddr", f"PIPE:{fifo}")
    procs.append(writer)
    wait_tcp(port)
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    sent = send_to(client)
    check(sent, got)
    rc_w, _, err_w = finish(writer, timeout=TIMEOUT)
    rc_r, _, err_r = finish(reader, timeout=TIMEOUT)
    assert rc_w == 0, err_w
    assert rc_r == 0, err_r
    client.close()
    srv.close()


def test_bulk_file_to_tcp(tmp_path: Path, procs: list, engine_path: str) -> None:
    big = tmp_path / "big.bin"
    sent = Result()
    with open(big, "wb") as fh:
        send_stream(fh.write, sent)
    assert sent.error is None
    try:
        srv, sink_port, got = tcp_sink()
        p = start("-u", f"OPEN:{big}", f"TCP:127.0.0.1:{sink_port}")
        procs.append(p)
        assert got.done.wait(TIMEOUT), "sink did not finish"
        check(sent, got)
        rc, _, err = finish(p, timeout=TIMEOUT)
        assert rc == 0, err
        srv.close()
    finally:
        big.unlink()


def test_bulk_tcp_to_file(tmp_path: Path, procs: list, engine_path: str) -> None:
    out = tmp_path / "out.bin"
    port = free_port()
    p = start("-u", f"TCP-LISTEN:{port},reuseaddr", f"CREATE:{out}")
    procs.append(p)
    wait_tcp(port)
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    sent = send_to(client)
    assert sent.done.wait(TIMEOUT)
    rc, _, err = finish(p, timeout=TIMEOUT)
    assert rc == 0, err
    client.close()
    try:
        got = Result()
        with open(out, "rb", buffering=0) as fh:
            hash_reader(fh.readinto, got)  # type: ignore[arg-type]
        check(sent, got)
    finally:
        out.unlink()
