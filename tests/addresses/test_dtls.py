"""OPENSSL-DTLS-CLIENT and OPENSSL-DTLS-SERVER through the real CLI (pyOpenSSL, the ``dtls`` extra).

Certificates are made at test time with the ``openssl`` command (EC keys: fast):
a CA, a server certificate for localhost/127.0.0.1 and a client certificate.
"""

from __future__ import annotations

import importlib.util
import os
import select
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, finish, free_port, run, start, wait_udp

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("OpenSSL") is None,
                       reason="needs pyOpenSSL (pip install -e '.[dtls]')"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command"),
]

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
UDP = (socket.AF_INET, socket.SOCK_DGRAM)


def _ssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _issue(d: Path, name: str, cn: str, san: str | None) -> None:
    _ssl("req", *EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
    (d / f"{name}.ext").write_text(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
    _ssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    (d / f"{name}.pem").write_bytes((d / f"{name}.crt").read_bytes() + (d / f"{name}.key").read_bytes())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("dtls-pki")
    _ssl("req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=pysocat DTLS CA", cwd=d)
    _issue(d, "srv", "localhost", "DNS:localhost,IP:127.0.0.1")
    _issue(d, "cli", "client", None)
    return d


def _server(procs: list, port: int, *opts: str, second: str = "PIPE", debug: int = 2) -> subprocess.Popen[bytes]:
    # stderr is a pipe read only at the end: keep the log short (-d -d) so it never fills
    p = start(*["-d"] * debug, f"OPENSSL-DTLS-SERVER:{port}," + ",".join(opts), second)
    procs.append(p)
    wait_udp(port)
    return p


def _errors(err: bytes) -> list[str]:
    return [line for line in err.decode(errors="replace").splitlines() if " E " in line]


def _client(port: int, pki: Path, extra: str = "") -> str:
    return f"OPENSSL-DTLS-CLIENT:localhost:{port},cafile={pki}/ca.crt,connect-timeout=5{extra}"


def test_echo(pki: Path, procs: list) -> None:
    port = free_port(*UDP)
    server = _server(procs, port, f"cert={pki}/srv.pem", "verify=0", debug=3)
    res = run("-", _client(port, pki), input=b"hello dtls\n")
    assert (res.returncode, res.stdout) == (0, b"hello dtls\n"), res.stderr
    rc, _out, err = finish(server, timeout=10)  # close_notify from the client is EOF: the server ends too
    assert rc == 0, err
    assert not _errors(err)
    assert b"SSL protocol version used: DTLSv1.2" in err


def test_fork_serves_two_clients_at_once(pki: Path, procs: list) -> None:
    port = free_port(*UDP)
    _server(procs, port, f"cert={pki}/srv.pem", "verify=0", "fork")
    clients = [start("-t", "1", "-", _client(port, pki)) for _ in range(2)]
    procs.extend(clients)
    for n, c in enumerate(clients):
        assert c.stdin is not None
        c.stdin.write(f"client {n} first\n".encode())
        c.stdin.flush()
    time.sleep(0.3)  # both sessions are open at the same time, each with its own child
    for n, c in enumerate(clients):
        assert c.stdin is not None
        c.stdin.write(f"client {n} second\n".encode())
        c.stdin.flush()
    for n, c in enumerate(clients):
        rc, out, err = finish(c, timeout=15)  # closes stdin: EOF, close_notify
        assert rc == 0, err
        assert out == f"client {n} first\nclient {n} second\n".encode()


def test_datagram_boundaries_are_kept(pki: Path, procs: list) -> None:
    """One datagram in, one record across, one datagram out: sizes survive the trip."""
    port, inport = free_port(*UDP), free_port(*UDP)
    sink = socket.socket(*UDP)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(10)
    _server(procs, port, f"cert={pki}/srv.pem", "verify=0", second=f"UDP-SENDTO:127.0.0.1:{sink.getsockname()[1]}")
    procs.append(start("-u", f"UDP-RECV:{inport},bind=127.0.0.1", _client(port, pki)))
    wait_udp(inport)
    sizes = [1, 1000, 7000, 3, 8192]
    with socket.socket(*UDP) as src:
        for size in sizes:
            src.sendto(bytes([size % 251]) * size, ("127.0.0.1", inport))
            time.sleep(0.02)
    got = [sink.recv(65536) for _ in sizes]
    sink.close()
    assert [len(g) for g in got] == sizes
    assert all(g == bytes([s % 251]) * s for g, s in zip(got, sizes, strict=True))


def test_byte_exact_transfer_of_a_few_mib(pki: Path, procs: list) -> None:
    """4 MiB echoed through client and server with a bounded window (UDP drops what overflows)."""
    port = free_port(*UDP)
    _server(procs, port, f"cert={pki}/srv.pem", "verify=0")
    client = start("-b", "8192", "-", _client(port, pki))
    procs.append(client)
    assert client.stdin is not None and client.stdout is not None
    data = os.urandom(4 << 20)
    window, chunk = 48 << 10, 8192
    sent, received = 0, bytearray()
    out_fd, in_fd = client.stdout.fileno(), client.stdin.fileno()
    deadline = time.monotonic() + 60
    while len(received) < len(data):
        assert time.monotonic() < deadline, f"stalled at {len(received)} of {len(data)} bytes"
        if sent < len(data) and sent - len(received) < window:
            sent += os.write(in_fd, data[sent : sent + chunk])
            continue
        if select.select([out_fd], [], [], 5)[0]:
            piece = os.read(out_fd, 1 << 16)
            assert piece, "client ended early"
            received += piece
    rc, _out, err = finish(client, timeout=15)  # closes stdin
    assert rc == 0, err
    assert bytes(received) == data


def test_mutual_authentication(pki: Path, procs: list) -> None:
    port = free_port(*UDP)
    _server(procs, port, f"cert={pki}/srv.pem", f"cafile={pki}/ca.crt", "fork")
    res = run("-", _client(port, pki, f",cert={pki}/cli.crt,key={pki}/cli.key"), input=b"mutual\n")
    assert (res.returncode, res.stdout) == (0, b"mutual\n"), res.stderr
    # without a client certificate the server refuses (verify=1 is the default)
    res = run("-", _client(port, pki), input=b"x\n")
    assert res.returncode == 1
    errors = _errors(res.stderr)
    assert len(errors) == 1, res.stderr
    assert "SSL_connect()" in errors[0]


@pytest.mark.parametrize(
    ("client_opts", "reason"),
    [
        ("", "certificate verify failed: unable to get local issuer certificate"),
        (",cafile={d}/ca.crt,commonname=other.example", 'does not match hostname "other.example"'),
    ],
    ids=["unknown-ca", "wrong-name"],
)
def test_verify_failure_is_one_error_line(pki: Path, procs: list, client_opts: str, reason: str) -> None:
    port = free_port(*UDP)
    _server(procs, port, f"cert={pki}/srv.pem", "verify=0", "fork")
    res = run("-", f"OPENSSL-DTLS-CLIENT:localhost:{port},connect-timeout=5" + client_opts.format(d=pki), input=b"x\n")
    assert res.returncode == 1
    errors = _errors(res.stderr)
    assert len(errors) == 1, res.stderr
    assert reason in errors[0]
    assert b"Traceback" not in res.stderr
    assert res.stdout == b""


def test_no_peer_is_one_error_line() -> None:
    port = free_port(*UDP)
    t0 = time.monotonic()
    res = run("-", f"OPENSSL-DTLS-CLIENT:127.0.0.1:{port},verify=0,connect-timeout=5", input=b"x\n")
    assert time.monotonic() - t0 < 5
    assert res.returncode == 1
    errors = _errors(res.stderr)
    assert len(errors) == 1 and "Connection refused" in errors[0], res.stderr


def test_silent_peer_times_out() -> None:
    with socket.socket(*UDP) as hole:  # takes the datagrams, never answers
        hole.bind(("127.0.0.1", 0))
        port = hole.getsockname()[1]
        t0 = time.monotonic()
        res = run("-", f"OPENSSL-DTLS-CLIENT:127.0.0.1:{port},verify=0,connect-timeout=1.5", input=b"x\n")
        took = time.monotonic() - t0
        retransmitted = 0
        hole.setblocking(False)
        try:
            while hole.recv(65536):
                retransmitted += 1
        except BlockingIOError:
            pass
    assert res.returncode == 1
    errors = _errors(res.stderr)
    assert len(errors) == 1 and "timed out" in errors[0], res.stderr
    assert 1.4 < took < 5
    assert retransmitted >= 2  # the ClientHello and at least one retransmission on OpenSSL's timer


def test_server_handshake_bounded_by_total_timeout(procs: list) -> None:
    """A peer that sends one datagram and goes quiet cannot hold the server: -T ends the handshake."""
    port = free_port(*UDP)
    server = start("-T", "1", f"OPENSSL-DTLS-SERVER:{port},verify=0", "PIPE")
    procs.append(server)
    wait_udp(port)
    with socket.socket(*UDP) as peer:
        peer.sendto(b"\x16\xfe\xfd" + bytes(10), ("127.0.0.1", port))  # not a ClientHello that completes
        rc, _out, err = finish(server, timeout=10)
    assert rc == 1
    assert len(_errors(err)) == 1, err
    assert b"Traceback" not in err


def test_dtls_method_on_openssl_address(pki: Path, procs: list) -> None:
    """As socat: OPENSSL/OPENSSL-LISTEN with method=DTLS1.2 speak DTLS over UDP."""
    port = free_port(*UDP)
    p = start(f"OPENSSL-LISTEN:{port},method=DTLS1.2,cert={pki}/srv.pem,verify=0", "PIPE")
    procs.append(p)
    wait_udp(port)
    res = run("-", f"OPENSSL-CONNECT:localhost:{port},method=DTLS1.2,cafile={pki}/ca.crt", input=b"method\n")
    assert (res.returncode, res.stdout) == (0, b"method\n"), res.stderr


def test_bad_version_option_is_rejected() -> None:
    res = run("-", "OPENSSL-DTLS-CLIENT:localhost:4433,min-proto-version=TLS1.2", input=b"")
    assert res.returncode == 1
    assert "DTLS" in res.stderr.decode()


def test_registration_is_lazy_and_depends_on_pyopenssl() -> None:
    """Start-up never imports OpenSSL; without pyOpenSSL the DTLS types are absent, -V unchanged."""
    code = (
        "import sys, importlib.util\n"
        "hide = len(sys.argv) > 1\n"
        "if hide:\n"
        "    real = importlib.util.find_spec\n"
        "    importlib.util.find_spec = lambda name, *a: None if name == 'OpenSSL' else real(name, *a)\n"
        "from pysocat import registry\n"
        "from pysocat.version import FEATURES\n"
        "names = registry.names()\n"
        "assert 'OPENSSL' in names\n"
        "assert ('OPENSSL-DTLS-CLIENT' in names) is (not hide), names\n"
        "assert ('OPENSSL-DTLS-LISTEN' in names) is (not hide)\n"
        "assert set(registry.features()) == set(FEATURES)\n"
        "assert 'OpenSSL' not in sys.modules\n"
    )
    for args in ([], ["hide"]):
        res = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, timeout=30)
        assert res.returncode == 0, res.stderr.decode()


@pytest.mark.skipif(not os.path.exists("/usr/bin/socat"), reason="C socat not installed")
def test_c_socat_client_and_server_interoperate(pki: Path, procs: list) -> None:
    port = free_port(*UDP)
    _server(procs, port, f"cert={pki}/srv.pem", "verify=0")
    res = subprocess.run(["/usr/bin/socat", "-", f"OPENSSL-DTLS-CLIENT:localhost:{port},cafile={pki}/ca.crt"],
                         input=b"from C\n", capture_output=True, timeout=20)
    assert res.stdout == b"from C\n", res.stderr
    port = free_port(*UDP)
    c = subprocess.Popen(["/usr/bin/socat", f"OPENSSL-DTLS-SERVER:{port},cert={pki}/srv.pem,verify=0", "PIPE"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    procs.append(c)
    wait_udp(port)
    res = run("-", _client(port, pki), input=b"to C\n")
    assert (res.returncode, res.stdout) == (0, b"to C\n"), res.stderr
