"""OPENSSL and OPENSSL-LISTEN through the real CLI, with certificates made at test time.

The ``openssl`` command makes a CA, a server certificate for localhost/127.0.0.1,
an expired one, a self-signed one and a client certificate (EC keys: fast).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import PYSOCAT, finish, free_port, run, start, wait_tcp

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _ssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _issue(d: Path, name: str, cn: str, san: str | None, days: str = "2", ca: str = "ca") -> None:
    _ssl("req", *EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
    ext = d / f"{name}.ext"
    ext.write_text(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
    _ssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
         "-out", f"{name}.crt", "-days", days, "-extfile", ext.name, cwd=d)
    (d / f"{name}.pem").write_bytes((d / f"{name}.crt").read_bytes() + (d / f"{name}.key").read_bytes())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    _ssl("req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=pysocat test CA", cwd=d)
    _issue(d, "srv", "localhost", "DNS:localhost,IP:127.0.0.1")
    _issue(d, "expired", "localhost", "DNS:localhost,IP:127.0.0.1", days="-1")
    _issue(d, "cli", "client", None)
    _ssl("req", "-x509", *EC, "-keyout", "self.key", "-out", "self.crt", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", cwd=d)
    (d / "self.pem").write_bytes((d / "self.crt").read_bytes() + (d / "self.key").read_bytes())
    return d


def _server(procs: list, port: int, *opts: str, second: str = "PIPE") -> subprocess.Popen[bytes]:
    p = start("-d", "-d", f"OPENSSL-LISTEN:{port},reuseaddr," + ",".join(opts), second)
    procs.append(p)
    wait_tcp(port)
    return p


def _errors(err: bytes) -> list[str]:
    return [line for line in err.decode(errors="replace").splitlines() if " E " in line]


def test_echo_both_ways_with_fork(pki: Path, procs: list) -> None:
    port = free_port()
    _server(procs, port, f"cert={pki}/srv.pem", "verify=0", "fork")
    for n in range(3):
        data = f"hello {n}\n".encode()
        res = run("-", f"OPENSSL:localhost:{port},cafile={pki}/ca.crt", input=data)
        assert res.returncode == 0, res.stderr
        assert res.stdout == data


def test_ip_address_checked_against_san(pki: Path, procs: list) -> None:
    port = free_port()
    _server(procs, port, f"cert={pki}/srv.pem", "verify=0")
    res = run("-", f"OPENSSL:127.0.0.1:{port},cafile={pki}/ca.crt", input=b"ip\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"ip\n"


@pytest.mark.skipif(not os.path.exists("/usr/bin/socat"), reason="C socat not installed")
def test_c_socat_client_and_server_interoperate(pki: Path, procs: list) -> None:
    port = free_port()
    _server(procs, port, f"cert={pki}/srv.pem", "verify=0")
    res = subprocess.run(["/usr/bin/socat", "-", f"OPENSSL:localhost:{port},cafile={pki}/ca.crt"],
                         input=b"from C\n", capture_output=True, timeout=20)
    assert res.stdout == b"from C\n", res.stderr
    port = free_port()
    c = subprocess.Popen(["/usr/bin/socat", f"OPENSSL-LISTEN:{port},reuseaddr,cert={pki}/srv.pem,verify=0", "PIPE"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    procs.append(c)
    wait_tcp(port)
    res = run("-", f"OPENSSL:localhost:{port},cafile={pki}/ca.crt", input=b"to C\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"to C\n"


@pytest.mark.parametrize(
    ("cert", "client_opts", "reason"),
    [
        ("self.pem", "", "certificate verify failed: self-signed certificate"),
        ("srv.pem", "", "certificate verify failed: unable to get local issuer certificate"),
        ("expired.pem", ",cafile={d}/ca.crt", "certificate verify failed: certificate has expired"),
        ("srv.pem", ",cafile={d}/ca.crt,commonname=other.example", 'does not match hostname "other.example"'),
    ],
    ids=["self-signed", "unknown-ca", "expired", "wrong-name"],
)
def test_verify_failures_are_one_error_line(pki: Path, procs: list, cert: str, client_opts: str, reason: str) -> None:
    port = free_port()
    _server(procs, port, f"cert={pki}/{cert}", "verify=0", "fork")
    res = run("-", f"OPENSSL:localhost:{port}" + client_opts.format(d=pki), input=b"x\n")
    assert res.returncode == 1
    errors = _errors(res.stderr)
    assert len(errors) == 1, res.stderr
    assert reason in errors[0]
    assert res.stdout == b""


def test_wrong_host_name(pki: Path, procs: list) -> None:
    port = free_port()
    _server(procs, port, f"cert={pki}/srv.pem", "verify=0")
    # 127.0.0.2 is not in the certificate: the name check fails although the chain is good
    res = run("-", f"OPENSSL:127.0.0.1:{port},cafile={pki}/ca.crt,commonname=127.0.0.2", input=b"x\n")
    assert res.returncode == 1
    assert 'does not match hostname "127.0.0.2"' in res.stderr.decode()


def test_verify_0_accepts_anything(pki: Path, procs: list) -> None:
    port = free_port()
    _server(procs, port, f"cert={pki}/self.pem", "verify=0")
    res = run("-", f"OPENSSL:localhost:{port},verify=0", input=b"ok\n")
    assert (res.returncode, res.stdout) == (0, b"ok\n"), res.stderr


def test_mutual_tls_accepted(pki: Path, procs: list) -> None:
    port = free_port()
    _server(procs, port, f"cert={pki}/srv.pem", f"cafile={pki}/ca.crt")
    res = run("-", f"OPENSSL:localhost:{port},cafile={pki}/ca.crt,cert={pki}/cli.crt,key={pki}/cli.key", input=b"m\n")
    assert (res.returncode, res.stdout) == (0, b"m\n"), res.stderr


def test_mutual_tls_rejected_on_both_sides(pki: Path, procs: list) -> None:
    port = free_port()
    srv = _server(procs, port, f"cert={pki}/srv.pem", f"cafile={pki}/ca.crt")
    res = run("-", f"OPENSSL:localhost:{port},cafile={pki}/ca.crt", input=b"no cert\n")
    rc, _out, err = finish(srv)
    assert rc == 1
    server_errors = _errors(err)
    assert len(server_errors) == 1 and "peer did not return a certificate" in server_errors[0], err
    # C socat exits 0 silently here; we report the server's alert and fail
    assert res.returncode == 1, res.stderr
    errors = _errors(res.stderr)
    assert len(errors) == 1 and "certificate required" in errors[0], res.stderr


def test_client_certificate_from_unknown_ca_rejected(pki: Path, procs: list) -> None:
    port = free_port()
    srv = _server(procs, port, f"cert={pki}/srv.pem", f"cafile={pki}/ca.crt")
    res = run("-", f"OPENSSL:localhost:{port},cafile={pki}/ca.crt,cert={pki}/self.pem", input=b"x\n")
    rc, _out, err = finish(srv)
    assert rc == 1 and "certificate verify failed" in err.decode()
    assert res.returncode == 1


def test_byte_exact_256_mib(pki: Path, procs: list, tmp_path: Path) -> None:
    """256 MiB of random bytes through a TLS echo and back, compared by sha256."""
    src, out = tmp_path / "src", tmp_path / "out"
    digest = hashlib.sha256()
    with open(src, "wb") as fh:
        for _ in range(256):
            block = os.urandom(1 << 20)
            digest.update(block)
            fh.write(block)
    port = free_port()
    _server(procs, port, f"cert={pki}/srv.pem", "verify=0")
    with open(src, "rb") as fin, open(out, "wb") as fout:
        res = subprocess.run([*PYSOCAT, "-", f"OPENSSL:localhost:{port},cafile={pki}/ca.crt"],
                             stdin=fin, stdout=fout, stderr=subprocess.PIPE, timeout=100)
    assert res.returncode == 0, res.stderr
    got = hashlib.sha256()
    with open(out, "rb") as fh:
        while chunk := fh.read(1 << 22):
            got.update(chunk)
    assert out.stat().st_size == 256 << 20
    assert got.hexdigest() == digest.hexdigest()


def test_tls_below_1_2_only_when_asked(pki: Path, procs: list) -> None:
    port = free_port()
    srv = _server(procs, port, f"cert={pki}/srv.pem", "verify=0")
    res = run("-", f"OPENSSL:localhost:{port},cafile={pki}/ca.crt,max-proto-version=TLS1.1", input=b"x\n")
    assert res.returncode == 1
    assert len(_errors(res.stderr)) == 1
    finish(srv)
    port = free_port()
    _server(procs, port, f"cert={pki}/srv.pem", "verify=0", "method=TLS1.2")
    res = run("-", f"OPENSSL:localhost:{port},cafile={pki}/ca.crt,min-version=1.2", input=b"v\n")
    assert (res.returncode, res.stdout) == (0, b"v\n"), res.stderr


def test_handshake_bounded_by_connect_timeout(pki: Path) -> None:
    """A peer that accepts TCP and then says nothing cannot hold the client."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    port = lst.getsockname()[1]
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(lst.accept()[0]), daemon=True).start()
    t0 = time.monotonic()
    res = run("-", f"OPENSSL:localhost:{port},cafile={pki}/ca.crt,connect-timeout=1", input=b"")
    assert time.monotonic() - t0 < 10
    assert res.returncode == 1
    assert "handshake timed out" in res.stderr.decode()
    lst.close()


def test_bad_option_values(pki: Path) -> None:
    res = run("-", "OPENSSL:localhost:1,min-proto-version=TLS9")
    assert res.returncode == 1 and "min-proto-version" in res.stderr.decode()
    res = run("-", f"OPENSSL:localhost:1,cert={pki}/missing.pem")
    assert res.returncode == 1 and "missing.pem" in res.stderr.decode()
    res = run("-", "OPENSSL:localhost:99999")
    assert res.returncode == 1 and "invalid port" in res.stderr.decode()


def test_server_without_certificate_warns(procs: list) -> None:
    port = free_port()
    srv = _server(procs, port, "verify=0")
    res = run("-", f"OPENSSL:localhost:{port},verify=0", input=b"x\n")
    assert res.returncode == 1
    rc, _out, err = finish(srv)
    assert rc == 1 and 'no certificate given; consider option "cert"' in err.decode()


def test_half_close_keeps_reading_after_close_notify(pki: Path, procs: list) -> None:
    """Our close_notify ends one direction only: the server's later answer still arrives."""
    port = free_port()
    _server(procs, port, f"cert={pki}/srv.pem", "verify=0", second="SYSTEM:'cat; sleep 0.3; echo bye'")
    res = run("-t", "3", "-", f"OPENSSL:localhost:{port},cafile={pki}/ca.crt", input=b"request\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"request\nbye\n"


def test_peer_certificate_in_environment(pki: Path, procs: list) -> None:
    port = free_port()
    _server(procs, port, f"cert={pki}/srv.pem", f"cafile={pki}/ca.crt",
            second="SYSTEM:'echo $SOCAT_OPENSSL_X509_COMMONNAME; echo $SOCAT_OPENSSL_X509_ISSUER'")
    res = run("-", f"OPENSSL:localhost:{port},cafile={pki}/ca.crt,cert={pki}/cli.pem", input=b"")
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"client\nCN = pysocat test CA\n"


def test_a_file_that_is_not_pem_is_named_plainly(tmp_path: Path) -> None:
    """One E line naming the file and the problem, without Python's "[SSL] ... (_ssl.c:N)" wrapping."""
    bogus = tmp_path / "not-a-cert.pem"
    bogus.write_text("hello\n")
    res = run("OPENSSL-LISTEN:0,cert=" + str(bogus), "-", stdin=subprocess.DEVNULL)
    assert res.returncode == 1
    lines = [line for line in res.stderr.decode().splitlines() if " E " in line]
    assert len(lines) == 1, res.stderr
    assert str(bogus) in lines[0] and "not a PEM certificate or key" in lines[0], lines[0]
    assert "_ssl.c" not in lines[0] and "[SSL]" not in lines[0]


def _tls_records(tls: ssl.SSLObject, incoming: ssl.MemoryBIO, sock: socket.socket) -> bytes:
    """Read plaintext until the peer's close_notify (or FIN); what arrived."""
    got = b""
    while True:
        try:
            chunk = tls.read(65536)
        except ssl.SSLWantReadError:
            data = sock.recv(65536)  # bounded by the socket timeout
            if not data:
                return got
            incoming.write(data)
            continue
        except ssl.SSLZeroReturnError:
            return got
        got += chunk


def test_close_notify_right_behind_data_ends_the_session(pki: Path, procs: list) -> None:
    """Data and close_notify in one segment: the second record waits above the socket,
    where epoll cannot see it; the relay must still read it, echo, and close."""
    port = free_port()
    server = _server(procs, port, f"cert={pki}/srv.pem", "verify=0")
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(outgoing.read())
                data = sock.recv(65536)
                assert data, "server closed during the handshake"
                incoming.write(data)
        tls.write(b"ping\n")
        sock.sendall(outgoing.read())  # Finished and a first record
        got = b""
        while got != b"ping\n":  # echoed: the relay now waits in its transfer loop
            try:
                got += tls.read(65536)
            except ssl.SSLWantReadError:
                incoming.write(sock.recv(65536))
        tls.write(b"last\n")
        try:
            tls.unwrap()
        except ssl.SSLWantReadError:
            pass
        sock.sendall(outgoing.read())  # a data record and close_notify in one segment
        assert _tls_records(tls, incoming, sock) == b"last\n"
    code, _out, err = finish(server)
    assert code == 0, err
