"""Load generators for bench/run.py, each run as its own process.

    python bench/peers.py ROLE --out RESULT.json [options]

Roles:
  source    connect to a TCP port or UNIX path and sendfile() N bytes of the
            pattern (repeated), then half-close and wait for the peer's EOF
  pipesrc   splice() N bytes of the pattern into standard output (a pipe)
  sink      accept one connection on the inherited listening fd, receive until
            EOF and compare every byte with the pattern at its stream offset
  pingpong  connect to the relay, accept the relay's connection on the inherited
            listening fd, then bounce messages through the relay and time each
            round trip (every echoed byte compared)
  echo      echo server on the inherited listening fd (runs until killed)
  connrate  open COUNT connections (CONCURRENCY at a time) to a port, each
            sending a token, half-closing and checking the token echoed back;
            with --echo-first, read the echo back before half-closing, then
            wait for the peer's EOF (for relays that close both ways at the
            first EOF, as rinetd does)
  idle      open connections to a port (in batches), check a token echoed back
            on each and hold them idle; each line "N" on standard input opens N
            more and then rewrites the result; EOF closes them all

Every byte is checked against the pattern file, a random block whose length is
not a power of two, so a dropped, duplicated or reordered chunk shows up as a
mismatch.  Times are CLOCK_MONOTONIC (time.monotonic), comparable across
processes.  The result is one JSON object written to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import sys
import threading
import time
from typing import Any


def _pin(cpu: int | None) -> None:
    if cpu is not None and cpu >= 0 and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            pass


def _connect(addr: str, deadline: float) -> socket.socket:
    """Connect to host:port or a UNIX path, retrying ECONNREFUSED/ENOENT until deadline."""
    while True:
        if addr.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: Any = addr
        else:
            host, port = addr.rsplit(":", 1)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            target = (host, int(port))
        try:
            sock.connect(target)
            return sock
        except (ConnectionRefusedError, FileNotFoundError):
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.002)


def _drain(sock: socket.socket) -> int:
    n = 0
    while True:
        data = sock.recv(65536)
        if not data:
            return n
        n += len(data)


def role_source(a: argparse.Namespace) -> dict[str, Any]:
    fd = os.open(a.pattern, os.O_RDONLY)
    plen = os.fstat(fd).st_size
    t_start = time.monotonic()
    sock = _connect(a.addr, t_start + a.timeout)
    t_conn = time.monotonic()
    out = sock.fileno()
    left = a.bytes
    off = 0
    while left:
        n = os.sendfile(out, fd, off, min(left, plen - off))
        if n == 0:
            raise RuntimeError("sendfile wrote 0 bytes")
        left -= n
        off = (off + n) % plen
    t_sent = time.monotonic()
    sock.shutdown(socket.SHUT_WR)
    back = _drain(sock)
    sock.close()
    return {"t_start": t_start, "t_conn": t_conn, "t_sent": t_sent, "t_end": time.monotonic(),
            "sent": a.bytes, "received_back": back}


def role_pipesrc(a: argparse.Namespace) -> dict[str, Any]:
    fd = os.open(a.pattern, os.O_RDONLY)
    plen = os.fstat(fd).st_size
    t_start = time.monotonic()
    left = a.bytes
    off = 0
    use_splice = hasattr(os, "splice")
    while left:
        want = min(left, plen - off)
        if use_splice:
            try:
                n = os.splice(fd, 1, want, offset_src=off)
            except OSError:
                use_splice = False
                continue
        else:
            n = os.write(1, os.pread(fd, min(want, 1 << 20), off))
        if n == 0:
            raise RuntimeError("splice wrote 0 bytes")
        left -= n
        off = (off + n) % plen
    os.close(1)
    return {"t_start": t_start, "t_end": time.monotonic(), "sent": a.bytes}


def role_sink(a: argparse.Namespace) -> dict[str, Any]:
    with open(a.pattern, "rb") as fh:
        pattern = fh.read()
    plen = len(pattern)
    pm = memoryview(pattern)
    buf = bytearray(plen)
    bm = memoryview(buf)
    lsock = socket.socket(fileno=a.listen_fd)
    lsock.settimeout(a.timeout)
    conn, _ = lsock.accept()
    t_accept = time.monotonic()
    lsock.close()
    conn.settimeout(a.timeout)
    pos = 0
    off = 0
    t_first = None
    bad_at = None
    while True:
        n = conn.recv_into(bm[off:])
        if n == 0:
            break
        if t_first is None:
            t_first = time.monotonic()
        if bad_at is None and not buf.startswith(pm[off:off + n], off):
            for i in range(n):  # locate the first bad byte (only on failure)
                if buf[off + i] != pattern[off + i]:
                    bad_at = pos + i
                    break
        pos += n
        off += n
        if off == plen:
            off = 0
    t_eof = time.monotonic()
    conn.close()
    return {"t_accept": t_accept, "t_first": t_first, "t_eof": t_eof, "received": pos,
            "mismatch_at": bad_at, "ok": bad_at is None and (a.bytes < 0 or pos == a.bytes)}


def _recv_exact(sock: socket.socket, view: memoryview) -> None:
    got = 0
    size = len(view)
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            raise ConnectionError(f"EOF after {got} of {size} bytes")
        got += n


def role_pingpong(a: argparse.Namespace) -> dict[str, Any]:
    with open(a.pattern, "rb") as fh:
        pattern = fh.read(max(a.msg * 257, 1 << 16))
    size = a.msg
    pm = memoryview(pattern)
    msgs = [bytes(pm[i * 251 % (len(pattern) - size):][:size]) for i in range(256)]
    lsock = socket.socket(fileno=a.listen_fd)
    lsock.settimeout(a.timeout)
    cli = _connect(a.addr, time.monotonic() + a.timeout)
    srv, _ = lsock.accept()
    lsock.close()
    for s in (cli, srv):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(a.timeout)
    bufa = bytearray(size)
    bufb = bytearray(size)
    va, vb = memoryview(bufa), memoryview(bufb)
    samples = []
    bad = 0
    clock = time.perf_counter_ns
    total = a.warmup + a.iterations
    for i in range(total):
        m = msgs[i & 255]
        t0 = clock()
        cli.sendall(m)
        _recv_exact(srv, va)
        srv.sendall(va)
        _recv_exact(cli, vb)
        t1 = clock()
        if bufb != m or bufa != m:
            bad += 1
        if i >= a.warmup:
            samples.append(t1 - t0)
    cli.shutdown(socket.SHUT_WR)
    extra = _drain(srv)
    srv.close()
    extra += _drain(cli)
    cli.close()
    samples.sort()

    def pct(p: float) -> float:
        return samples[min(len(samples) - 1, int(p * len(samples)))] / 1000.0

    return {"n": len(samples), "bad": bad, "extra": extra, "ok": bad == 0 and extra == 0,
            "p50_us": pct(0.50), "p90_us": pct(0.90), "p99_us": pct(0.99),
            "mean_us": sum(samples) / len(samples) / 1000.0}


def role_echo(a: argparse.Namespace) -> dict[str, Any]:
    lsock = socket.socket(fileno=a.listen_fd)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, None)
    served = 0
    while True:
        for key, _ in sel.select():
            if key.data is None:
                try:
                    conn, _ = lsock.accept()
                except BlockingIOError:
                    continue
                conn.setblocking(True)
                conn.settimeout(5)
                sel.register(conn, selectors.EVENT_READ, 1)
                continue
            conn = key.fileobj  # type: ignore[assignment]
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            if data:
                try:
                    conn.sendall(data)
                    continue
                except OSError:
                    pass
            sel.unregister(conn)
            conn.close()
            served += 1


def role_connrate(a: argparse.Namespace) -> dict[str, Any]:
    lock = threading.Lock()
    state = {"left": a.warmup, "ok": 0, "fail": 0}
    errors: list[str] = []
    deadline = time.monotonic() + a.timeout

    def one(i: int) -> bool:
        token = b"%08d:" % i + os.urandom(24).hex().encode()
        sock = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        try:
            sock.sendall(token)
            got = b""
            if a.echo_first:  # the whole echo first, then half-close and wait for the peer's EOF
                view = memoryview(bytearray(len(token)))
                _recv_exact(sock, view)
                got = bytes(view)
            sock.shutdown(socket.SHUT_WR)
            while True:
                data = sock.recv(4096)
                if not data:
                    break
                got += data
        finally:
            sock.close()
        if got != token and len(errors) < 5:  # say what came back (a relay's -t 0.5 expiring under load: b"")
            errors.append(f"echo of {len(got)} bytes for a {len(token)} byte token"
                          + ("" if token.startswith(got) else ", not a prefix of it"))
        return got == token

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                if state["left"] <= 0:
                    return
                state["left"] -= 1
                i = state["left"]
            try:
                good = one(i)
            except OSError as exc:
                good = False
                if len(errors) < 5:
                    errors.append(repr(exc))
            with lock:
                state["ok" if good else "fail"] += 1

    def batch(count: int) -> float:
        state["left"] = count
        state["ok"] = state["fail"] = 0
        t0 = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.monotonic() - t0

    batch(a.warmup)
    warm_fail = state["fail"]
    elapsed = batch(a.count)
    ok, fail = state["ok"], state["fail"] + warm_fail
    return {"count": a.count, "ok_count": ok, "fail": fail, "elapsed": elapsed,
            "rate": ok / elapsed if elapsed > 0 else 0.0, "errors": errors,
            "ok": fail == 0 and ok == a.count}


def _write_result(path: str, result: dict[str, Any]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(result, fh)
    os.replace(tmp, path)


def role_idle(a: argparse.Namespace) -> dict[str, Any]:
    """Connections through the relay, each proven live by an echoed token, then held idle.

    Standard input says how many: each line "N" opens N more (in batches) and then
    rewrites the result file with the running count and a step number; at EOF every
    connection is closed.
    """
    batch = 64  # connections in flight at a time: well below any listen backlog
    socks: list[socket.socket] = []
    deadline = time.monotonic() + a.timeout
    setup = 0.0
    bad = 0
    step = 0
    while line := sys.stdin.buffer.readline():
        want = len(socks) + int(line)
        t0 = time.monotonic()
        while len(socks) < want:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(socks)} of {want} connections after {a.timeout:.0f}s")
            chunk = []
            for i in range(len(socks), min(len(socks) + batch, want)):
                sock = socket.create_connection(("127.0.0.1", a.port), timeout=30)
                chunk.append((sock, b"%08d:" % i + os.urandom(4).hex().encode()))
            for sock, token in chunk:
                sock.sendall(token)
            for sock, token in chunk:
                view = memoryview(bytearray(len(token)))
                _recv_exact(sock, view)
                bad += bytes(view) != token
                socks.append(sock)
        setup += time.monotonic() - t0
        step += 1
        if a.out:
            _write_result(a.out, {"step": step, "count": len(socks), "bad": bad, "setup_s": setup, "ok": bad == 0})
    t1 = time.monotonic()
    for sock in socks:
        sock.close()
    return {"step": step + 1, "count": len(socks), "bad": bad, "setup_s": setup, "ok": bad == 0,
            "close_s": time.monotonic() - t1}


ROLES = {"source": role_source, "pipesrc": role_pipesrc, "sink": role_sink,
         "pingpong": role_pingpong, "echo": role_echo, "connrate": role_connrate, "idle": role_idle}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("role", choices=sorted(ROLES))
    p.add_argument("--out", help="write the JSON result here")
    p.add_argument("--pattern", help="pattern file")
    p.add_argument("--bytes", type=int, default=-1)
    p.add_argument("--addr", help="host:port or /unix/path to connect to")
    p.add_argument("--port", type=int)
    p.add_argument("--listen-fd", type=int)
    p.add_argument("--cpu", type=int)
    p.add_argument("--msg", type=int, default=1)
    p.add_argument("--iterations", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--echo-first", action="store_true", help="connrate: read the echo before half-closing")
    a = p.parse_args(argv)
    _pin(a.cpu)
    try:
        result = ROLES[a.role](a)
    except Exception as exc:  # report, do not hang the orchestrator
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    if a.out:
        _write_result(a.out, result)
    return 0 if result.get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
