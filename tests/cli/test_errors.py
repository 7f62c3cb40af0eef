"""Bad input and faults through the real CLI: one E line, exit 1, no traceback, nothing created first."""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import PYSOCAT, finish, free_port, run, start, wait_tcp

E_LINE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d pysocat\[(\d+)\] E (.+)$")
ANY_LOG_LINE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(\.\d+)? \S+\[\d+\] [DINWEF] .*$")


def error_message(r: subprocess.CompletedProcess[bytes] | tuple[int, bytes], *needles: str) -> str:
    """Assert exit 1, exactly one well-formed E line, only log lines on stderr, no traceback."""
    rc, err = (r.returncode, r.stderr) if isinstance(r, subprocess.CompletedProcess) else r
    text = err.decode("utf-8", "replace")
    assert "Traceback" not in text, text
    assert rc == 1, f"rc={rc} stderr={text!r}"
    lines = [line for line in text.splitlines() if line.strip()]
    for line in lines:
        assert ANY_LOG_LINE.match(line), f"not a log line: {line!r}"
    errors = [m for m in (E_LINE.match(line) for line in lines) if m]
    assert len(errors) == 1, f"expected exactly one E line: {text!r}"
    message = errors[0].group(2)
    for needle in needles:
        assert needle.lower() in message.lower(), f"{needle!r} not in {message!r}"
    return message


def bad(*args: str, input: bytes = b"", **kw: object) -> subprocess.CompletedProcess[bytes]:
    return run(*args, input=input, timeout=20, **kw)


# --- address grammar and types --------------------------------------------------------


@pytest.mark.parametrize("addr", ["FOO:bar", "NOSUCHTYPE", "TCP-CONNECTX:h:1", "foo:bar,reuseaddr"])
def test_unknown_address_type(addr: str) -> None:
    r = bad(addr, "-")
    msg = error_message(r, "unknown device/address")
    assert addr.split(":")[0].split(",")[0].lower() in msg.lower()
    assert r.stdout == b""


@pytest.mark.parametrize(
    ("addr", "usage"),
    [
        ("TCP:127.0.0.1", "tcp:<host>:<port>"),
        ("TCP:127.0.0.1:80:9", "tcp:<host>:<port>"),
        ("TCP-LISTEN", "tcp-listen:<port>"),
        ("TCP-LISTEN:1:2", "tcp-listen:<port>"),
        ("OPEN", "open:<filename>"),
        ("UNIX-CONNECT:a:b", "unix-connect:"),
        ("STDIO:x", "stdio"),
        ("FD", "fd:<num>"),
    ],
)
def test_wrong_number_of_parameters(addr: str, usage: str) -> None:
    msg = error_message(bad(addr, "-"), "wrong number of parameters", "usage:")
    assert usage in msg.lower()


def test_wrong_number_of_parameters_in_second_address() -> None:
    error_message(bad("-", "TCP:127.0.0.1"), "wrong number of parameters", "usage:")


def test_unknown_option() -> None:
    error_message(bad("TCP:127.0.0.1:80,nosuchopt=1", "-"), "unknown option", "nosuchopt")


def test_unknown_option_without_value() -> None:
    error_message(bad("-", "STDOUT,nosuchflag"), "unknown option", "nosuchflag")


@pytest.mark.parametrize(
    ("addr", "opt"),
    [
        ("OPEN:/etc/hostname,reuseaddr", "reuseaddr"),
        ("TCP:127.0.0.1:80,range=127.0.0.1/8", "range"),
        ("TCP:127.0.0.1:80,creat", "creat"),
        ("STDIO,fork", "fork"),
        ("TCP:127.0.0.1:80,backlog=5", "backlog"),
    ],
)
def test_option_not_valid_for_type(addr: str, opt: str) -> None:
    error_message(bad(addr, "-"), opt, "not supported")


@pytest.mark.parametrize("port", ["99999", "65536", "-1", "100000000000000000000"])
@pytest.mark.parametrize("head", ["TCP:127.0.0.1:{}", "TCP-LISTEN:{}", "TCP4-LISTEN:{}"])
def test_port_out_of_range_is_rejected_not_wrapped(head: str, port: str) -> None:
    """socat wraps 99999 to 34463 and 65536 to 0; pysocat must refuse before doing anything."""
    r = bad("-u", head.format(port), "/dev/null")
    error_message(r, port)


def test_port_out_of_range_option() -> None:
    error_message(bad("TCP:127.0.0.1:80,sourceport=70000", "-"), "sourceport")


def test_port_not_a_service() -> None:
    error_message(bad("TCP:127.0.0.1:nosuchservicexyz", "-"))


@pytest.mark.parametrize("opt", ["sndbuf=-1", "sndbuf=99999999999999999999", "rcvbuf=abc", "keepcnt=0",
                                 "connect-timeout=abc", "connect-timeout=-1", "linger=x"])
def test_bad_option_values(opt: str) -> None:
    error_message(bad(f"TCP:127.0.0.1:80,{opt}", "-"), opt.split("=")[0])


@pytest.mark.parametrize("opt", ["mode=999", "perm=999", "mode=abc", "perm=-1", "perm=77777"])
def test_bad_mode_creates_nothing(tmp_path: Path, opt: str) -> None:
    target = tmp_path / "f"
    error_message(bad("-u", "/dev/null", f"CREATE:{target},{opt}"), opt.split("=")[0])
    assert not target.exists()


@pytest.mark.parametrize("opt", ["user=no-such-user-xyz", "group=no-such-group-xyz", "user=99999999999999999999",
                                 "group=4294967296"])
def test_bad_owner_creates_nothing(tmp_path: Path, opt: str) -> None:
    target = tmp_path / "f"
    msg = error_message(bad("-u", "/dev/null", f"CREATE:{target},{opt}"), opt.split("=")[0])
    assert "internal error" not in msg
    assert not target.exists()


# --- global options -----------------------------------------------------------------


@pytest.mark.parametrize("args", [["-b", "0"], ["-b0"], ["-b", "-1"], ["-b", "abc"], ["-b", "99999999999999999999"]])
def test_bad_buffer_size(args: list[str]) -> None:
    error_message(bad(*args, "-", "-"), "-b")


@pytest.mark.parametrize("args", [["-t", "abc"], ["-tabc"], ["-t", "-1"], ["-T", "abc"], ["-T", "-5"], ["-t", "nan"]])
def test_bad_timeouts(args: list[str]) -> None:
    error_message(bad(*args, "-", "-"), args[0][:2])


@pytest.mark.parametrize("flag", ["-b", "-t", "-T", "-lf", "-L", "-W", "-r", "-R", "-lp"])
def test_global_option_missing_value(flag: str) -> None:
    error_message(bad(flag))


def test_u_with_U() -> None:
    error_message(bad("-u", "-U", "-", "-"), "-U", "-u")


@pytest.mark.parametrize("flag", ["-Z", "-q", "--nosuch", "-dx"])
def test_unknown_global_option(flag: str) -> None:
    error_message(bad(flag, "-", "-"), "unknown option", flag)


@pytest.mark.parametrize("args", [[], ["-"], ["-", "-", "-"], ["-u", "/dev/null"]])
def test_missing_or_extra_addresses(args: list[str]) -> None:
    error_message(bad(*args), "exactly 2 addresses required", f"there are {len([a for a in args if a != '-u'])}")


@pytest.mark.parametrize("args", [["", "-"], ["-", ""], [",", "-"], ["!!", "-"], ["-!!", "-"], ["!!-", "-"]])
def test_empty_address(args: list[str]) -> None:
    error_message(bad(*args))


# --- quoting ------------------------------------------------------------------------


@pytest.mark.parametrize("addr", ['OPEN:/tmp/ab"cd', "OPEN:/tmp/ab'cd", "EXEC:[echo", "EXEC:{echo", "EXEC:(echo",
                                  "TCP:[::1:80", "SYSTEM:'echo hi", "EXEC:[a)"])
def test_unbalanced_quotes_and_brackets(addr: str) -> None:
    error_message(bad(addr, "-"))


def test_unbalanced_quote_does_not_swallow_next_argv(tmp_path: Path) -> None:
    """socat reads past the end of argv: OPEN:/tmp/ab'cd /dev/null opens "/tmp/abcd/dev/null"."""
    msg = error_message(bad(f"OPEN:{tmp_path}/ab'cd", "/dev/null"))
    assert "/dev/null" not in msg
    assert "wrong number of parameters" not in msg
    assert list(tmp_path.iterdir()) == []


def test_unbalanced_quote_in_middle_argv() -> None:
    msg = error_message(bad("-u", "/dev/null", "OPEN:/tmp/ab'cd", "OPEN:/tmp/xy"))
    assert "(3 instead of 1)" not in msg


def test_unbalanced_quote_in_last_argv_does_not_read_environment(tmp_path: Path) -> None:
    """socat creates a file named qxSECRET=hunter2 and exits 0."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SECRET": "hunter2"}
    r = subprocess.run([*PYSOCAT, "-u", "/dev/null", f"CREATE:{tmp_path}/q'x"], env=env, capture_output=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    msg = error_message(r)
    assert "hunter2" not in msg
    assert list(tmp_path.iterdir()) == []


# --- nothing created before all addresses are checked ----------------------------------------


def test_create_with_unknown_option_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "x"
    error_message(bad("-u", "/dev/null", f"CREATE:{target},nosuchopt"), "nosuchopt")
    assert not target.exists()


@pytest.mark.parametrize("second", ["FOO:bar", "TCP:127.0.0.1", "TCP:127.0.0.1:99999", "TCP:127.0.0.1:80,nosuchopt",
                                    "OPEN:/etc/hostname,reuseaddr", "OPEN:'x", "", "TCP:127.0.0.1:80,sndbuf=-1"])
def test_first_address_not_opened_when_second_is_bad(tmp_path: Path, second: str) -> None:
    error_message(bad("OPEN:f,creat", second, cwd=tmp_path))
    assert not (tmp_path / "f").exists()


def test_listener_not_created_when_second_is_bad(tmp_path: Path) -> None:
    """The second address is checked before the first one starts listening (no wait for a client)."""
    sock = tmp_path / "s"
    try:
        r = run(f"UNIX-LISTEN:{sock}", "TCP:127.0.0.1:99999", input=b"", timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("listened for a client although the second address is invalid")
    error_message(r, "99999")
    assert not sock.exists()


def test_bad_global_option_creates_nothing(tmp_path: Path) -> None:
    error_message(bad("-b", "0", "-u", "/dev/null", "OPEN:f,creat", cwd=tmp_path))
    assert not (tmp_path / "f").exists()


def test_lock_exists_creates_nothing(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.write_text("x")
    error_message(bad("-L", str(lock), "-u", "/dev/null", "OPEN:f,creat", cwd=tmp_path))
    assert not (tmp_path / "f").exists()


# --- resolution and connection -------------------------------------------------------


def test_unresolvable_host() -> None:
    """socat 1.8 exits 255 with only W lines when the resolver is unreachable; pysocat must say E and exit 1."""
    error_message(bad("TCP:nonexistent.invalid:80", "-"), "nonexistent.invalid")


def test_connection_refused() -> None:
    port = free_port()
    error_message(bad(f"TCP:127.0.0.1:{port}", "-"), "Connection refused")


def test_unix_connect_missing(tmp_path: Path) -> None:
    error_message(bad(f"UNIX-CONNECT:{tmp_path}/none.sock", "-"), "No such file or directory")


def test_open_missing_file(tmp_path: Path) -> None:
    error_message(bad(f"OPEN:{tmp_path}/nonexistent/file", "-"), "No such file or directory")


def test_listen_port_busy(procs: list[subprocess.Popen[bytes]]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        error_message(bad(f"TCP4-LISTEN:{port},bind=127.0.0.1", "-"), "Address already in use")


def test_bind_unassignable_address() -> None:
    port = free_port()
    error_message(bad(f"TCP4-LISTEN:{port},bind=192.0.2.1", "-"), "Cannot assign requested address")


@pytest.mark.parametrize("head", ["UNIX-CONNECT", "UNIX-LISTEN", "UNIX-CLIENT"])
def test_unix_path_too_long(tmp_path: Path, head: str) -> None:
    path = tmp_path / ("a" * 200)
    error_message(bad(f"{head}:{path}", "-"), "too long")
    assert not path.exists()


# --- permission denied ---------------------------------------------------------------------


def _unprivileged_prefix() -> list[str]:
    """Run as a user the file permissions apply to; as root drop the DAC override capabilities."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be enforced")
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        pytest.skip(f"setpriv cannot drop capabilities here: {probe.stderr!r}")
    return prefix


def test_permission_denied_open(tmp_path: Path) -> None:
    prefix = _unprivileged_prefix()
    target = tmp_path / "locked"
    target.write_bytes(b"secret")
    target.chmod(0)
    if not prefix and os.access(target, os.R_OK):
        pytest.skip("permissions not enforced for this user")
    r = subprocess.run([*prefix, *PYSOCAT, f"OPEN:{target}", "-"], capture_output=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    error_message(r, "Permission denied")
    assert r.stdout == b""


def test_permission_denied_create_in_readonly_dir(tmp_path: Path) -> None:
    prefix = _unprivileged_prefix()
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        r = subprocess.run([*prefix, *PYSOCAT, "-u", "/dev/null", f"CREATE:{ro}/new"], capture_output=True,
                           timeout=20, stdin=subprocess.DEVNULL)
        error_message(r, "Permission denied")
        assert not (ro / "new").exists()
        r = subprocess.run([*prefix, *PYSOCAT, f"UNIX-LISTEN:{ro}/sock", "-"], capture_output=True,
                           timeout=20, stdin=subprocess.DEVNULL)
        error_message(r, "Permission denied")
    finally:
        ro.chmod(0o755)


# --- standard fds closed at start --------------------------------------------------------


def _bash(script: str, timeout: float = 20) -> subprocess.CompletedProcess[bytes]:
    cmd = " ".join(f"'{a}'" for a in PYSOCAT)
    return subprocess.run(["bash", "-c", script.replace("PYSOCAT", cmd)], capture_output=True, timeout=timeout)


def test_stdout_closed_at_start() -> None:
    """socat: rc 0 and the data written to its own internal socket on fd 1."""
    r = _bash("echo hi | PYSOCAT -u STDIN STDOUT >&-")
    error_message(r, "fd 1")


def test_stdin_closed_at_start() -> None:
    """socat hangs (fd 0 is reused internally)."""
    r = _bash("PYSOCAT -u STDIN STDOUT <&-")
    error_message(r, "fd 0")


def test_stdin_closed_with_stdio() -> None:
    r = _bash("PYSOCAT - /dev/null <&-")
    error_message(r)


def test_stderr_closed_does_not_capture_log(tmp_path: Path) -> None:
    """With fd 2 closed, a file opened later must not receive log lines."""
    target = tmp_path / "out"
    r = _bash(f"echo data | PYSOCAT -dd -u - OPEN:{target},creat 2>&-")
    assert r.returncode == 0
    assert target.read_bytes() == b"data\n"


# --- mid-transfer faults ------------------------------------------------------------------


@pytest.mark.parametrize("dest", ["/dev/full", "OPEN:/dev/full", "GOPEN:/dev/full"])
def test_write_to_dev_full(dest: str) -> None:
    error_message(bad("-u", "-", dest, input=b"hi\n"), "No space left on device")


def test_output_into_head_ends_with_broken_pipe() -> None:
    p1 = subprocess.Popen([*PYSOCAT, "-u", "/dev/zero", "STDOUT"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL)
    p2 = subprocess.Popen(["head", "-c10"], stdin=p1.stdout, stdout=subprocess.PIPE)
    assert p1.stdout is not None
    p1.stdout.close()
    out, _ = p2.communicate(timeout=20)
    try:
        err = p1.stderr.read() if p1.stderr else b""  # type: ignore[union-attr]
        rc = p1.wait(timeout=20)
    finally:
        if p1.poll() is None:
            p1.kill()
            p1.wait(timeout=5)
    assert out == b"\0" * 10
    assert rc != -13 and rc != 141, "killed by SIGPIPE"
    error_message((rc, err), "Broken pipe")


def _rst_close(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def test_peer_reset_while_reading(procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start("-u", f"TCP-LISTEN:{port},reuseaddr", "STDOUT", stdin=subprocess.DEVNULL)
    procs.append(p)
    wait_tcp(port)
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"x" * 100_000)
    time.sleep(0.5)
    _rst_close(c)
    rc, out, err = finish(p)
    error_message((rc, err), "Connection reset by peer")


def test_peer_reset_while_idle_bidirectional(procs: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    p = start(f"TCP-LISTEN:{port},reuseaddr", "-")
    procs.append(p)
    wait_tcp(port)
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    time.sleep(0.3)
    _rst_close(c)
    rc, out, err = finish(p)
    error_message((rc, err), "Connection reset by peer")


def test_peer_reset_while_writing() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(15)
    port = srv.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        got = 0
        conn.settimeout(10)
        while got < 65536:
            chunk = conn.recv(65536)
            if not chunk:
                break
            got += len(chunk)
        _rst_close(conn)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        r = run("-u", "/dev/zero", f"TCP:127.0.0.1:{port}", timeout=20)
    finally:
        t.join(timeout=10)
        srv.close()
    msg = error_message(r)
    assert "Connection reset by peer" in msg or "Broken pipe" in msg, msg


def test_an_option_nothing_uses_fails_the_open_as_socat(tmp_path: Path) -> None:
    """socat's showleft(): a W line naming the option, then one E line, status 1, no transfer."""
    out = tmp_path / "out"
    r = run("-u", "STDIN,bind=127.0.0.1", f"OPEN:{out},creat", input=b"data", timeout=20)
    assert r.returncode == 1, r.stderr
    assert re.search(rb' W showleft\(\): option "bind" not inquired\n', r.stderr), r.stderr
    assert r.stderr.count(b" E ") == 1 and b"E 1 option(s) could not be used" in r.stderr
    assert not out.exists() or out.read_bytes() == b""


def test_sloppy_turns_an_unused_option_into_a_warning(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run("-s", "-u", "STDIN,bind=127.0.0.1", f"OPEN:{out},creat", input=b"data", timeout=20)
    assert r.returncode == 0, r.stderr
    assert b"W 1 option(s) could not be used" in r.stderr and b" E " not in r.stderr
    assert out.read_bytes() == b"data"


def test_fork_on_a_connecting_address_says_it_opens_one_connection(tmp_path: Path) -> None:
    """socat keeps connecting in children; pysocat does not yet, and says so (a W line, not showleft's E)."""
    port = free_port()
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen(1)
        r = run("-u", "-", f"TCP:127.0.0.1:{port},fork", input=b"data", timeout=20)
        conn, _ = server.accept()
        with conn:
            assert conn.recv(100) == b"data"
    assert r.returncode == 0, r.stderr
    assert b'W option "fork" on an address that does not listen' in r.stderr
