"""The transfer engine through the real CLI: half-close, -t/-T, -u/-U, dumps,
conversions, shut-* options, -b, backpressure, exit codes and signals.

Every test talks to pysocat over real loopback sockets, pipes and files and
bounds its own time.  Timing assertions use wide tolerances.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import finish, free_port, run, start, wait_tcp

STAMP = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{9}"


# -- helpers ------------------------------------------------------------------------


class Drain:
    """Read a pipe (a Popen's stdout/stderr) in a thread into a buffer."""

    def __init__(self, stream: object) -> None:
        self.fd = stream.fileno()  # type: ignore[attr-defined]
        self.data = bytearray()
        self.eof_at: float | None = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.eof_at = time.monotonic()
                return
            with self.lock:
                self.data += chunk

    def value(self) -> bytes:
        with self.lock:
            return bytes(self.data)

    def wait_for(self, want: bytes, timeout: float = 5) -> bytes:
        """Wait until the buffer holds ``want`` (bounded); return the buffer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.value()
            if want in got:
                return got
            time.sleep(0.01)
        raise AssertionError(f"{want!r} did not arrive within {timeout}s; got {self.value()!r}")

    def join(self, timeout: float = 5) -> bytes:
        self.thread.join(timeout)
        return self.value()


def wait_until(pred: Callable[[], bool], timeout: float = 5, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.01)
    raise AssertionError(f"{what} not reached within {timeout}s")


def connect(port: int, timeout: float = 5) -> socket.socket:
    wait_tcp(port)
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return sock


def recv_all(sock: socket.socket, timeout: float = 5) -> bytes:
    """Read until EOF (or a reset); bounded by ``timeout`` overall."""
    sock.settimeout(timeout)
    out = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        out += chunk
    else:
        raise AssertionError(f"no EOF within {timeout}s; got {bytes(out)!r}")
    return bytes(out)


def recv_exact(sock: socket.socket, size: int, timeout: float = 5) -> bytes:
    sock.settimeout(timeout)
    out = bytearray()
    while len(out) < size:
        chunk = sock.recv(size - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def listener() -> tuple[socket.socket, int]:
    """A test-side TCP server on loopback (the relay's backend)."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(10)
    return srv, int(srv.getsockname()[1])


def accept(srv: socket.socket, timeout: float = 10) -> socket.socket:
    srv.settimeout(timeout)
    conn, _ = srv.accept()
    conn.settimeout(timeout)
    return conn


def wait_exit(proc: subprocess.Popen[bytes], timeout: float = 10) -> float:
    """Wait for ``proc`` to end; return the monotonic time it was seen gone."""
    proc.wait(timeout=timeout)
    return time.monotonic()


def vmrss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def no_traceback(err: bytes) -> None:
    assert b"Traceback" not in err, err.decode(errors="replace")


# -- half-close -----------------------------------------------------------------------


def test_client_half_close_stdin_still_flows(procs: list, engine_path: str) -> None:
    """Client FIN: its data reaches stdout; stdin data still flows back until stdin EOF."""
    port = free_port()
    p = start("-t", "3", f"TCP-LISTEN:{port},reuseaddr", "STDIO")
    procs.append(p)
    out = Drain(p.stdout)
    err = Drain(p.stderr)
    c = connect(port)
    c.sendall(b"hello from client\n")
    c.shutdown(socket.SHUT_WR)
    out.wait_for(b"hello from client\n")
    p.stdin.write(b"reply1\n")
    p.stdin.flush()
    assert recv_exact(c, 7) == b"reply1\n"
    time.sleep(0.3)
    p.stdin.write(b"reply2\n")
    p.stdin.flush()
    assert recv_exact(c, 7) == b"reply2\n"
    assert p.poll() is None, "pysocat ended while stdin was still flowing"
    p.stdin.close()
    # stdin EOF: the client now sees FIN, and pysocat ends with 0
    assert recv_all(c) == b""
    assert p.wait(timeout=5) == 0
    assert out.join() == b"hello from client\n"
    no_traceback(err.join())
    c.close()


def test_stdin_eof_first_client_sees_fin_and_still_sends(procs: list, engine_path: str) -> None:
    """stdin EOF first: the client gets FIN at once; its later data (within -t) reaches stdout."""
    port = free_port()
    p = start("-t", "2", f"TCP-LISTEN:{port},reuseaddr", "STDIO")
    procs.append(p)
    out = Drain(p.stdout)
    err = Drain(p.stderr)
    p.stdin.write(b"from stdin\n")
    p.stdin.close()
    c = connect(port)
    t0 = time.monotonic()
    assert recv_all(c, timeout=5) == b"from stdin\n"
    assert time.monotonic() - t0 < 2.0, "FIN was not propagated at once"
    time.sleep(0.3)
    c.sendall(b"late client data\n")
    out.wait_for(b"late client data\n", timeout=3)
    c.shutdown(socket.SHUT_WR)
    assert p.wait(timeout=5) == 0
    assert out.join() == b"late client data\n"
    no_traceback(err.join())
    c.close()


def test_socket_relay_propagates_fin_and_keeps_replies(procs: list, engine_path: str) -> None:
    """TCP-LISTEN:A TCP:B: the client's FIN reaches the backend at once; backend replies
    inside the idle window still reach the client, then the client gets FIN."""
    srv, bport = listener()
    aport = free_port()
    p = start(f"TCP-LISTEN:{aport},reuseaddr", f"TCP:127.0.0.1:{bport}")
    procs.append(p)
    c = connect(aport)
    back = accept(srv)
    c.sendall(b"request")
    c.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    assert recv_all(back, timeout=5) == b"request"
    assert time.monotonic() - t0 < 1.0, "client FIN not propagated to the backend at once"
    for i in range(3):
        back.sendall(b"resp%d;" % i)
        time.sleep(0.2)  # gaps shorter than the default -t 0.5
    back.shutdown(socket.SHUT_WR)
    assert recv_all(c, timeout=5) == b"resp0;resp1;resp2;"
    rc, _, err = finish(p, timeout=5)
    assert rc == 0, err
    no_traceback(err)
    c.close()
    back.close()
    srv.close()


# -- -t and -T ------------------------------------------------------------------------


def _t_after_client_fin(
    extra: list[str], feed: Callable[[subprocess.Popen[bytes]], None] | None = None
) -> tuple[float, int, bytes, bytes]:
    """Client sends and half-closes; stdin stays open.  Return (seconds from FIN to exit, rc, stdout, client got)."""
    port = free_port()
    p = start(*extra, f"TCP-LISTEN:{port},reuseaddr", "STDIO")
    try:
        out = Drain(p.stdout)
        Drain(p.stderr)
        c = connect(port)
        c.sendall(b"data")
        c.shutdown(socket.SHUT_WR)
        out.wait_for(b"data")
        t0 = time.monotonic()
        if feed is not None:
            feed(p)
        end = wait_exit(p, timeout=15)
        c.settimeout(2)
        got = bytearray()
        try:
            while chunk := c.recv(4096):
                got += chunk
        except OSError:
            pass
        c.close()
        return end - t0, p.returncode, out.join(), bytes(got)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        if p.stdin:
            try:
                p.stdin.close()
            except OSError:
                pass


def test_t_default_half_second(engine_path: str) -> None:
    elapsed, rc, out, _ = _t_after_client_fin([])
    assert rc == 0
    assert out == b"data"
    assert 0.3 <= elapsed <= 2.5, elapsed


def test_t_two_seconds(engine_path: str) -> None:
    elapsed, rc, out, _ = _t_after_client_fin(["-t", "2"])
    assert rc == 0
    assert out == b"data"
    assert 1.7 <= elapsed <= 4.5, elapsed


def test_t_zero_exits_at_once(engine_path: str) -> None:
    elapsed, rc, out, _ = _t_after_client_fin(["-t", "0"])
    assert rc == 0
    assert out == b"data"
    assert elapsed <= 0.45, elapsed


def test_t_is_an_idle_timer_restarted_by_transfers(engine_path: str) -> None:
    """-t 1 with stdin data at +0.5 and +1.0: exit near +2.0, not +1.0 after EOF."""

    def feed(p: subprocess.Popen[bytes]) -> None:
        assert p.stdin is not None
        for word in (b"one;", b"two;"):
            time.sleep(0.5)
            p.stdin.write(word)
            p.stdin.flush()

    elapsed, rc, out, got = _t_after_client_fin(["-t", "1"], feed)
    assert rc == 0
    assert got == b"one;two;"
    # feed takes ~1.0 s; elapsed counts from the client's FIN
    assert 1.7 <= elapsed <= 4.0, elapsed


def test_T_inactivity_timeout_exits_zero(procs: list, engine_path: str) -> None:
    srv, bport = listener()
    p = start("-T", "1", "STDIO", f"TCP:127.0.0.1:{bport}")
    procs.append(p)
    back = accept(srv)
    t0 = time.monotonic()
    end = wait_exit(p, timeout=10)
    assert p.returncode == 0, p.stderr.read()
    assert 0.7 <= end - t0 <= 3.0, end - t0
    assert back.recv(10) == b""  # the connection was closed
    back.close()
    srv.close()


def test_T_is_restarted_by_traffic(procs: list, engine_path: str) -> None:
    srv, bport = listener()
    p = start("-T", "1", "STDIO", f"TCP:127.0.0.1:{bport}")
    procs.append(p)
    out = Drain(p.stdout)
    back = accept(srv)
    t0 = time.monotonic()
    for i in range(5):  # traffic every 0.4 s for 2 s keeps it alive
        back.sendall(b"tick%d;" % i)
        time.sleep(0.4)
        assert p.poll() is None, f"-T 1 fired despite traffic after {time.monotonic() - t0:.2f}s"
    end = wait_exit(p, timeout=10)
    assert p.returncode == 0
    assert out.join() == b"tick0;tick1;tick2;tick3;tick4;"
    assert 2.5 <= end - t0 <= 5.0, end - t0
    back.close()
    srv.close()


# -- -u / -U --------------------------------------------------------------------------


def test_u_only_left_to_right(procs: list, engine_path: str) -> None:
    port = free_port()
    p = start("-u", f"TCP-LISTEN:{port},reuseaddr", "STDIO")
    procs.append(p)
    p.stdin.write(b"must not reach the client")
    p.stdin.flush()
    c = connect(port)
    c.sendall(b"to stdout")
    c.shutdown(socket.SHUT_WR)
    rc, out, err = finish(p, timeout=10)
    assert rc == 0, err
    assert out == b"to stdout"
    assert recv_all(c) == b""
    c.close()


def test_U_only_right_to_left(procs: list, engine_path: str) -> None:
    port = free_port()
    p = start("-U", f"TCP-LISTEN:{port},reuseaddr", "STDIO")
    procs.append(p)
    c = connect(port)
    c.sendall(b"must not reach stdout")
    time.sleep(0.3)
    p.stdin.write(b"to client")
    p.stdin.close()
    assert recv_all(c) == b"to client"
    rc = p.wait(timeout=10)
    out = p.stdout.read()
    assert rc == 0
    assert out == b""
    c.close()


# -- dumps ------------------------------------------------------------------------------


ALL_BYTES = bytes(range(256))


def _expected_v_text(data: bytes) -> bytes:
    """socat's -v rendering (observed with socat 1.7.4.4)."""
    names = {7: b"\\a", 8: b"\\b", 9: b"\t", 10: b"\n", 11: b"\\v", 12: b"\\f", 13: b"\\r", 0x5C: b"\\\\"}
    out = bytearray()
    for b in data:
        if b in names:
            out += names[b]
        elif 0x20 <= b < 0x7F:
            out.append(b)
        else:
            out += b"."
    return bytes(out)


def test_v_dump_header_and_text() -> None:
    r = run("-v", "-u", "-", "/dev/null", input=b"hello\r\nworld\n", timeout=10)
    assert r.returncode == 0
    err = r.stderr.decode()
    assert re.fullmatch(rf"> {STAMP}  length=13 from=0 to=12\nhello\\r\nworld\n", err), err


def test_v_dump_all_byte_values_like_socat() -> None:
    r = run("-v", "-u", "-", "/dev/null", input=ALL_BYTES, timeout=10)
    assert r.returncode == 0
    head, _, body = r.stderr.partition(b"\n")
    assert re.fullmatch(rf"> {STAMP}  length=256 from=0 to=255".encode(), head), head
    assert body == _expected_v_text(ALL_BYTES)


def test_x_dump_hex() -> None:
    r = run("-x", "-u", "-", "/dev/null", input=b"hi\r\n\x00\xff", timeout=10)
    assert r.returncode == 0
    err = r.stderr.decode()
    assert re.fullmatch(rf"> {STAMP}  length=6 from=0 to=5\n 68 69 0d 0a 00 ff\n", err), err


def test_x_v_dump_hex_with_ascii_column() -> None:
    data = b"0123456789abcdefGHIJ\x01"
    r = run("-x", "-v", "-u", "-", "/dev/null", input=data, timeout=10)
    assert r.returncode == 0
    err = r.stderr.decode()
    line1 = " " + " ".join("%02x" % b for b in data[:16]) + "  0123456789abcdef\n"
    line2 = " " + " ".join("%02x" % b for b in data[16:]).ljust(47) + "  GHIJ.\n"
    assert re.fullmatch(rf"> {STAMP}  length=21 from=0 to=20\n", err.split("\n", 1)[0] + "\n"), err
    assert err.split("\n", 1)[1] == line1 + line2 + "--\n", err


@pytest.mark.parametrize("flags", [["-v"], ["-x"], ["-x", "-v"]], ids=["v", "x", "xv"])
def test_dumps_match_c_socat(flags: list[str]) -> None:
    """Same input, same dump as C socat once the timestamps are masked."""
    if shutil.which("socat") is None:
        pytest.skip("C socat not installed")
    data = b"GET / HTTP/1.0\r\nHost: x\r\n\r\n" + ALL_BYTES + b"tail"
    mine = run(*flags, "-u", "-", "/dev/null", input=data, timeout=10)
    ref = subprocess.run(["socat", *flags, "-u", "-", "/dev/null"], input=data, capture_output=True, timeout=10)
    mask = re.compile(rb"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{9}")
    assert mine.returncode == ref.returncode == 0
    assert mask.sub(b"STAMP", mine.stderr) == mask.sub(b"STAMP", ref.stderr)


def test_v_dump_both_directions_and_offsets(procs: list) -> None:
    srv, bport = listener()
    p = start("-v", "STDIO", f"TCP:127.0.0.1:{bport}")
    procs.append(p)
    err = Drain(p.stderr)
    out = Drain(p.stdout)
    back = accept(srv)
    p.stdin.write(b"abc")
    p.stdin.flush()
    assert recv_exact(back, 3) == b"abc"
    err.wait_for(b"abc")
    p.stdin.write(b"defg")
    p.stdin.flush()
    assert recv_exact(back, 4) == b"defg"
    back.sendall(b"pong\r\n")
    out.wait_for(b"pong\r\n")
    p.stdin.close()
    assert recv_all(back) == b""
    back.close()
    assert p.wait(timeout=5) == 0
    text = err.join().decode()
    # like socat, -v adds no newline after a chunk that does not end in one
    assert re.fullmatch(
        rf"> {STAMP}  length=3 from=0 to=2\nabc> {STAMP}  length=4 from=3 to=6\ndefg"
        rf"< {STAMP}  length=6 from=0 to=5\npong\\r\n",
        text,
    ), text
    srv.close()


def test_raw_sniff_files_hold_exact_bytes(tmp_path: Path, procs: list, engine_path: str) -> None:
    srv, bport = listener()
    lr, rl = tmp_path / "lr.bin", tmp_path / "rl.bin"
    p = start("-r", str(lr), "-R", str(rl), "STDIO", f"TCP:127.0.0.1:{bport}")
    procs.append(p)
    out = Drain(p.stdout)
    back = accept(srv)
    up = ALL_BYTES * 40 + b"\r\n"
    down = bytes(reversed(ALL_BYTES)) * 30
    p.stdin.write(up)
    p.stdin.close()
    assert recv_all(back) == up
    back.sendall(down)
    back.close()
    assert p.wait(timeout=10) == 0
    assert out.join() == down
    assert lr.read_bytes() == up
    assert rl.read_bytes() == down
    srv.close()


# -- address options in the engine ----------------------------------------------------


def test_readbytes_limits_the_transfer(tmp_path: Path, engine_path: str) -> None:
    src = tmp_path / "in"
    src.write_bytes(b"0123456789" * 100)
    r = run("-u", f"OPEN:{src},readbytes=5", "STDOUT", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"01234"


def test_readbytes_on_a_socket(procs: list, engine_path: str) -> None:
    port = free_port()
    p = start("-u", f"TCP-LISTEN:{port},reuseaddr,readbytes=7", "STDOUT")
    procs.append(p)
    c = connect(port)
    c.sendall(b"abcdefghijklmnop")
    rc, out, err = finish(p, timeout=10)
    assert rc == 0, err
    assert out == b"abcdefg"
    c.close()


def test_ignoreeof_follows_a_growing_file(tmp_path: Path, procs: list, engine_path: str) -> None:
    log_file = tmp_path / "growing.log"
    log_file.write_bytes(b"first\n")
    p = start("-T", "2", "-u", f"OPEN:{log_file},ignoreeof", "STDOUT")
    procs.append(p)
    out = Drain(p.stdout)
    out.wait_for(b"first\n")
    time.sleep(0.5)
    assert p.poll() is None, "pysocat stopped at the file's EOF despite ignoreeof"
    with open(log_file, "ab") as fh:
        fh.write(b"second\n")
    out.wait_for(b"first\nsecond\n", timeout=1.8)
    assert p.wait(timeout=10) == 0  # -T 2 ends it
    assert out.join() == b"first\nsecond\n"


def test_crlf_on_write_converts_lf(tmp_path: Path, engine_path: str) -> None:
    dst = tmp_path / "out"
    r = run("-u", "-", f"CREATE:{dst},crlf", input=b"a\nb\nc", timeout=10)
    assert r.returncode == 0, r.stderr
    assert dst.read_bytes() == b"a\r\nb\r\nc"


def test_crlf_on_read_converts_crlf(tmp_path: Path, engine_path: str) -> None:
    src = tmp_path / "in"
    src.write_bytes(b"line1\r\nline2\r\n")
    r = run("-u", f"OPEN:{src},crlf", "STDOUT", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"line1\nline2\n"


def test_cr_conversions(tmp_path: Path, engine_path: str) -> None:
    dst = tmp_path / "out"
    r = run("-u", "-", f"CREATE:{dst},cr", input=b"a\nb\n", timeout=10)
    assert r.returncode == 0, r.stderr
    assert dst.read_bytes() == b"a\rb\r"
    src = tmp_path / "in"
    src.write_bytes(b"x\ry\r")
    r = run("-u", f"OPEN:{src},cr", "STDOUT", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"x\ny\n"


def test_crlf_over_tcp_both_ways(procs: list, engine_path: str) -> None:
    srv, bport = listener()
    p = start("STDIO", f"TCP:127.0.0.1:{bport},crlf")
    procs.append(p)
    out = Drain(p.stdout)
    back = accept(srv)
    p.stdin.write(b"HELO x\nQUIT\n")
    p.stdin.close()
    assert recv_all(back) == b"HELO x\r\nQUIT\r\n"
    back.sendall(b"250 ok\r\n221 bye\r\n")
    back.close()
    assert p.wait(timeout=10) == 0
    assert out.join() == b"250 ok\n221 bye\n"
    srv.close()


def test_escape_byte_acts_as_eof(procs: list, engine_path: str) -> None:
    """stdin stays open; the escape byte alone ends that direction (backend sees FIN)."""
    srv, bport = listener()
    p = start("STDIO,escape=0x1d", f"TCP:127.0.0.1:{bport}")
    procs.append(p)
    back = accept(srv)
    p.stdin.write(b"before\x1dafter")
    p.stdin.flush()
    assert recv_all(back, timeout=5) == b"before"
    back.close()
    assert p.wait(timeout=10) == 0
    p.stdin.close()
    srv.close()


def test_escape_with_u(engine_path: str) -> None:
    r = run("-u", "-,escape=0x1d", "STDOUT", input=b"abc\x1ddef", timeout=10)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"abc"


def _shut_case(option: str, procs: list) -> tuple[float | None, bytes, int, bytes]:
    """stdin 'x' then EOF towards a backend with ``option``; the backend replies after
    its wait for FIN.  Return (seconds until the backend saw FIN or None, what
    reached stdout, rc, stderr)."""
    srv, bport = listener()
    p = start("-t", "2", "STDIO", f"TCP:127.0.0.1:{bport}{option}")
    procs.append(p)
    out = Drain(p.stdout)
    back = accept(srv)
    p.stdin.write(b"x")
    p.stdin.close()
    assert recv_exact(back, 1) == b"x"
    t0 = time.monotonic()
    back.settimeout(1.0)
    fin: float | None
    try:
        fin = time.monotonic() - t0 if back.recv(10) == b"" else None
    except TimeoutError:
        fin = None
    try:
        back.sendall(b"reply")
        back.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    rc = p.wait(timeout=10)
    back.close()
    srv.close()
    return fin, out.join(), rc, p.stderr.read()


def test_shut_down_half_closes_socket(procs: list, engine_path: str) -> None:
    fin, out, rc, err = _shut_case(",shut-down", procs)
    assert fin is not None and fin < 0.5, "backend did not see FIN at once"
    assert out == b"reply"  # the read side stays open
    assert rc == 0, err


def test_shut_none_sends_no_fin(procs: list, engine_path: str) -> None:
    fin, out, rc, err = _shut_case(",shut-none", procs)
    assert fin is None, "shut-none still sent FIN"
    assert out == b"reply"
    assert rc == 0, err


def test_shut_close_closes_socket(procs: list, engine_path: str) -> None:
    fin, out, rc, err = _shut_case(",shut-close", procs)
    assert fin is not None and fin < 0.5, "backend did not see EOF at once"
    assert out == b""  # the socket is gone: the reply cannot arrive
    assert rc == 0, err
    no_traceback(err)


def test_buffer_size_one_byte_exact(procs: list, engine_path: str) -> None:
    data = os.urandom(20000)
    back_data = os.urandom(5000)
    srv, bport = listener()
    p = start("-b", "1", "STDIO", f"TCP:127.0.0.1:{bport}")
    procs.append(p)
    out = Drain(p.stdout)
    back = accept(srv, timeout=30)
    sender = threading.Thread(target=lambda: (p.stdin.write(data), p.stdin.close()), daemon=True)
    sender.start()
    back.sendall(back_data)
    back.shutdown(socket.SHUT_WR)
    assert recv_all(back, timeout=30) == data
    assert p.wait(timeout=30) == 0
    assert out.join() == back_data
    back.close()
    srv.close()


def test_buffer_size_option_b1_unidirectional(engine_path: str) -> None:
    data = os.urandom(30000)
    r = run("-b1", "-u", "-", "STDOUT", input=data, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data


# -- backpressure ---------------------------------------------------------------------


def test_slow_reader_memory_stays_flat(procs: list, engine_path: str) -> None:
    """A fast source and a client reading 16 KiB every 50 ms: pysocat's RSS stays flat,
    the sender is throttled, and every byte arrives."""
    srv, bport = listener()
    aport = free_port()
    p = start(f"TCP-LISTEN:{aport},reuseaddr", f"TCP:127.0.0.1:{bport}")
    procs.append(p)
    c = connect(aport, timeout=20)
    back = accept(srv)
    stop = threading.Event()
    sent = {"n": 0, "sha": hashlib.sha256()}

    def flood() -> None:
        back.setblocking(False)
        chunk = memoryview(os.urandom(1 << 16))
        off = 0
        import select

        while not stop.is_set():
            _, w, _ = select.select([], [back], [], 0.05)
            if not w:
                continue
            try:
                n = back.send(chunk[off:])
            except BlockingIOError:
                continue
            sent["sha"].update(chunk[off : off + n])
            sent["n"] += n
            off = (off + n) % len(chunk)
            if off == 0:
                chunk = memoryview(os.urandom(1 << 16))
        back.setblocking(True)
        back.shutdown(socket.SHUT_WR)

    th = threading.Thread(target=flood, daemon=True)
    th.start()
    got = hashlib.sha256()
    received = 0
    c.settimeout(10)
    t0 = time.monotonic()
    base = None
    peak = 0
    while time.monotonic() - t0 < 3.5:
        data = c.recv(16384)
        assert data, "stream ended early"
        got.update(data)
        received += len(data)
        if base is None and time.monotonic() - t0 > 0.5:
            base = vmrss_kib(p.pid)
        peak = max(peak, vmrss_kib(p.pid))
        time.sleep(0.05)
    backlog = sent["n"] - received
    stop.set()
    th.join(10)
    assert not th.is_alive()
    while True:
        data = c.recv(1 << 16)
        if not data:
            break
        got.update(data)
        received += len(data)
    assert base is not None
    assert peak - base < 20 * 1024, f"VmRSS grew from {base} KiB to {peak} KiB"
    assert backlog < 64 * 1024 * 1024, f"sender was not throttled: {backlog} bytes ahead of the reader"
    assert received == sent["n"]
    assert got.hexdigest() == sent["sha"].hexdigest()
    assert p.wait(timeout=10) == 0
    c.close()
    back.close()
    srv.close()


# -- exit status, signals, notices ------------------------------------------------------


def test_exit_zero_on_normal_end(engine_path: str) -> None:
    r = run("-", "-", input=b"echo me", timeout=10)
    assert r.returncode == 0
    assert r.stdout == b"echo me"
    assert r.stderr == b""


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)])
def test_signal_exit_status_while_listening(sig: int, code: int, procs: list) -> None:
    port = free_port()
    p = start("-d", "-d", f"TCP-LISTEN:{port},reuseaddr", "STDIO")
    procs.append(p)
    wait_tcp(port)
    p.send_signal(sig)
    rc, _, err = finish(p, timeout=10)
    assert rc == code, err
    # socat logs it as W for SIGTERM and N for SIGINT/SIGHUP; -d -d shows both
    assert re.search(rb" [NW] exiting on signal %d\n" % int(sig), err), err
    no_traceback(err)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)])
def test_signal_exit_status_during_transfer(sig: int, code: int, procs: list) -> None:
    srv, bport = listener()
    p = start("-d", "-d", "STDIO", f"TCP:127.0.0.1:{bport}")
    procs.append(p)
    back = accept(srv)
    p.stdin.write(b"ping")
    p.stdin.flush()
    assert recv_exact(back, 4) == b"ping"
    p.send_signal(sig)
    rc = p.wait(timeout=10)
    err = p.stderr.read()
    assert rc == code, err
    # socat logs it as W for SIGTERM and N for SIGINT/SIGHUP; -d -d shows both
    assert re.search(rb" [NW] exiting on signal %d\n" % int(sig), err), err
    no_traceback(err)
    back.close()
    srv.close()


def test_dd_notices(procs: list, engine_path: str) -> None:
    port = free_port()
    p = start("-d", "-d", f"TCP-LISTEN:{port},reuseaddr", "STDIO")
    procs.append(p)
    c = connect(port)
    c.sendall(b"x")
    c.shutdown(socket.SHUT_WR)
    p.stdin.close()
    assert recv_all(c) == b""
    rc = p.wait(timeout=10)
    err = p.stderr.read().decode()
    assert rc == 0, err
    assert re.search(r" N listening on ", err), err
    assert re.search(r" N accepting connection from ", err), err
    assert re.search(r" N starting data transfer loop with FDs \[\d+,\d+\] and \[\d+,\d+\]", err), err
    assert re.search(r" N socket [12] \(fd \d+\) is at EOF", err), err
    assert re.search(r" N exiting with status 0\n?$", err), err
    c.close()
