"""Global command-line options, through the real CLI, each in a small real transfer."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import finish, free_port, run, start, wait_path, wait_tcp

LOG_LINE = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)(\.\d+)?( \S+)? (\S+)\[(\d+)\] ([DINWEF]) (.*)$")
DUMP_HEAD = re.compile(r"^([<>]) \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{9}  length=(\d+) from=(\d+) to=(\d+)$")
# a text dump does not end its data with a newline: the next header may follow on the same line
DUMP_HEAD_ANY = re.compile(r"([<>]) \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{9}  length=(\d+) from=(\d+) to=(\d+)\n")
# socat's test.sh: sed 's/.* \([0-9][1-9]*\.[0-9][0-9]*\.[0-9][^[:space:]]*\).*/\1/'
TESTSH_VERSION = re.compile(r".* ([0-9][1-9]*\.[0-9][0-9]*\.[0-9]\S*).*")


def log_lines(text: bytes | str) -> list[re.Match[str]]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [m for m in (LOG_LINE.match(line) for line in text.splitlines()) if m]


def levels(text: bytes | str) -> set[str]:
    return {m.group(6) for m in log_lines(text)}


class Server:
    """A one-shot loopback TCP server run by a thread: ``handler(conn)``; records what it read."""

    def __init__(self, handler: Callable[[socket.socket], None], family: int = socket.AF_INET) -> None:
        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(5)
        self.sock.settimeout(15)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.handler = handler
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(15)
            try:
                self.handler(conn)
            except OSError:
                pass

    def read_all(self, conn: socket.socket) -> bytes:
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
        self.received += data
        return data

    def close(self) -> None:
        self.thread.join(timeout=15)
        self.sock.close()


@pytest.fixture
def server_factory() -> Iterator[Callable[..., Server]]:
    made: list[Server] = []

    def make(handler: Callable[[socket.socket], None], family: int = socket.AF_INET) -> Server:
        srv = Server(handler, family)
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.sock.close()
        srv.thread.join(timeout=5)


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# --- -V ------------------------------------------------------------------------------


def test_version() -> None:
    r = run("-V")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert "pysocat" in lines[0]
    m = TESTSH_VERSION.fullmatch(lines[1])
    assert m, lines[1]
    assert re.fullmatch(r"1\.[78]\.\d+(\.\d+)?", m.group(1)), m.group(1)
    defines = [line for line in lines if "#define" in line]
    assert defines, "no feature lines"
    for line in defines:
        assert re.fullmatch(r"  #define WITH_[A-Z0-9_]+ 1", line), repr(line)
    names = {line.split()[1] for line in defines}
    assert "WITH_DEVTESTS" not in names
    assert len(names) == len(defines), "duplicate feature lines"
    assert r.stderr == b""


def test_version_features_match_test_sh_grep() -> None:
    """test.sh runs: socat -V | grep "#define WITH_$A 1$"; STDIO, TCP and UNIX work, so they must match."""
    out = run("-V").stdout.decode()
    for feat in ("STDIO", "TCP", "UNIX", "LISTEN", "IP4"):
        assert re.search(rf"#define WITH_{feat} 1$", out, re.M), feat


# --- -h -------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["-h", "-?", "-hh", "-??", "-hhh", "-???"])
def test_help_levels(flag: str) -> None:
    r = run(flag)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    # test.sh greps ' tcp4-' and ' -[rR] ' in -h
    assert re.search(r"^\s+tcp4-listen:<port>", out, re.M), out
    assert re.search(r"^\s+tcp:<host>:<port>", out, re.M)
    assert re.search(r"^\s+unix-connect:", out, re.M)
    assert len(re.findall(r" -[rR] ", out)) >= 2
    for opt in ("-d", "-lf", "-v", "-x", "-b", "-t", "-T", "-u", "-U", "-L", "-W"):
        assert re.search(rf"^\s+{re.escape(opt)}\b", out, re.M), opt
    level = len(flag) - 1
    option_line = re.compile(r"^\s*reuseaddr\s", re.M)
    alias_line = re.compile(r"^\s*so-reuseaddr\s", re.M)
    if level == 1:
        assert not option_line.search(out)
    else:
        assert option_line.search(out), "-hh must list option names"
        assert re.search(r"^\s*fork\s", out, re.M)
    if level == 3:
        assert alias_line.search(out), "-hhh must list aliases"


def test_help_address_heads_sorted() -> None:
    out = run("-h").stdout.decode()
    section = out.split("address-head:", 1)[1]
    heads = re.findall(r"^\s+([a-z0-9-]+)(?=[:\[\t ])", section, re.M)
    assert heads == sorted(heads)
    assert "tcp-listen" in heads


# --- -d and log destinations --------------------------------------------------------


def transfer(*opts: str, data: bytes = b"hello\n", **kw: object) -> subprocess.CompletedProcess[bytes]:
    return run(*opts, "-u", "-", "STDOUT", input=data, timeout=20, **kw)


def test_default_logs_nothing_on_success() -> None:
    r = transfer()
    assert (r.returncode, r.stdout, r.stderr) == (0, b"hello\n", b"")


def test_d_alone_shows_notices_like_socat_18() -> None:
    """socat 1.8: "applying this option also prints notice messages"."""
    r = transfer("-d")
    assert r.returncode == 0 and r.stdout == b"hello\n"
    assert "N" in levels(r.stderr)
    assert not levels(r.stderr) & {"I", "D"}


def _terminated(*flags: str) -> tuple[int, bytes]:
    p = start(*flags, "-u", "-", "/dev/null")
    try:
        time.sleep(0.5)
        p.terminate()
        _, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate(timeout=5)
    return p.returncode, err


def test_default_level_shows_warnings() -> None:
    rc, err = _terminated()
    assert rc == 143
    assert [m.group(6) for m in log_lines(err)] == ["W"], err


def test_d0_hides_warnings() -> None:
    """socat 1.8: -d0 prints only fatal and error messages (1.7 behaviour)."""
    rc, err = _terminated("-d0")
    assert rc == 143
    assert log_lines(err) == [], err


@pytest.mark.parametrize("flags", [["-dd"], ["-d", "-d"], ["-d2"], ["-d0", "-dd"]])
def test_two_d_shows_notices(flags: list[str]) -> None:
    r = transfer(*flags)
    assert r.returncode == 0 and r.stdout == b"hello\n"
    msgs = [m.group(7) for m in log_lines(r.stderr) if m.group(6) == "N"]
    assert any("starting data transfer loop" in m for m in msgs), r.stderr
    assert any("exiting with status 0" in m for m in msgs), r.stderr
    for m in log_lines(r.stderr):
        assert m.group(4) == "pysocat"
        assert m.group(2) is None, "no microseconds without -lu"


def test_d0_is_quiet() -> None:
    r = transfer("-d0")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"hello\n", b"")


def test_ddd_shows_info() -> None:
    r = transfer("-ddd")
    assert r.returncode == 0 and r.stdout == b"hello\n"
    assert "I" in levels(r.stderr), r.stderr


def test_dddd_shows_debug() -> None:
    r = transfer("-dddd")
    assert r.returncode == 0 and r.stdout == b"hello\n"
    assert "D" in levels(r.stderr), r.stderr


def test_lf_logs_to_file(tmp_path: Path) -> None:
    logf = tmp_path / "log"
    r = transfer("-dd", "-lf", str(logf))
    assert r.returncode == 0 and r.stdout == b"hello\n"
    assert r.stderr == b""
    text = logf.read_text()
    assert log_lines(text) and "exiting with status 0" in text


def test_lf_attached_value(tmp_path: Path) -> None:
    logf = tmp_path / "log2"
    r = transfer("-dd", f"-lf{logf}")
    assert r.returncode == 0 and r.stderr == b""
    assert "exiting with status 0" in logf.read_text()


def test_lf_error_line_lands_in_file(tmp_path: Path) -> None:
    logf = tmp_path / "log"
    r = run("-lf", str(logf), "FOO:bar", "-", input=b"", timeout=20)
    assert r.returncode == 1
    assert r.stderr == b""
    errors = [m for m in log_lines(logf.read_text()) if m.group(6) == "E"]
    assert len(errors) == 1 and "FOO" in errors[0].group(7)


def test_ls_logs_to_stderr() -> None:
    r = transfer("-dd", "-ls")
    assert r.returncode == 0 and r.stdout == b"hello\n"
    assert "exiting with status 0" in r.stderr.decode()


def test_lp_sets_program_name() -> None:
    r = transfer("-dd", "-lp", "myrelay")
    assert r.returncode == 0
    lines = log_lines(r.stderr)
    assert lines
    for m in lines:
        assert m.group(4) == "myrelay"
        assert int(m.group(5)) > 0


def test_lp_attached_value() -> None:
    r = transfer("-dd", "-lpother")
    assert r.returncode == 0
    assert {m.group(4) for m in log_lines(r.stderr)} == {"other"}


def test_lu_microsecond_timestamps() -> None:
    r = transfer("-dd", "-lu")
    assert r.returncode == 0
    lines = log_lines(r.stderr)
    assert lines
    for m in lines:
        assert m.group(2) is not None and len(m.group(2)) == 7, m.group(0)


def test_lh_adds_hostname() -> None:
    host = socket.gethostname().split(".")[0]
    r = transfer("-dd", "-lh")
    assert r.returncode == 0
    lines = log_lines(r.stderr)
    assert lines
    for m in lines:
        assert m.group(3) == f" {host}", m.group(0)


@pytest.mark.parametrize("flag", ["-ly", "-lydaemon", "-lyuser"])
def test_ly_logs_to_syslog_not_stderr(flag: str) -> None:
    r = transfer("-dd", flag)
    assert r.returncode == 0 and r.stdout == b"hello\n"
    assert log_lines(r.stderr) == []


@pytest.mark.parametrize("flag", ["-lm", "-lmdaemon"])
def test_lm_mixed_mode_accepted(flag: str) -> None:
    r = transfer(flag)
    assert (r.returncode, r.stdout) == (0, b"hello\n"), r.stderr
    # errors during start-up still reach stderr
    r = run(flag, "FOO:bar", "-", input=b"", timeout=20)
    assert r.returncode == 1
    assert [m.group(6) for m in log_lines(r.stderr)] == ["E"]


def test_python_m_uses_pysocat_as_program_name() -> None:
    r = subprocess.run([sys.executable, "-m", "pysocat", "FOO:bar", "-"], input=b"", capture_output=True, timeout=20)
    assert r.returncode == 1
    lines = log_lines(r.stderr)
    assert lines and lines[0].group(4) == "pysocat", r.stderr


# --- dumps ----------------------------------------------------------------------------


def test_v_text_dump() -> None:
    r = transfer("-v", data=b"hello\nworld\n")
    assert r.returncode == 0 and r.stdout == b"hello\nworld\n"
    lines = r.stderr.decode().split("\n")
    m = DUMP_HEAD.match(lines[0])
    assert m, lines[0]
    assert m.groups() == (">", "12", "0", "11")
    assert lines[1:3] == ["hello", "world"]


def test_v_text_dump_marks_cr_and_unprintable() -> None:
    r = transfer("-v", data=b"a\r\x01b\n")
    assert r.returncode == 0
    assert r.stderr.decode().split("\n")[1] == "a\\r.b"


def test_x_hex_dump() -> None:
    r = transfer("-x", data=b"hello\n")
    assert r.returncode == 0 and r.stdout == b"hello\n"
    lines = r.stderr.decode().splitlines()
    assert DUMP_HEAD.match(lines[0]).groups() == (">", "6", "0", "5")  # type: ignore[union-attr]
    assert lines[1] == " 68 65 6c 6c 6f 0a"


def test_x_v_combined_dump() -> None:
    data = bytes(range(0x41, 0x41 + 20))
    r = transfer("-x", "-v", data=data)
    assert r.returncode == 0 and r.stdout == data
    lines = r.stderr.decode().splitlines()
    assert DUMP_HEAD.match(lines[0]).groups() == (">", "20", "0", "19")  # type: ignore[union-attr]
    assert lines[1] == " " + " ".join("%02x" % b for b in data[:16]) + "  " + data[:16].decode()
    assert lines[2].startswith(" 51 52 53 54 ") and lines[2].endswith("  QRST")
    assert lines[3] == "--"


def test_dump_both_directions(server_factory: Callable[..., Server]) -> None:
    def handler(conn: socket.socket) -> None:
        srv.read_all(conn)
        conn.sendall(b"pong\n")

    srv = server_factory(handler)
    r = run("-v", "-", f"TCP:127.0.0.1:{srv.port}", input=b"ping\n", timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"pong\n"
    heads = [DUMP_HEAD.match(line) for line in r.stderr.decode().splitlines()]
    dirs = [(m.group(1), m.group(2)) for m in heads if m]
    assert (">", "5") in dirs and ("<", "5") in dirs
    assert srv.received == b"ping\n"


def test_raw_dump_files(tmp_path: Path, server_factory: Callable[..., Server]) -> None:
    def handler(conn: socket.socket) -> None:
        srv.read_all(conn)
        conn.sendall(b"reply-data")

    srv = server_factory(handler)
    lr, rl = tmp_path / "lr", tmp_path / "rl"
    r = run("-r", str(lr), "-R", str(rl), "-", f"TCP:127.0.0.1:{srv.port}", input=b"request", timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"reply-data"
    assert lr.read_bytes() == b"request"
    assert rl.read_bytes() == b"reply-data"


# --- buffer, timeouts, direction -------------------------------------------------------


@pytest.mark.parametrize("flags", [["-b", "3"], ["-b3"]])
def test_b_sets_chunk_size(flags: list[str]) -> None:
    r = transfer(*flags, "-v", data=b"abcdefgh")
    assert r.returncode == 0 and r.stdout == b"abcdefgh"
    heads = [m.groups() for m in DUMP_HEAD_ANY.finditer(r.stderr.decode())]
    assert heads == [(">", "3", "0", "2"), (">", "3", "3", "5"), (">", "2", "6", "7")], r.stderr


def test_b_large_transfer_intact() -> None:
    data = os.urandom(200_000)
    r = transfer("-b", "100", data=data)
    assert r.returncode == 0 and r.stdout == data


def _late_reply(srv_holder: list[Server], delay: float) -> Callable[[socket.socket], None]:
    def handler(conn: socket.socket) -> None:
        srv_holder[0].read_all(conn)
        time.sleep(delay)
        conn.sendall(b"late\n")

    return handler


@pytest.mark.parametrize("flags", [["-t", "3"], ["-t3"]])
def test_t_long_keeps_other_direction(flags: list[str], server_factory: Callable[..., Server]) -> None:
    holder: list[Server] = []
    holder.append(server_factory(_late_reply(holder, 0.6)))
    r = run(*flags, "-", f"TCP:127.0.0.1:{holder[0].port}", input=b"hi\n", timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"late\n"
    assert holder[0].received == b"hi\n"


@pytest.mark.parametrize("flags", [["-t", "0.1"], ["-t0.1"]])
def test_t_short_closes_early(flags: list[str], server_factory: Callable[..., Server]) -> None:
    holder: list[Server] = []
    holder.append(server_factory(_late_reply(holder, 1.5)))
    t0 = time.monotonic()
    r = run(*flags, "-", f"TCP:127.0.0.1:{holder[0].port}", input=b"hi\n", timeout=20)
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert r.stdout == b""
    assert elapsed < 1.4


@pytest.mark.parametrize("flags", [["-T", "0.5"], ["-T0.5"]])
def test_T_inactivity_timeout(flags: list[str], procs: list[subprocess.Popen[bytes]]) -> None:
    p = start(*flags, "-u", "-", "/dev/null")  # stdin stays open and silent
    procs.append(p)
    t0 = time.monotonic()
    rc = p.wait(timeout=10)
    elapsed = time.monotonic() - t0
    assert rc == 0
    assert 0.3 <= elapsed < 5


def test_T_inactivity_restarts_on_traffic(procs: list[subprocess.Popen[bytes]]) -> None:
    p = start("-T", "0.6", "-u", "-", "STDOUT")
    procs.append(p)
    assert p.stdin is not None
    for _ in range(4):
        p.stdin.write(b"x")
        p.stdin.flush()
        time.sleep(0.3)
    assert p.poll() is None, "exited although traffic kept flowing"
    t0 = time.monotonic()
    rc = p.wait(timeout=10)
    assert time.monotonic() - t0 < 5
    assert rc == 0
    assert p.stdout is not None and p.stdout.read() == b"xxxx"


def _greeter(holder: list[Server]) -> Callable[[socket.socket], None]:
    def handler(conn: socket.socket) -> None:
        conn.sendall(b"greeting\n")
        holder[0].read_all(conn)

    return handler


def test_u_left_to_right_only(server_factory: Callable[..., Server]) -> None:
    holder: list[Server] = []
    holder.append(server_factory(_greeter(holder)))
    r = run("-u", "-", f"TCP:127.0.0.1:{holder[0].port}", input=b"data\n", timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b""
    holder[0].close()
    assert holder[0].received == b"data\n"


def test_U_right_to_left_only(server_factory: Callable[..., Server]) -> None:
    def handler(conn: socket.socket) -> None:
        conn.sendall(b"greeting\n")
        conn.shutdown(socket.SHUT_WR)
        holder[0].read_all(conn)

    holder: list[Server] = []
    holder.append(server_factory(handler))
    r = run("-U", "-", f"TCP:127.0.0.1:{holder[0].port}", input=b"data\n", timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"greeting\n"
    holder[0].close()
    assert holder[0].received == b""


# --- other globals ----------------------------------------------------------------------


def test_s_sloppy_accepted() -> None:
    r = transfer("-s")
    assert (r.returncode, r.stdout) == (0, b"hello\n")


def test_g_disables_group_check(tmp_path: Path) -> None:
    target = tmp_path / "f"
    r = run("-u", "-", f"OPEN:{target},creat,backlog=5", input=b"x", timeout=20)
    assert r.returncode == 1 and b"not supported" in r.stderr
    r = run("-g", "-u", "-", f"OPEN:{target},creat,backlog=5", input=b"x", timeout=20)
    assert b"not supported" not in r.stderr
    # as socat: the check is skipped, but an option nothing uses still fails the open (showleft)
    assert r.returncode == 1 and b'option "backlog" not inquired' in r.stderr, r.stderr
    assert b"E 1 option(s) could not be used" in r.stderr


def test_L_lock_held_during_run(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    lock = tmp_path / "lock"
    p = start("-L", str(lock), "-u", "-", "STDOUT")
    procs.append(p)
    wait_path(lock)
    rc, out, err = finish(p)  # closing stdin ends it
    assert (rc, out) == (0, b""), err


def test_L_existing_lock_fails(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.write_text("12345\n")
    r = run("-L", str(lock), "-u", "-", "STDOUT", input=b"data", timeout=20)
    assert r.returncode == 1
    assert r.stdout == b""
    assert [m.group(6) for m in log_lines(r.stderr)] == ["E"]
    assert lock.read_text() == "12345\n"


def test_L_attached_value(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    r = transfer(f"-L{lock}")
    assert (r.returncode, r.stdout) == (0, b"hello\n"), r.stderr


def test_W_waits_for_lock(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    lock = tmp_path / "lock"
    lock.write_text("1\n")
    data = tmp_path / "data"
    data.write_bytes(b"after-lock")
    with open(data, "rb") as fh:
        p = start("-W", str(lock), "-u", "-", "STDOUT", stdin=fh)
    procs.append(p)
    time.sleep(0.8)
    assert p.poll() is None, "did not wait for the lock"
    lock.unlink()
    rc, out, err = finish(p, timeout=10)
    assert (rc, out) == (0, b"after-lock"), err


def test_W_free_lock_runs_at_once(tmp_path: Path) -> None:
    r = transfer("-W", str(tmp_path / "lock"))
    assert (r.returncode, r.stdout) == (0, b"hello\n"), r.stderr


def _listen_families(port: int) -> set[str]:
    found = set()
    for name, fam in (("/proc/net/tcp", "4"), ("/proc/net/tcp6", "6")):
        try:
            with open(name) as fh:
                next(fh)
                for line in fh:
                    f = line.split()
                    if f[1].endswith(":%04X" % port) and f[3] == "0A":
                        found.add(fam)
        except OSError:
            pass
    return found


def test_4_listens_ipv4(procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start("-4", "-u", f"TCP-LISTEN:{port},reuseaddr", "STDOUT", stdin=subprocess.DEVNULL)
    procs.append(p)
    wait_tcp(port)
    assert _listen_families(port) == {"4"}
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(b"v4")
    rc, out, err = finish(p)
    assert (rc, out) == (0, b"v4"), err


@pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback")
def test_6_listens_ipv6(procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port(socket.AF_INET6)
    p = start("-6", "-u", f"TCP-LISTEN:{port},reuseaddr", "STDOUT", stdin=subprocess.DEVNULL)
    procs.append(p)
    wait_tcp(port, "::1")
    assert _listen_families(port) == {"6"}
    with socket.create_connection(("::1", port), timeout=10) as c:
        c.sendall(b"v6")
    rc, out, err = finish(p)
    assert (rc, out) == (0, b"v6"), err


@pytest.mark.parametrize("flag", ["-S", "-S15", "-S1,2,15"])
def test_S_signals_accepted(flag: str) -> None:
    r = transfer(flag)
    assert (r.returncode, r.stdout) == (0, b"hello\n"), r.stderr


def test_statistics() -> None:
    r = transfer("--statistics", data=b"x" * 1234)
    assert (r.returncode, r.stdout) == (0, b"x" * 1234), r.stderr
    assert b"1234" in r.stderr


def test_D_analyzes_fds() -> None:
    r = transfer("-D")
    assert (r.returncode, r.stdout) == (0, b"hello\n")
    assert r.stderr.strip() != b""


def test_double_dash_ends_options() -> None:
    r = run("-u", "--", "-", "STDOUT", input=b"dd", timeout=20)
    assert (r.returncode, r.stdout) == (0, b"dd"), r.stderr


@pytest.mark.parametrize("flags", [["-v", "-v"], ["-t", "0.1", "-t0.2"], ["-lu", "-lu"], ["-S", "-S15"], ["-b", "10", "-b20"]])
def test_repeated_global_options_accepted(flags: list[str]) -> None:
    """socat accepts a repeated option (the last value wins); scripts rely on it."""
    r = transfer(*flags)
    assert (r.returncode, r.stdout) == (0, b"hello\n"), r.stderr


def test_all_globals_together(tmp_path: Path) -> None:
    logf = tmp_path / "all.log"
    r = run(
        "-dd", "-lf", str(logf), "-lp", "combo", "-lu", "-lh", "-x", "-v", "-r", str(tmp_path / "r"),
        "-R", str(tmp_path / "R"), "-b", "4096", "-s", "-t", "0.2", "-T", "5", "-g", "-L", str(tmp_path / "L"),
        "-4", "-S15", "--statistics", "-u", "-", "STDOUT", input=b"together", timeout=20,
    )
    assert (r.returncode, r.stdout) == (0, b"together"), r.stderr
    assert (tmp_path / "r").read_bytes() == b"together"
    assert all(m.group(4) == "combo" for m in log_lines(logf.read_text()))
