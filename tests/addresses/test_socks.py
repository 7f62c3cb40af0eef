"""SOCKS4, SOCKS4A, SOCKS5-CONNECT and SOCKS5-LISTEN against small servers written here.

Each test server serves one connection in a thread, checks the request it gets,
replies, and then echoes the tunnelled bytes.  Malformed replies are fuzzed.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable

from conftest import OneShot, echo, run, start
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

GRANTED4 = b"\0\x5a\0\0\0\0\0\0"


def recv_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise OSError("short")
        data += chunk
    return data


def recv_until_nul(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\0"):
        chunk = conn.recv(1)
        if not chunk:
            raise OSError("short")
        data += chunk
    return data[:-1]


def socks4_server(reply: bytes = GRANTED4, then: Callable[[socket.socket], None] | None = echo) -> OneShot:
    srv: OneShot

    def handle(conn: socket.socket) -> None:
        head = recv_exact(conn, 8)
        user = recv_until_nul(conn)
        srv.got += [head, user]
        if head[4:8] == b"\0\0\0\1":
            srv.got.append(recv_until_nul(conn))
        conn.sendall(reply)
        if then is not None:
            then(conn)

    srv = OneShot(handle)
    return srv


def errors(err: bytes) -> list[str]:
    return [line for line in err.decode(errors="replace").splitlines() if " E " in line]


def test_socks4_connect() -> None:
    srv = socks4_server()
    res = run("-", f"SOCKS4:127.0.0.1:32.98.76.54:32109,socksport={srv.port},socksuser=nobody", input=b"socks4\n")
    srv.join()
    assert (res.returncode, res.stdout) == (0, b"socks4\n"), res.stderr
    assert srv.got[0] == b"\4\1" + struct.pack("!H", 32109) + bytes([32, 98, 76, 54])
    assert srv.got[1] == b"nobody"


def test_socks4a_sends_the_name() -> None:
    srv = socks4_server()
    res = run("-", f"SOCKS4A:127.0.0.1:far.example:80,socksport={srv.port},socksuser=me", input=b"4a\n")
    srv.join()
    assert (res.returncode, res.stdout) == (0, b"4a\n"), res.stderr
    assert srv.got[0][4:8] == b"\0\0\0\1"
    assert srv.got[1:] == [b"me", b"far.example"]


def test_socks4_refusal_names_the_reason() -> None:
    srv = socks4_server(b"\0\x5b\0\0\0\0\0\0", None)
    res = run("-", f"SOCKS4:127.0.0.1:127.0.0.1:80,socksport={srv.port}", input=b"x")
    srv.join()
    assert res.returncode == 1
    lines = errors(res.stderr)
    assert len(lines) == 1 and "request rejected or failed" in lines[0], res.stderr


def test_socks4_identd_refusal() -> None:
    srv = socks4_server(b"\0\x5d\0\0\0\0\0\0", None)
    res = run("-", f"SOCKS:127.0.0.1:127.0.0.1:80,socksport={srv.port}", input=b"x")
    srv.join()
    assert res.returncode == 1 and "different user-ids" in res.stderr.decode()


def test_socks4_truncated_reply() -> None:
    srv = socks4_server(b"\0\x5a\0", None)
    res = run("-", f"SOCKS4:127.0.0.1:127.0.0.1:80,socksport={srv.port}", input=b"x")
    srv.join()
    assert res.returncode == 1
    lines = errors(res.stderr)
    assert len(lines) == 1 and "after 3 of 8 bytes" in lines[0], res.stderr


def test_socks4_silent_server_bounded() -> None:
    srv = socks4_server(b"", lambda conn: time.sleep(5))
    t0 = time.monotonic()
    res = run("-", f"SOCKS4:127.0.0.1:127.0.0.1:80,socksport={srv.port},connect-timeout=0.5", input=b"x")
    assert time.monotonic() - t0 < 4
    assert res.returncode == 1 and "no reply within 0.5 seconds" in res.stderr.decode()


def socks5_server(
    methods_reply: bytes = b"\5\0", reply: bytes = b"\5\0\0\1\x7f\0\0\1\0\x50", auth_ok: bool = True,
    then: Callable[[socket.socket], None] | None = echo, second: bytes | None = None,
) -> OneShot:
    srv: OneShot

    def handle(conn: socket.socket) -> None:
        ver, n = recv_exact(conn, 2)
        srv.got.append(bytes([ver, n]) + recv_exact(conn, n))
        conn.sendall(methods_reply)
        if methods_reply == b"\5\2":
            ver, ulen = recv_exact(conn, 2)
            user = recv_exact(conn, ulen)
            plen = recv_exact(conn, 1)[0]
            srv.got.append(user + b":" + recv_exact(conn, plen))
            conn.sendall(b"\1\0" if auth_ok else b"\1\1")
            if not auth_ok:
                return
        elif methods_reply != b"\5\0":
            return
        head = recv_exact(conn, 4)
        atyp = head[3]
        if atyp == 3:
            size = recv_exact(conn, 1)
            addr = size + recv_exact(conn, size[0])
        else:
            addr = recv_exact(conn, 4 if atyp == 1 else 16)
        port = recv_exact(conn, 2)
        srv.got.append(head + addr + port)
        conn.sendall(reply)
        if second is not None:
            time.sleep(0.2)
            conn.sendall(second)
        if then is not None:
            then(conn)

    srv = OneShot(handle)
    return srv


def test_socks5_connect_by_name() -> None:
    srv = socks5_server()
    res = run("-", f"SOCKS5-CONNECT:127.0.0.1:{srv.port}:far.example:443", input=b"five\n")
    srv.join()
    assert (res.returncode, res.stdout) == (0, b"five\n"), res.stderr
    assert srv.got[0] == b"\5\1\0"
    assert srv.got[1] == b"\5\1\0\3" + bytes([11]) + b"far.example" + struct.pack("!H", 443)


def test_socks5_three_parameter_form_uses_socksport() -> None:
    """socat 1.8: SOCKS5-CONNECT:<socks-server>[:<socks-port>]:<host>:<port>; the port comes from socksport."""
    srv = socks5_server()
    res = run("-", f"SOCKS5-CONNECT:127.0.0.1:far.example:443,socksport={srv.port}", input=b"three\n")
    srv.join()
    assert (res.returncode, res.stdout) == (0, b"three\n"), res.stderr
    assert srv.got[1] == b"\5\1\0\3" + bytes([11]) + b"far.example" + struct.pack("!H", 443)


def test_socks5_bad_socks_port_is_one_error_line() -> None:
    res = run("-", "SOCKS5-CONNECT:127.0.0.1:99999:h:1")
    assert res.returncode == 1
    assert res.stderr.count(b" E ") == 1 and b"99999" in res.stderr, res.stderr


def test_socks5_connect_ipv6_literal() -> None:
    srv = socks5_server(reply=b"\5\0\0\4" + bytes(16) + b"\0\1")
    res = run("-", f"SOCKS5:127.0.0.1:{srv.port}:[::1]:22", input=b"v6\n")
    srv.join()
    assert (res.returncode, res.stdout) == (0, b"v6\n"), res.stderr
    assert srv.got[1] == b"\5\1\0\4" + socket.inet_pton(socket.AF_INET6, "::1") + b"\0\x16"


def test_socks5_user_password() -> None:
    srv = socks5_server(methods_reply=b"\5\2")
    res = run("-", f"SOCKS5-CONNECT:127.0.0.1:{srv.port}:h:1,socksuser=alice,sockspass=s3cret", input=b"auth\n")
    srv.join()
    assert (res.returncode, res.stdout) == (0, b"auth\n"), res.stderr
    assert srv.got[0] == b"\5\2\0\2"
    assert srv.got[1] == b"alice:s3cret"


def test_socks5_bad_password() -> None:
    srv = socks5_server(methods_reply=b"\5\2", auth_ok=False)
    res = run("-", f"SOCKS5-CONNECT:127.0.0.1:{srv.port}:h:1,socksuser=alice,sockspass=wrong", input=b"x")
    srv.join()
    assert res.returncode == 1
    lines = errors(res.stderr)
    assert len(lines) == 1 and "authentication failed" in lines[0], res.stderr


def test_socks5_no_acceptable_method() -> None:
    srv = socks5_server(methods_reply=b"\5\xff")
    res = run("-", f"SOCKS5-CONNECT:127.0.0.1:{srv.port}:h:1", input=b"x")
    srv.join()
    assert res.returncode == 1 and "none of our authentication methods" in res.stderr.decode()


def test_socks5_refusal_names_the_reason() -> None:
    srv = socks5_server(reply=b"\5\5\0\1\0\0\0\0\0\0", then=None)
    res = run("-", f"SOCKS5-CONNECT:127.0.0.1:{srv.port}:h:1", input=b"x")
    srv.join()
    assert res.returncode == 1
    lines = errors(res.stderr)
    assert len(lines) == 1 and "connection refused" in lines[0], res.stderr


def test_socks5_listen_bind() -> None:
    second = b"\5\0\0\1\xc0\0\2\1\x30\x39"  # the peer 192.0.2.1:12345 connected
    srv = socks5_server(reply=b"\5\0\0\1\x7f\0\0\1\x1f\x90", second=second)
    proc = start("-d", "-d", f"SOCKS5-LISTEN:127.0.0.1:{srv.port}:0.0.0.0:8080", "-")
    out, err = proc.communicate(b"bound\n", timeout=20)
    srv.join()
    assert proc.returncode == 0, err
    assert out == b"bound\n"
    assert srv.got[1][:2] == b"\5\2"
    text = err.decode()
    assert "listening on AF=2 127.0.0.1:8080" in text
    assert "accepting connection from AF=2 192.0.2.1:12345" in text


def test_socksuser_needs_sockspass_for_socks5() -> None:
    res = run("-", "SOCKS5-CONNECT:127.0.0.1:1080:h:1,socksuser=alice")
    assert res.returncode == 1 and "sockspass" in res.stderr.decode()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(methods=st.binary(max_size=3), reply=st.binary(max_size=40))
def test_socks5_malformed_replies(methods: bytes, reply: bytes) -> None:
    srv = socks5_server(methods_reply=methods[:2] if methods[:2] != b"\5\2" else b"\5\0", reply=reply, then=None)
    res = run("/dev/null", f"SOCKS5-CONNECT:127.0.0.1:{srv.port}:h:1,connect-timeout=2", timeout=15)
    srv.join()
    err = res.stderr.decode(errors="replace")
    assert "Traceback" not in err
    assert res.returncode in (0, 1)
    if res.returncode == 1:
        assert len(errors(res.stderr)) == 1, err


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reply=st.binary(max_size=12))
def test_socks4_malformed_replies(reply: bytes) -> None:
    srv = socks4_server(reply, None)
    res = run("/dev/null", f"SOCKS4A:127.0.0.1:h:1,socksport={srv.port},connect-timeout=2", timeout=15)
    srv.join()
    err = res.stderr.decode(errors="replace")
    assert "Traceback" not in err
    if len(reply) >= 8 and reply[0] in (0, 4) and reply[1] == 90:
        assert res.returncode == 0, err
    else:
        assert res.returncode == 1 and len(errors(res.stderr)) == 1, err
