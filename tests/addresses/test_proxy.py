"""PROXY (HTTP CONNECT) against small proxies written here; malformed replies fuzzed.

Each test proxy serves one connection in a thread: it reads the request up to the
empty line, answers, and then echoes the tunnelled bytes (it is its own target).
"""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Callable
from pathlib import Path

from conftest import OneShot, echo, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def read_request(server: OneShot, conn: socket.socket) -> bytes:
    """Read the proxy request up to its empty line; remember it as ``server.request``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    server.request = data
    return data


def proxy(reply: bytes, then: Callable[[socket.socket], None] | None = echo) -> OneShot:
    server: OneShot

    def handle(conn: socket.socket) -> None:
        read_request(server, conn)
        conn.sendall(reply)
        if then is not None:
            then(conn)

    server = OneShot(handle)
    return server


def errors(err: bytes) -> list[str]:
    return [line for line in err.decode(errors="replace").splitlines() if " E " in line]


def test_connect_tunnel_echo() -> None:
    srv = proxy(b"HTTP/1.0 200 Connection established\r\nVia: test\r\n\r\n")
    res = run("-", f"PROXY:127.0.0.1:target.example:443,proxyport={srv.port}", input=b"through the tunnel\n")
    srv.join()
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"through the tunnel\n"
    assert srv.request == b"CONNECT target.example:443 HTTP/1.0\r\n\r\n"


def test_data_right_after_the_reply_is_kept() -> None:
    """Bytes the proxy sends in the same packet as its reply belong to the tunnel."""

    def greet_then_echo(conn: socket.socket) -> None:
        echo(conn)

    srv = proxy(b"HTTP/1.1 200 OK\n\nbanner\n", greet_then_echo)
    res = run("-", f"PROXY-CONNECT:127.0.0.1:h:1,proxyport={srv.port}", input=b"")
    srv.join()
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"banner\n"


def test_proxy_authorization() -> None:
    srv = proxy(b"HTTP/1.0 200 OK\r\n\r\n")
    res = run("-", f"PROXY:127.0.0.1:h:80,proxyport={srv.port},proxyauth=user:pa:ss", input=b"x")
    srv.join()
    assert res.returncode == 0, res.stderr
    token = base64.b64encode(b"user:pa:ss").decode()
    assert f"Proxy-authorization: Basic {token}\r\n".encode() in srv.request


def test_proxy_authorization_file(tmp_path: Path) -> None:
    """The file's bytes are encoded as they are, trailing newline included (as socat)."""
    auth = tmp_path / "auth"
    auth.write_bytes(b"user:s3cr3t\n")
    srv = proxy(b"HTTP/1.0 200 OK\r\n\r\n")
    res = run("/dev/null", f"PROXY:127.0.0.1:127.0.0.1:1000,proxyport={srv.port},proxy-authorization-file={auth}")
    srv.join()
    assert res.returncode == 0, res.stderr
    assert b"Proxy-authorization: Basic dXNlcjpzM2NyM3QK\r\n" in srv.request


def test_proxy_resolve_sends_an_address() -> None:
    srv = proxy(b"HTTP/1.0 200 OK\r\n\r\n")
    res = run("/dev/null", f"PROXY:127.0.0.1:localhost:8443,proxyport={srv.port},resolve,pf=ip4")
    srv.join()
    assert res.returncode == 0, res.stderr
    assert srv.request.startswith(b"CONNECT 127.0.0.1:8443 HTTP/1.0\r\n")


def test_status_with_several_spaces() -> None:
    srv = proxy(b"HTTP/1.0   200 OK\r\n\r\n")
    res = run("-", f"PROXY:127.0.0.1:h:1,proxyport={srv.port}", input=b"s\n")
    srv.join()
    assert (res.returncode, res.stdout) == (0, b"s\n"), res.stderr


def test_refusal_is_one_error_line() -> None:
    srv = proxy(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", None)
    res = run("-", f"PROXY:127.0.0.1:h:1,proxyport={srv.port}", input=b"x")
    srv.join()
    assert res.returncode == 1
    lines = errors(res.stderr)
    assert len(lines) == 1 and '"HTTP/1.1 403 Forbidden"' in lines[0], res.stderr


def test_oversized_reply_line() -> None:
    srv = proxy(b"HTTP/1.0 200 " + b"A" * 20000, None)
    res = run("-", f"PROXY:127.0.0.1:h:1,proxyport={srv.port}", input=b"x")
    srv.join()
    assert res.returncode == 1
    assert "longer than 8192 bytes" in res.stderr.decode()


def test_too_many_headers() -> None:
    srv = proxy(b"HTTP/1.0 200 OK\r\n" + b"X: y\r\n" * 200, None)
    res = run("-", f"PROXY:127.0.0.1:h:1,proxyport={srv.port}", input=b"x")
    srv.join()
    assert res.returncode == 1 and "header lines" in res.stderr.decode()


def test_silent_proxy_bounded_by_connect_timeout() -> None:
    srv = proxy(b"HTTP/1.0 200", lambda conn: time.sleep(5))
    t0 = time.monotonic()
    res = run("-", f"PROXY:127.0.0.1:h:1,proxyport={srv.port},connect-timeout=0.5", input=b"x")
    assert time.monotonic() - t0 < 4
    assert res.returncode == 1 and "no reply within 0.5 seconds" in res.stderr.decode()


def test_bad_proxyport_and_target_port() -> None:
    res = run("-", "PROXY:127.0.0.1:h:1,proxyport=99999")
    assert res.returncode == 1 and "invalid port" in res.stderr.decode()
    res = run("-", "PROXY:127.0.0.1:h:70000")
    assert res.returncode == 1 and "invalid port" in res.stderr.decode()


def test_long_target_name_is_no_crash() -> None:
    """socat's PROXY_ADDR_OVFL: a 384-byte host name ends normally (here: proxy closes)."""
    srv = OneShot(lambda conn: None)
    res = run("/dev/null", f"PROXY-CONNECT:localhost:{'A' * 384}:80,proxyport={srv.port}")
    srv.join()
    assert res.returncode == 1
    assert len(errors(res.stderr)) == 1 and "Traceback" not in res.stderr.decode()


_status = st.sampled_from([b"HTTP/1.0 200 OK", b"HTTP/1.1 407 Auth", b"HTTP/1.0 200", b"HTTP/9", b"", b"200 OK"])
_junk = st.binary(max_size=300)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(status=_status, junk=_junk, ending=st.sampled_from([b"", b"\r\n", b"\r\n\r\n", b"\n\n"]))
def test_malformed_replies_end_with_one_error_line(status: bytes, junk: bytes, ending: bytes) -> None:
    reply = status + junk + ending
    srv = proxy(reply, None)  # the proxy answers and closes
    res = run("/dev/null", f"PROXY:127.0.0.1:h:1,proxyport={srv.port},connect-timeout=2", timeout=15)
    srv.join()
    err = res.stderr.decode(errors="replace")
    assert "Traceback" not in err
    assert res.returncode in (0, 1)
    if res.returncode == 1:
        assert len(errors(res.stderr)) == 1, err
