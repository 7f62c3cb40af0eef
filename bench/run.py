"""pysocat benchmark suite: pysocat against C socat, side by side (issue 3).

    .venv/bin/python bench/run.py [--quick | --full | --tiny] [--repeats N]
                                  [--only SCENARIO[,SCENARIO...]] [--json FILE]

Each scenario runs pysocat (the venv entry point .venv/bin/pysocat), socat and
``socat -b131072`` interleaved (the order rotates every repeat), checks every
byte moved, and prints a table of medians, the paired ratios pysocat/socat and
pysocat/socat-b131072 (median of the per-repeat ratios, with min-max), the
target from issue 3 section 2 and whether it is met.  The ``conc_*`` scenarios
measure the ``concurrent`` listener (one process, every peer in its loop)
against socat's ``fork``, rinetd (a C one-process redirector) and pysocat's
own one-peer path.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYSOCAT = VENV_BIN / "pysocat"
VENV_PY = VENV_BIN / "python"
PEERS = HERE / "peers.py"
PY = sys.executable

MiB = 1 << 20
PATTERN_LEN = 4 * MiB + 4093  # not a power of two: a slipped chunk cannot line up again

SCENARIOS = ["bulk_tcp", "unix_tcp", "file_tcp", "stdin_tcp",
             "latency_1B", "latency_1KiB", "conn_seq", "conn_8way", "startup",
             "conc_seq", "conc_8way", "conc_idle", "conc_bulk"]

#: the byte-stream scenarios: what the relay reads from (tcp: a TCP-LISTEN address)
STREAMS = {"bulk_tcp": "tcp", "unix_tcp": "unix", "file_tcp": "file", "stdin_tcp": "stdin", "conc_bulk": "tcp"}

RELAY = "relay"
ABS = "absolute"  # a target on pysocat's own median, not on a ratio to another contender


class RunError(Exception):
    """One measurement failed (verification, timeout, exit status, leftovers)."""


# ---------------------------------------------------------------- settings


@dataclass
class Mode:
    name: str
    repeats: int
    sizes: dict[str, int]
    lat_iters: int
    lat_warmup: int
    conn_seq: int
    conn_8way: int
    conn_warmup: int
    startup_rounds: int
    conc_seq: int  # connections per run through the concurrent listener, 1 and 8 at a time
    conc_8way: int
    conc_idle: int  # idle sessions held at once
    idle_repeats: int  # memory readings barely vary; rinetd takes ~30 s to set up 10k sessions


MODES = {
    "tiny": Mode("tiny", 1, {"bulk_tcp": 4 * MiB, "unix_tcp": 4 * MiB, "file_tcp": 4 * MiB, "stdin_tcp": 4 * MiB,
                             "conc_bulk": 4 * MiB},
                 200, 20, 10, 16, 2, 3, 10, 16, 100, 1),
    "quick": Mode("quick", 5, {"bulk_tcp": 512 * MiB, "unix_tcp": 512 * MiB, "file_tcp": 256 * MiB,
                               "stdin_tcp": 256 * MiB, "conc_bulk": 512 * MiB}, 5000, 300, 200, 400, 10, 20,
                  1000, 2000, 10000, 2),
    "full": Mode("full", 7, {"bulk_tcp": 2048 * MiB, "unix_tcp": 2048 * MiB, "file_tcp": 1024 * MiB,
                             "stdin_tcp": 1024 * MiB, "conc_bulk": 2048 * MiB}, 20000, 1000, 1000, 2000, 20, 50,
                 4000, 8000, 10000, 3),
}


NO_RINETD = False  # --no-rinetd: run as if rinetd were not installed


def rinetd_path() -> str | None:
    """rinetd (C, one process, non-blocking I/O) if installed; it lives in /usr/sbin."""
    if NO_RINETD:
        return None
    found = shutil.which("rinetd")
    if found:
        return found
    return "/usr/sbin/rinetd" if os.access("/usr/sbin/rinetd", os.X_OK) else None


def contenders_for(scenario: str) -> dict[str, list[str]]:
    socat = shutil.which("socat") or "/usr/bin/socat"
    rinetd = rinetd_path()
    if scenario == "startup":
        return {"pysocat": [str(PYSOCAT), "-V"], "socat": [socat, "-V"],
                "python -S": [str(VENV_PY), "-S", "-c", "pass"]}
    if scenario in ("conc_seq", "conc_8way"):  # pysocat concurrent, socat fork, rinetd
        return {"pysocat": [str(PYSOCAT)], "socat": [socat], **({"rinetd": [rinetd]} if rinetd else {})}
    if scenario == "conc_idle":  # 10k socat fork children would measure fork, not a relay
        return {"pysocat": [str(PYSOCAT)], **({"rinetd": [rinetd]} if rinetd else {})}
    if scenario == "conc_bulk":  # pysocat concurrent against pysocat's (and socat's) one-peer path
        return {"pysocat": [str(PYSOCAT)], "socat": [socat], "pysocat single": [str(PYSOCAT)]}
    return {"pysocat": [str(PYSOCAT)], "socat": [socat], "socat-b131072": [socat, "-b131072"]}


def serve_for(scenario: str, contender: str | None) -> str:
    """How the contender's listening address serves peers: fork, concurrent, or '' (one peer, then exit)."""
    if scenario.startswith("conn"):
        return "fork"
    if scenario.startswith("conc"):
        if contender == "pysocat":
            return "concurrent"
        return "fork" if scenario in ("conc_seq", "conc_8way") else ""
    return ""


def is_rinetd(cmd: list[str]) -> bool:
    return os.path.basename(cmd[0]) == "rinetd"


# ---------------------------------------------------------------- processes


def _proc_groups() -> dict[int, list[tuple[int, str, str]]]:
    """pgid -> [(pid, state, comm)] for every process in /proc."""
    groups: dict[int, list[tuple[int, str, str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2:].split()
        groups.setdefault(int(rest[2]), []).append((int(entry), rest[0], comm))
    return groups


def proc_cpu(pid: int, children: bool = False) -> float:
    """user+sys CPU seconds of a live process so far (from /proc), with ``children``
    also those of its children it has reaped (cutime+cstime)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return 0.0
    rest = stat[stat.rindex(")") + 2:].split()
    ticks = int(rest[11]) + int(rest[12]) + (int(rest[13]) + int(rest[14]) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def proc_mem(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM and PSS (MiB) and the number of open fds of a live process."""
    out: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line[2:5].lower()] = int(line.split()[1]) / 1024.0
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    out["pss"] = int(line.split()[1]) / 1024.0
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, ValueError, IndexError):
        pass
    return out


def settle_children(pgid: int, timeout: float = 2.0) -> None:
    """Wait (bounded) until the process group ``pgid`` is its leader alone: fork children reaped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(_proc_groups().get(pgid, [])) <= 1:
            return
        time.sleep(0.005)


@contextmanager
def nofile(want: int) -> Iterator[int]:
    """Raise this process's RLIMIT_NOFILE towards ``want`` (children inherit it); yield what was got.

    The hard limit is raised too where allowed (root); otherwise the soft limit goes up to the
    hard one.  The soft limit is put back afterwards, the raised hard limit stays.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        yield resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


PR_SET_PDEATHSIG = 1


def _libc_prctl() -> Any:
    """libc's prctl(), or None where there is none (not Linux)."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


class Group:
    """Every process of one measurement, each in its own session; cleanup kills the lot."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: dict[int, Path] = {}

    def spawn(self, argv: list[str], *, cpu: int | None = None, name: str = "", **kw: Any) -> subprocess.Popen[bytes]:
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.DEVNULL)
        log = self.workdir / f"{name or 'proc'}-{len(self.procs)}.err"
        prctl = _libc_prctl()
        with open(log, "wb") as err:
            def preexec() -> None:
                if prctl is not None:  # killed with the harness, even by SIGKILL (a test's timeout)
                    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                if cpu is not None:
                    os.sched_setaffinity(0, {cpu})
            proc = subprocess.Popen(argv, stderr=err, start_new_session=True, preexec_fn=preexec, **kw)
        self.procs.append(proc)
        self.logs[proc.pid] = log
        return proc

    def stderr_of(self, proc: subprocess.Popen[bytes]) -> str:
        try:
            return self.logs[proc.pid].read_text(errors="replace")[-800:].strip()
        except OSError:
            return ""

    def cleanup(self) -> list[str]:
        """Kill every process group still alive; return what was left over (should be nothing)."""
        pgids = [p.pid for p in self.procs]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            alive = False
            for pgid in pgids:
                try:
                    os.killpg(pgid, sig)
                    alive = True
                except (ProcessLookupError, PermissionError):
                    pass
            if not alive:
                break
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                for p in self.procs:
                    if p.returncode is None:
                        p.poll()
                groups = _proc_groups()
                if not any(st != "Z" for g in pgids for _, st, _ in groups.get(g, [])):
                    break
                time.sleep(0.01)
        for p in self.procs:
            if p.returncode is None:
                try:
                    p.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
        groups = _proc_groups()
        return [f"{pid}:{comm}" for g in pgids for pid, st, comm in groups.get(g, []) if st != "Z"]


@contextmanager
def group(workdir: Path, leftovers: list[str]) -> Iterator[Group]:
    g = Group(workdir)
    try:
        yield g
    finally:
        leftovers.extend(g.cleanup())


def vm_hwm(pid: int) -> float | None:
    """Peak resident set (VmHWM) of a live process, MiB.

    ru_maxrss from wait4 cannot be used: Linux carries the pre-exec high-water
    mark of the forked child (a copy of this Python process) across execve.
    """
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return None


def wait_sampling(proc: subprocess.Popen[bytes], timeout: float, what: str,
                  watch: subprocess.Popen[bytes] | None, peak: list[float]) -> int:
    """wait_proc, sampling the peak RSS of ``watch`` (the relay) meanwhile into peak[0]."""
    deadline = time.monotonic() + timeout
    while True:
        if watch is not None:
            hwm = vm_hwm(watch.pid)
            if hwm is not None and hwm > peak[0]:
                peak[0] = hwm
        try:
            return proc.wait(timeout=0.02)
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                raise RunError(f"{what} did not finish within {timeout:.0f}s") from None


def wait_proc(proc: subprocess.Popen[bytes], timeout: float, what: str) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RunError(f"{what} did not finish within {timeout:.0f}s") from None


def wait_rusage(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, Any]:
    """Reap ``proc`` with wait4 (bounded) and return (exit code, rusage)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, ru
        if time.monotonic() > deadline:
            raise RunError(f"relay did not exit within {timeout:.0f}s after the transfer")
        time.sleep(0.005)


def listening(port: int | None = None, path: str | None = None) -> bool:
    if port is not None:
        hexport = f":{port:04X}"
        for name in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(name) as fh:
                    for line in fh:
                        f = line.split()
                        if len(f) > 3 and f[1].endswith(hexport) and f[3] == "0A":
                            return True
            except OSError:
                pass
        return False
    with open("/proc/net/unix") as fh:
        for line in fh:
            f = line.split()
            if len(f) >= 8 and f[7] == path and f[3] == "00010000":
                return True
    return False


def wait_listening(proc: subprocess.Popen[bytes], g: Group, *, port: int | None = None,
                   path: str | None = None, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not listening(port, path):
        if proc.poll() is not None:
            raise RunError(f"relay exited ({proc.returncode}) before listening: {g.stderr_of(proc)}")
        if time.monotonic() > deadline:
            raise RunError(f"relay not listening after {timeout:.0f}s")
        time.sleep(0.003)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listener(backlog: int = 128) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(backlog)
    s.set_inheritable(True)
    return s


def read_result(path: Path, what: str) -> dict[str, Any]:
    try:
        res: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RunError(f"{what}: no result ({exc})") from None
    if "error" in res:
        raise RunError(f"{what}: {res['error']}")
    return res


# ---------------------------------------------------------------- the bench


@dataclass
class Bench:
    mode: Mode
    repeats: int
    workdir: Path
    cpus: list[int]  # [relay CPU, load-generator CPU], or [] for no pinning
    stream_pin: str  # placement for the bulk scenarios: split, relay or none
    repeats_given: bool = False  # --repeats: the same count for every scenario
    relay_cpu: int | None = None
    gen_cpu: int | None = None
    pattern: Path = field(init=False)
    datafile: Path | None = None
    counter: int = 0
    leftovers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pattern = self.workdir / "pattern.bin"
        self.pattern.write_bytes(random.Random(20240503).randbytes(PATTERN_LEN))

    def tcp_relay(self, g: Group, cmd: list[str], target_port: int,
                  opts: str = "reuseaddr") -> tuple[subprocess.Popen[bytes], int]:
        """Start ``cmd`` relaying a fresh local port to ``target_port``; return it, listening, and its port.

        socat and pysocat get ``TCP-LISTEN:port,<opts> TCP:127.0.0.1:target_port``; rinetd gets
        a config file of its own in the work dir (no log file, its pid file there too) and runs
        in the foreground.
        """
        port = free_port()
        if is_rinetd(cmd):
            conf = self.out("rinetd").with_suffix(".conf")
            conf.write_text(f"127.0.0.1 {port} 127.0.0.1 {target_port}\npidlogfile {conf.with_suffix('.pid')}\n")
            argv = [*cmd, "-f", "-c", str(conf)]
        else:
            argv = [*cmd, f"TCP-LISTEN:{port},{opts}", f"TCP:127.0.0.1:{target_port}"]
        relay = g.spawn(argv, cpu=self.relay_cpu, name=RELAY)
        wait_listening(relay, g, port=port)
        return relay, port

    def place(self, scen: str) -> str:
        """Pin for this scenario: latency and connections split the CPUs, bulk per --stream-pin."""
        policy = self.stream_pin if scen in self.mode.sizes else "split"
        if not self.cpus or policy == "none":
            self.relay_cpu = self.gen_cpu = None
            return "not pinned"
        self.relay_cpu = self.cpus[0]
        self.gen_cpu = self.cpus[1] if policy == "split" else None
        return f"relay on CPU {self.relay_cpu}, " + (
            f"load generators on CPU {self.gen_cpu}" if self.gen_cpu is not None else "load generators not pinned")

    def out(self, role: str) -> Path:
        self.counter += 1
        return self.workdir / f"{role}-{self.counter}.json"

    def peer(self, role: str, out: Path, *args: object) -> list[str]:
        cpu = [] if self.gen_cpu is None else ["--cpu", str(self.gen_cpu)]
        return [PY, str(PEERS), role, "--out", str(out), "--pattern", str(self.pattern), *cpu,
                *(str(a) for a in args)]

    def data_file(self, size: int) -> Path:
        if self.datafile is None or self.datafile.stat().st_size != size:
            path = self.workdir / "data.bin"
            pat = self.pattern.read_bytes()
            with open(path, "wb") as fh:
                left = size
                while left:
                    chunk = pat[:min(left, len(pat))]
                    fh.write(chunk)
                    left -= len(chunk)
            self.datafile = path
        return self.datafile

    # -- streams: bulk_tcp, unix_tcp, file_tcp, stdin_tcp, and the no-relay ceiling

    def stream(self, kind: str, cmd: list[str] | None, size: int, serve: str = "") -> dict[str, float]:
        """One bulk transfer; ``serve`` is the TCP-LISTEN serving option (concurrent: the relay
        does not exit after the transfer, it is measured alive and then stopped)."""
        timeout = 30 + size / 20e6
        sink_out, src_out = self.out("sink"), self.out("source")
        with group(self.workdir, self.leftovers) as g:
            lsock = listener()
            sport = lsock.getsockname()[1]
            sink = g.spawn(self.peer("sink", sink_out, "--bytes", size, "--listen-fd", lsock.fileno(),
                                     "--timeout", timeout), pass_fds=[lsock.fileno()], name="sink")
            lsock.close()
            target = f"TCP:127.0.0.1:{sport}"
            relay = None
            source = None
            cpu0 = 0.0
            if cmd is None:  # no relay: the generators' own ceiling
                source = g.spawn(self.peer("source", src_out, "--bytes", size, "--addr", f"127.0.0.1:{sport}",
                                           "--timeout", timeout), name="source")
            elif kind == "tcp":
                relay, port = self.tcp_relay(g, cmd, sport, "reuseaddr" + (f",{serve}" if serve else ""))
                addr = f"127.0.0.1:{port}"
                cpu0 = proc_cpu(relay.pid)
                source = g.spawn(self.peer("source", src_out, "--bytes", size, "--addr", addr,
                                           "--timeout", timeout), name="source")
            elif kind == "unix":
                addr = str(self.workdir / f"relay-{self.counter}.sock")
                relay = g.spawn([*cmd, f"UNIX-LISTEN:{addr}", target], cpu=self.relay_cpu, name=RELAY)
                wait_listening(relay, g, path=addr)
                cpu0 = proc_cpu(relay.pid)
                source = g.spawn(self.peer("source", src_out, "--bytes", size, "--addr", addr,
                                           "--timeout", timeout), name="source")
            elif kind == "file":
                relay = g.spawn([*cmd, "-u", f"OPEN:{self.data_file(size)}", target], cpu=self.relay_cpu, name=RELAY)
            elif kind == "stdin":
                r, w = os.pipe()
                try:
                    source = g.spawn(self.peer("pipesrc", src_out, "--bytes", size), stdout=w, name="pipesrc")
                    relay = g.spawn([*cmd, "-u", "-", target], stdin=r, cpu=self.relay_cpu, name=RELAY)
                finally:
                    os.close(r)
                    os.close(w)
            peak = [0.0]
            rc = wait_sampling(sink, timeout, "sink", relay, peak)
            res = read_result(sink_out, "sink")
            if source is not None:
                wait_proc(source, 15, "source")
                src = read_result(src_out, "source")
            ru = None
            cpu = 0.0
            if relay is not None and serve == "concurrent":  # serves on: measure it alive
                if relay.poll() is not None:
                    raise RunError(f"concurrent relay exited ({relay.returncode}): {g.stderr_of(relay)}")
                cpu = proc_cpu(relay.pid) - cpu0
            elif relay is not None:
                code, ru = wait_rusage(relay, 15)
                if code != 0:
                    raise RunError(f"relay exited {code}: {g.stderr_of(relay)}")
                cpu = ru.ru_utime + ru.ru_stime - cpu0
            if rc != 0 or not res.get("ok"):
                raise RunError(f"verification failed: received {res.get('received')} of {size} bytes, "
                               f"first mismatch at {res.get('mismatch_at')}")
            t0 = src["t_start"] if kind in ("tcp", "unix") or cmd is None else res["t_accept"]
            secs = res["t_eof"] - t0
            m = {"throughput": size / 1e6 / secs, "seconds": secs}
            if relay is not None:
                m.update(cpu_s_per_gb=cpu / (size / 1e9), peak_rss=peak[0] or None)
            if ru is not None:
                m.update(cpu_user=ru.ru_utime, cpu_sys=ru.ru_stime)
            return m

    # -- ping-pong latency through TCP-LISTEN -> TCP

    def latency(self, cmd: list[str] | None, msg: int) -> dict[str, float]:
        out = self.out("pingpong")
        it, warm = self.mode.lat_iters, self.mode.lat_warmup
        timeout = 30 + it * 0.002
        with group(self.workdir, self.leftovers) as g:
            lsock = listener()
            eport = lsock.getsockname()[1]
            relay = None
            addr = f"127.0.0.1:{eport}"
            if cmd is not None:
                relay, port = self.tcp_relay(g, cmd, eport)
                addr = f"127.0.0.1:{port}"
            pp = g.spawn(self.peer("pingpong", out, "--addr", addr, "--listen-fd", lsock.fileno(), "--msg", msg,
                                   "--iterations", it, "--warmup", warm, "--timeout", timeout),
                         pass_fds=[lsock.fileno()], name="pingpong")
            lsock.close()
            wait_proc(pp, timeout + 10, "pingpong")
            res = read_result(out, "pingpong")
            if relay is not None:
                code, _ = wait_rusage(relay, 15)
                if code != 0:
                    raise RunError(f"relay exited {code}: {g.stderr_of(relay)}")
            if not res.get("ok"):
                raise RunError(f"ping-pong verification failed: {res}")
            return {"p50": res["p50_us"], "p99": res["p99_us"], "mean": res["mean_us"]}

    # -- connections per second through TCP-LISTEN,fork (or concurrent, or rinetd)

    def connrate(self, cmd: list[str] | None, count: int, conc: int, serve: str = "fork",
                 echo_first: bool = False) -> dict[str, float]:
        """Connections per second; with ``echo_first`` (the conc_* scenarios) also the relay's
        CPU per connection: user+sys from /proc/PID/stat over the warm-up and measured
        connections, its reaped fork children included (cutime+cstime)."""
        out = self.out("connrate")
        timeout = 60 + count * 0.05
        with group(self.workdir, self.leftovers) as g:
            lsock = listener()
            eport = lsock.getsockname()[1]
            g.spawn(self.peer("echo", self.out("echo"), "--listen-fd", lsock.fileno()),
                    pass_fds=[lsock.fileno()], name="echo")
            lsock.close()
            port = eport
            relay = None
            cpu0 = 0.0
            if cmd is not None:
                relay, port = self.tcp_relay(g, cmd, eport, f"{serve},reuseaddr,backlog=128")
                cpu0 = proc_cpu(relay.pid, children=True)
            cr = g.spawn(self.peer("connrate", out, "--port", port, "--count", count, "--concurrency", conc,
                                   "--warmup", self.mode.conn_warmup, "--timeout", timeout,
                                   *(["--echo-first"] if echo_first else [])), name="connrate")
            wait_proc(cr, timeout + 10, "connrate")
            res = read_result(out, "connrate")
            if relay is not None and relay.poll() is not None:
                raise RunError(f"{serve or 'the'} relay died ({relay.returncode}): {g.stderr_of(relay)}")
            if not res.get("ok"):
                raise RunError(f"{res.get('fail')} of {count} connections failed: {res.get('errors')}")
            m = {"rate": res["rate"]}
            if relay is not None and echo_first:
                settle_children(relay.pid)
                cpu = proc_cpu(relay.pid, children=True) - cpu0
                m["cpu_ms"] = cpu * 1000.0 / (count + self.mode.conn_warmup)
            return m

    # -- idle sessions held by one relay

    def idle(self, cmd: list[str], serve: str, count: int) -> dict[str, float]:
        """Client connections through the relay to an echo server, each proven live by an
        echoed token, then held idle: the relay's RSS and PSS with them; then every client
        closes and the relay must give its fds back (the sessions torn down).

        RLIMIT_NOFILE is raised as far as allowed.  A first 64 sessions show how many fds
        a session costs the relay; as many more as its limit allows, up to ``count``, are
        then opened.  When fewer than ``count`` fit, ``rss`` and ``pss`` are projected
        linearly to ``count`` from the relay's own size before any session (``rss_held``,
        ``pss_held`` and ``sessions`` are what was measured).
        """
        out = self.out("idle")
        timeout = 60 + count * 0.01
        with nofile(8 * count + 256) as limit, group(self.workdir, self.leftovers) as g:
            lsock = listener(backlog=4096)
            eport = lsock.getsockname()[1]
            g.spawn(self.peer("echo", self.out("echo"), "--listen-fd", lsock.fileno()),
                    pass_fds=[lsock.fileno()], name="echo")
            lsock.close()
            relay, port = self.tcp_relay(g, cmd, eport, f"reuseaddr,{serve}")
            base = proc_mem(relay.pid)
            r, w = os.pipe()
            try:
                client = g.spawn(self.peer("idle", out, "--port", port, "--timeout", timeout), stdin=r, name="idle")
                os.close(r)
                r = -1
                step = 0

                def hold(more: int) -> dict[str, Any]:
                    nonlocal step
                    step += 1
                    os.write(w, b"%d\n" % more)
                    deadline = time.monotonic() + timeout
                    while True:
                        try:
                            res: dict[str, Any] = json.loads(out.read_text())
                        except (OSError, ValueError):
                            res = {}
                        if res.get("step", 0) >= step or "error" in res:
                            break
                        if client.poll() is not None or relay.poll() is not None or time.monotonic() > deadline:
                            break
                        time.sleep(0.01)
                    if "error" in res:  # a reset: did the relay die under the client?
                        try:
                            relay.wait(timeout=1)
                        except subprocess.TimeoutExpired:
                            pass
                    if relay.poll() is not None:
                        raise RunError(f"relay died holding idle sessions ({relay.returncode}): {g.stderr_of(relay)}")
                    res = read_result(out, "idle client")
                    if not res.get("ok") or res.get("step", 0) < step:
                        raise RunError(f"idle sessions: {res.get('bad')} bad echoes, {res.get('count')} up")
                    return res

                probe = min(64, count)
                hold(probe)
                fds0 = int(base.get("fds", 0))
                per = max(1, -(-(int(proc_mem(relay.pid).get("fds", 0)) - fds0) // probe))  # fds per session
                sessions = max(probe, min(count, (limit - fds0 - 16) // per))
                res = hold(sessions - probe) if sessions > probe else hold(0)
                time.sleep(0.2)  # let the relay settle (its last sessions' buffers)
                held = proc_mem(relay.pid)
                if relay.poll() is not None:
                    raise RunError(f"relay died holding idle sessions ({relay.returncode}): {g.stderr_of(relay)}")
            finally:
                for fd in (r, w):
                    if fd >= 0:
                        os.close(fd)
            wait_proc(client, 60, "idle client closing")
            deadline = time.monotonic() + 30
            while proc_mem(relay.pid).get("fds", 0) > base.get("fds", 0) + 4:  # an fd or two made lazily
                if relay.poll() is not None:
                    raise RunError(f"relay died as the idle peers closed ({relay.returncode}): {g.stderr_of(relay)}")
                if time.monotonic() > deadline:
                    raise RunError(f"relay still holds {proc_mem(relay.pid).get('fds')} fds 30 s after its "
                                   f"{sessions} peers closed (it had {base.get('fds')} before)")
                time.sleep(0.05)
            scale = count / sessions
            return {"rss": base["rss"] + (held["rss"] - base["rss"]) * scale,
                    "pss": base["pss"] + (held["pss"] - base["pss"]) * scale,
                    "rss_held": held["rss"], "pss_held": held["pss"], "rss_before": base["rss"],
                    "kib_per_session": (held["rss"] - base["rss"]) * 1024 / sessions,
                    "sessions": sessions, "fds_per_session": per, "nofile": limit,
                    "setup_rate": sessions / res["setup_s"]}

    def startup(self, argv: list[str]) -> dict[str, float]:
        """Median wall time of ``startup_rounds`` runs of ``argv``, in milliseconds."""
        return {"ms": statistics.median(start_once(argv) for _ in range(self.mode.startup_rounds))}


def start_once(argv: list[str], timeout: float = 20.0) -> float:
    """Wall time of one fork+exec+exit of ``argv`` (milliseconds), from a blocking wait.

    Not ``subprocess.run(timeout=...)``: with a timeout it polls with sleeps of
    0.5, 1, 2, 4, 8 ms..., so a 10 ms process would be timed as 15.5 ms.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        _pid, status = os.waitpid(proc.pid, 0)
    finally:
        watchdog.cancel()
    elapsed = time.perf_counter() - t0
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RunError(f"{argv}: exit status {code}" + (f" (killed after {timeout} s)" if code < 0 else ""))
    return elapsed * 1000.0


# ---------------------------------------------------------------- rows and targets

# (scenario, metric key, label, unit, format, {contender: (op, limit)})
ROWS: list[tuple[str, str, str, str, str, dict[str, tuple[str, float]]]] = [
    ("bulk_tcp", "throughput", "TCP->TCP", "MB/s", "{:.0f}", {"socat": (">=", 1.5), "socat-b131072": (">=", 1.0)}),
    ("bulk_tcp", "cpu_s_per_gb", "relay CPU", "s/GB", "{:.3f}", {"socat": ("<=", 0.35)}),
    ("bulk_tcp", "peak_rss", "relay peak RSS", "MiB", "{:.1f}", {"socat": ("<=", 3.0)}),
    ("unix_tcp", "throughput", "UNIX->TCP", "MB/s", "{:.0f}", {"socat": (">=", 1.3)}),
    ("file_tcp", "throughput", "FILE->TCP", "MB/s", "{:.0f}", {"socat": (">=", 1.3)}),
    ("stdin_tcp", "throughput", "pipe->TCP", "MB/s", "{:.0f}", {"socat": (">=", 1.1)}),
    ("latency_1B", "p50", "p50", "us", "{:.1f}", {"socat": ("<=", 1.05)}),
    ("latency_1B", "p99", "p99", "us", "{:.1f}", {"socat": ("<=", 1.25)}),
    ("latency_1KiB", "p50", "p50", "us", "{:.1f}", {"socat": ("<=", 1.05)}),
    ("latency_1KiB", "p99", "p99", "us", "{:.1f}", {"socat": ("<=", 1.25)}),
    ("conn_seq", "rate", "fork, 1 at a time", "conn/s", "{:.0f}", {"socat": (">=", 0.5)}),
    ("conn_8way", "rate", "fork, 8 at a time", "conn/s", "{:.0f}", {"socat": (">=", 0.5)}),
    ("startup", "ms", "-V wall time", "ms", "{:.1f}", {"python -S": ("<=", 1.7)}),
    # the concurrent listener: pysocat column = TCP-LISTEN,concurrent; socat = socat's fork
    ("conc_seq", "rate", "concurrent, 1 at a time", "conn/s", "{:.0f}", {"socat": (">=", 2.0)}),
    ("conc_seq", "cpu_ms", "relay CPU/conn, 1 at a time", "ms", "{:.3f}", {ABS: ("<=", 0.3)}),
    ("conc_8way", "rate", "concurrent, 8 at a time", "conn/s", "{:.0f}", {"socat": (">=", 3.0), "rinetd": (">=", 0.8)}),
    ("conc_8way", "cpu_ms", "relay CPU/conn, 8 at a time", "ms", "{:.3f}", {ABS: ("<=", 0.3)}),
    ("conc_idle", "rss", "relay RSS, N idle sessions", "MiB", "{:.1f}", {ABS: ("<=", 100.0)}),
    ("conc_idle", "pss", "relay PSS, N idle sessions", "MiB", "{:.1f}", {ABS: ("<=", 100.0)}),
    ("conc_bulk", "throughput", "TCP->TCP, concurrent", "MB/s", "{:.0f}", {"pysocat single": (">=", 0.9)}),
]

UNITS_ABS = {"ms": " ms", "MiB": " MiB"}


def target_text(tc: str, op: str, lim: float, unit: str) -> str:
    if tc == ABS:
        return f"{op}{lim:g}{UNITS_ABS.get(unit, ' ' + unit)}"
    return f"{op}{lim}x" + ("" if tc == "socat" else f" vs {tc}")


def summarize(values: dict[str, list[float | None]]) -> dict[str, Any]:
    names = list(values)
    p = values[names[0]]
    out: dict[str, Any] = {"median": {}, "min": {}, "max": {}, "ratio": {}, "ratio_min": {}, "ratio_max": {}}
    for name, vals in values.items():
        good = [v for v in vals if v is not None]
        if good:
            out["median"][name] = statistics.median(good)
            out["min"][name] = min(good)
            out["max"][name] = max(good)
    for name in names[1:]:
        ratios = [a / b for a, b in zip(p, values[name], strict=True) if a is not None and b]
        if ratios:
            out["ratio"][name] = statistics.median(ratios)
            out["ratio_min"][name] = min(ratios)
            out["ratio_max"][name] = max(ratios)
    return out


def run_scenario(b: Bench, scen: str, log: Callable[[str], None]) -> dict[str, Any]:
    contenders = contenders_for(scen)
    runs: dict[str, list[dict[str, float] | None]] = {c: [] for c in contenders}
    errors: list[str] = []
    names = list(contenders)
    mode = b.mode
    placement = b.place(scen)
    log(f"{scen}: {placement}")

    def measure(cmd: list[str] | None, name: str | None = None) -> dict[str, float]:
        serve = serve_for(scen, name)
        if scen in STREAMS:
            return b.stream(STREAMS[scen], cmd, mode.sizes[scen], serve)
        if scen.startswith("latency"):
            return b.latency(cmd, 1 if scen == "latency_1B" else 1024)
        if scen.startswith("conn"):
            if scen == "conn_seq":
                return b.connrate(cmd, mode.conn_seq, 1)
            return b.connrate(cmd, mode.conn_8way, 8)
        if scen in ("conc_seq", "conc_8way"):  # echo first: rinetd closes both ways at the first EOF
            conc, count = (1, mode.conc_seq) if scen == "conc_seq" else (8, mode.conc_8way)
            return b.connrate(cmd, count, conc, serve, echo_first=True)
        assert cmd is not None
        if scen == "conc_idle":
            return b.idle(cmd, serve, mode.conc_idle)
        return b.startup(cmd)

    if scen == "startup" and mode.name != "tiny":
        for c in names:  # warm the page cache and the .pyc files
            b.startup(contenders[c])
    repeats = b.repeats if b.repeats_given or scen != "conc_idle" else min(b.repeats, mode.idle_repeats)
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for c in order:
            before = len(b.leftovers)
            try:
                m = measure(contenders[c], c)
                if len(b.leftovers) > before:
                    raise RunError(f"processes left over: {b.leftovers[before:]}")
                runs[c].append(m)
                log(f"  {scen:<13} {c:<14} #{r + 1}  " + "  ".join(f"{k}={v:.4g}" for k, v in m.items()))
            except RunError as exc:
                runs[c].append(None)
                errors.append(f"{scen} {c} #{r + 1}: {exc}")
                log(f"  {scen:<13} {c:<14} #{r + 1}  ERROR {exc}")
    # what the load generators reach with no relay in between (they must not be the bottleneck)
    ceiling: dict[str, float] | None = None
    if scen not in ("startup", "file_tcp", "stdin_tcp", "conc_idle"):
        try:
            ceiling = measure(None)
            log(f"  {scen:<13} {'(no relay)':<14}     " + "  ".join(f"{k}={v:.4g}" for k, v in ceiling.items()))
        except RunError as exc:
            errors.append(f"{scen} no-relay ceiling: {exc}")
    metrics: dict[str, Any] = {}
    for row in ROWS:
        if row[0] != scen:
            continue
        _, key, label, unit, _, targets = row
        values = {c: [None if m is None else m.get(key) for m in runs[c]] for c in names}
        summ = summarize(values)
        met: dict[str, bool | None] = {}
        skipped: list[str] = []
        for tc, (op, lim) in targets.items():
            if tc != ABS and tc not in names:  # a contender that is not installed (rinetd)
                skipped.append(tc)
                continue
            got = summ["median"].get(names[0]) if tc == ABS else summ["ratio"].get(tc)
            met[tc] = None if got is None else (got >= lim if op == ">=" else got <= lim)
        metrics[key] = {"label": label, "unit": unit, "values": values, **summ,
                        "targets": {tc: target_text(tc, op, lim, unit) for tc, (op, lim) in targets.items()
                                    if tc not in skipped},
                        "skipped_targets": skipped, "met": met,
                        "no_relay": None if ceiling is None else ceiling.get(key)}
    first = next(iter(metrics.values()))
    ratio = first["ratio"].get("socat", first["ratio"].get(names[1])) if len(names) > 1 else None
    return {"contenders": {c: contenders[c] for c in names}, "serve": {c: serve_for(scen, c) for c in names},
            "runs": runs, "placement": placement, "metrics": metrics, "errors": errors,
            "ratio": ratio, "met": all(v for m in metrics.values() for v in m["met"].values())}


# ---------------------------------------------------------------- output


def fmt_ratio(m: dict[str, Any], who: str) -> str:
    r = m["ratio"].get(who)
    if r is None:
        return "-"
    return f"{r:.2f} ({m['ratio_min'][who]:.2f}-{m['ratio_max'][who]:.2f})"


def print_table(results: dict[str, Any], out: Any = sys.stdout) -> None:
    head = ["scenario", "metric", "unit", "pysocat", "socat", "socat-b131072", "no relay",
            "pysocat/socat (min-max)", "pysocat/socat-b131072", "target", "met"]
    rows = [head]
    noise = [["scenario", "metric", "pysocat min-max", "socat min-max", "3rd min-max"]]
    for scen, key, _label, unit, fmt, _targets in ROWS:
        if scen not in results:
            continue
        m = results[scen]["metrics"][key]
        names = list(results[scen]["contenders"])
        # the second and third columns are socat and socat-b131072 unless the scenario says otherwise
        second = names[1] if len(names) > 1 else None
        third = names[2] if len(names) > 2 else None

        def val(name: str | None, m: dict[str, Any] = m, fmt: str = fmt) -> str:
            if name is None:
                return "-"
            v = m["median"].get(name)
            return "ERR" if v is None else fmt.format(v)

        def tag(name: str | None, usual: str) -> str:
            return "" if name is None or name == usual else f" ({name})"

        second_cell = val(second) + tag(second, "socat")
        third_cell = val(third) + tag(third, "socat-b131072")
        ratio2 = "-" if second is None else fmt_ratio(m, second) + ("" if second == "socat" else f" vs {second}")
        ratio3 = "-" if third is None else fmt_ratio(m, third) + ("" if third == "socat-b131072" else f" vs {third}")
        tgt = "; ".join(m["targets"].values()) or "-"
        mets = [v for v in m["met"].values()]
        met = "-" if not mets else "?" if any(v is None for v in mets) else ("yes" if all(mets) else "NO")
        nr = m.get("no_relay")
        rows.append([scen, m["label"], unit, val("pysocat"), second_cell, third_cell,
                     "-" if nr is None else fmt.format(nr), ratio2, ratio3, tgt, met])
        noise.append([scen, m["label"]] + [
            "-" if n not in m["min"] else f"{fmt.format(m['min'][n])}-{fmt.format(m['max'][n])}"
            for n in (names + ["-", "-"])[:3]])
    for table in (rows, noise):
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        for i, r in enumerate(table):
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip(), file=out)
            if i == 0:
                print("  ".join("-" * w for w in widths), file=out)
        print(file=out)


def notes(results: dict[str, Any], mode: Mode) -> list[str]:
    """What the conc_* rows compare, and what was skipped."""
    out = []
    if any(s.startswith("conc") for s in results):
        out.append("conc_*: the pysocat column is TCP-LISTEN,concurrent (one process); in conc_seq and conc_8way the "
                   "socat column is socat's fork and each connection reads its echo before half-closing; "
                   "conc_bulk compares with pysocat's one-peer TCP-LISTEN (no fork) and socat's; "
                   "relay CPU/conn = /proc utime+stime (+ reaped children's) over warm-up and measured connections")
    if "conc_idle" in results:
        nrep = max(len(r) for r in results["conc_idle"]["runs"].values())
        out.append(f"conc_idle ({nrep} repeat(s)): N = {mode.conc_idle} client connections held idle through the relay "
                   "to an echo server (each proven live first); RSS = VmRSS, PSS from smaps_rollup, read while held")
        for c, runs in results["conc_idle"]["runs"].items():
            good = [m for m in runs if m]
            if not good:
                continue
            held = min(int(m["sessions"]) for m in good)
            med = {k: statistics.median(m[k] for m in good)
                   for k in ("rss_before", "rss_held", "kib_per_session", "fds_per_session", "setup_rate")}
            projected = "" if held >= mode.conc_idle else (
                f"; only {held} fit in RLIMIT_NOFILE {int(good[0]['nofile'])}, so the row is projected linearly "
                f"to {mode.conc_idle} from {med['rss_held']:.1f} MiB held")
            out.append(f"  {c}: {med['rss_before']:.1f} MiB before any session, {med['kib_per_session']:.1f} KiB "
                       f"and {med['fds_per_session']:.0f} fds per idle session, {med['setup_rate']:.0f} sessions/s "
                       f"set up{projected}")
    if any(s in results for s in ("conc_seq", "conc_8way", "conc_idle")) and rinetd_path() is None:
        out.append("rinetd " + ("left out (--no-rinetd)" if NO_RINETD else
                                "is not installed (`apt-get install -y rinetd`; make bench installs it)") +
                   ": its column and the >=0.8x rinetd target are skipped")
    return out + ([""] if out else [])


# ---------------------------------------------------------------- main


def compile_package() -> None:
    """Write pysocat's bytecode first, as an installed package has it (pip compiles at install).

    An editable checkout under PYTHONDONTWRITEBYTECODE=1 would otherwise compile every
    changed module from source at each start: slower start-up and megabytes more RSS,
    which would be measured instead of pysocat.
    """
    import compileall

    compileall.compile_dir(str(ROOT / "pysocat"), quiet=1, force=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", dest="mode", action="store_const", const="quick", help="a few minutes (default)")
    g.add_argument("--full", dest="mode", action="store_const", const="full", help="2 GiB bulk, more repeats")
    g.add_argument("--tiny", dest="mode", action="store_const", const="tiny", help="tiny sizes, one repeat (tests)")
    ap.add_argument("--repeats", type=int, help="repeats per contender (default: by mode)")
    ap.add_argument("--only", help="comma-separated scenarios: " + ", ".join(SCENARIOS))
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the relay and the load generators to CPUs")
    ap.add_argument("--stream-pin", choices=["split", "relay", "none"], default="relay",
                    help="CPU placement in the bulk scenarios: split = relay on one CPU and the load generators"
                         " on the other; relay (default) = relay pinned, generators free, since on a 2-CPU"
                         " machine sender+receiver need more than one CPU to outrun a fast relay; none")
    ap.add_argument("--no-rinetd", action="store_true", help="leave rinetd out of the conc_* scenarios")
    ap.add_argument("-q", "--quiet", action="store_true", help="no per-run progress lines on stderr")
    a = ap.parse_args(argv)
    global NO_RINETD
    NO_RINETD = a.no_rinetd
    mode = MODES[a.mode or "quick"]
    scenarios = SCENARIOS
    if a.only:
        scenarios = []
        for item in a.only.split(","):
            hits = [s for s in SCENARIOS if s == item or s.startswith(item)]
            if not hits:
                ap.error(f"unknown scenario {item!r}; choose from {', '.join(SCENARIOS)}")
            scenarios += [s for s in hits if s not in scenarios]
    if not PYSOCAT.exists():
        print(f"{PYSOCAT} is missing: run `make install`", file=sys.stderr)
        return 2
    if not (shutil.which("socat") or os.path.exists("/usr/bin/socat")):
        print("C socat is missing: `apt-get install -y socat` (make bench does it)", file=sys.stderr)
        return 2
    compile_package()
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pin = not a.no_pin and ncpu >= 2 and len(cpus) >= 2

    def log(msg: str) -> None:
        if not a.quiet:
            print(msg, file=sys.stderr, flush=True)

    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pysocat-bench-", dir=base) as tmp:
        b = Bench(mode, a.repeats or mode.repeats, Path(tmp), cpus[:2] if pin else [], a.stream_pin,
                  repeats_given=bool(a.repeats))
        log(f"pysocat bench, {mode.name} mode, {b.repeats} repeat(s), work dir {tmp}")
        results: dict[str, Any] = {}
        for scen in scenarios:
            results[scen] = run_scenario(b, scen, log)
    elapsed = time.monotonic() - started
    print(f"\npysocat vs socat 1.7 - {mode.name} mode, {b.repeats} repeat(s) interleaved, medians; "
          f"ratio = median of paired per-repeat ratios pysocat/other (min-max); "
          f"{elapsed:.0f}s")
    if pin:
        print(f"CPU placement: latency/conn: relay on CPU {cpus[0]}, load generators on CPU {cpus[1]}; "
              f"bulk: --stream-pin {a.stream_pin}\n")
    else:
        print("CPU placement: nothing pinned\n")
    print_table(results)
    for note in notes(results, mode):
        print(note)
    errors = [e for r in results.values() for e in r["errors"]]
    if errors:
        print("ERRORS:")
        for e in errors:
            print("  " + e)
    checks = [(s, m["label"], tc, ok) for s, r in results.items() for m in r["metrics"].values()
              for tc, ok in m["met"].items()]
    unmet = [f"{s} {label}" + ("" if tc in ("socat", ABS) else f" (vs {tc})") for s, label, tc, ok in checks if not ok]
    print(f"targets met: {len(checks) - len(unmet)}/{len(checks)}" + (f"; not met: {', '.join(unmet)}" if unmet else ""))
    if a.json:
        doc = {"mode": mode.name, "repeats": b.repeats, "elapsed_s": elapsed, "cpus": cpus[:2] if pin else [],
               "stream_pin": a.stream_pin, "sizes": mode.sizes, "scenarios": results, "errors": errors,
               "socat_version": subprocess.run([contenders_for("x")["socat"][0], "-V"], capture_output=True,
                                               timeout=10).stdout.decode(errors="replace").splitlines()[1:2]}
        Path(a.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
