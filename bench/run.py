"""pysocat benchmark suite: pysocat against C socat, side by side (issue 3).

    .venv/bin/python bench/run.py [--quick | --full | --tiny] [--repeats N]
                                  [--only SCENARIO[,SCENARIO...]] [--json FILE]

Each scenario runs pysocat (the venv entry point .venv/bin/pysocat), socat and
``socat -b131072`` interleaved (the order rotates every repeat), checks every
byte moved, and prints a table of medians, the paired ratios pysocat/socat and
pysocat/socat-b131072 (median of the per-repeat ratios, with min-max), the
target from issue 3 section 2 and whether it is met.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
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
             "latency_1B", "latency_1KiB", "conn_seq", "conn_8way", "startup"]

RELAY = "relay"


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


MODES = {
    "tiny": Mode("tiny", 1, {"bulk_tcp": 4 * MiB, "unix_tcp": 4 * MiB, "file_tcp": 4 * MiB, "stdin_tcp": 4 * MiB},
                 200, 20, 10, 16, 2, 3),
    "quick": Mode("quick", 5, {"bulk_tcp": 512 * MiB, "unix_tcp": 512 * MiB, "file_tcp": 256 * MiB,
                               "stdin_tcp": 256 * MiB}, 5000, 300, 200, 400, 10, 20),
    "full": Mode("full", 7, {"bulk_tcp": 2048 * MiB, "unix_tcp": 2048 * MiB, "file_tcp": 1024 * MiB,
                             "stdin_tcp": 1024 * MiB}, 20000, 1000, 1000, 2000, 20, 50),
}


def contenders_for(scenario: str) -> dict[str, list[str]]:
    socat = shutil.which("socat") or "/usr/bin/socat"
    if scenario == "startup":
        return {"pysocat": [str(PYSOCAT), "-V"], "socat": [socat, "-V"],
                "python -S": [str(VENV_PY), "-S", "-c", "pass"]}
    return {"pysocat": [str(PYSOCAT)], "socat": [socat], "socat-b131072": [socat, "-b131072"]}


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


def proc_cpu(pid: int) -> float:
    """user+sys CPU seconds of a live process so far (from /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return 0.0
    rest = stat[stat.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


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
        with open(log, "wb") as err:
            preexec = None
            if cpu is not None:
                def preexec() -> None:
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


def listener() -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
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
    relay_cpu: int | None = None
    gen_cpu: int | None = None
    pattern: Path = field(init=False)
    datafile: Path | None = None
    counter: int = 0
    leftovers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pattern = self.workdir / "pattern.bin"
        self.pattern.write_bytes(random.Random(20240503).randbytes(PATTERN_LEN))

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

    def stream(self, kind: str, cmd: list[str] | None, size: int) -> dict[str, float]:
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
            elif kind in ("tcp", "unix"):
                if kind == "tcp":
                    port = free_port()
                    left, addr = f"TCP-LISTEN:{port},reuseaddr", f"127.0.0.1:{port}"
                else:
                    addr = str(self.workdir / f"relay-{self.counter}.sock")
                    left = f"UNIX-LISTEN:{addr}"
                relay = g.spawn([*cmd, left, target], cpu=self.relay_cpu, name=RELAY)
                if kind == "tcp":
                    wait_listening(relay, g, port=port)
                else:
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
            if relay is not None:
                code, ru = wait_rusage(relay, 15)
                if code != 0:
                    raise RunError(f"relay exited {code}: {g.stderr_of(relay)}")
            if rc != 0 or not res.get("ok"):
                raise RunError(f"verification failed: received {res.get('received')} of {size} bytes, "
                               f"first mismatch at {res.get('mismatch_at')}")
            t0 = src["t_start"] if kind in ("tcp", "unix") or cmd is None else res["t_accept"]
            secs = res["t_eof"] - t0
            m = {"throughput": size / 1e6 / secs, "seconds": secs}
            if ru is not None:
                cpu = ru.ru_utime + ru.ru_stime - cpu0
                m.update(cpu_s_per_gb=cpu / (size / 1e9), peak_rss=peak[0] or None,
                         cpu_user=ru.ru_utime, cpu_sys=ru.ru_stime)
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
                port = free_port()
                relay = g.spawn([*cmd, f"TCP-LISTEN:{port},reuseaddr", f"TCP:127.0.0.1:{eport}"],
                                cpu=self.relay_cpu, name=RELAY)
                wait_listening(relay, g, port=port)
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

    # -- connections per second through TCP-LISTEN,fork

    def connrate(self, cmd: list[str] | None, count: int, conc: int) -> dict[str, float]:
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
            if cmd is not None:
                port = free_port()
                relay = g.spawn([*cmd, f"TCP-LISTEN:{port},fork,reuseaddr,backlog=128", f"TCP:127.0.0.1:{eport}"],
                                cpu=self.relay_cpu, name=RELAY)
                wait_listening(relay, g, port=port)
            cr = g.spawn(self.peer("connrate", out, "--port", port, "--count", count, "--concurrency", conc,
                                   "--warmup", self.mode.conn_warmup, "--timeout", timeout), name="connrate")
            wait_proc(cr, timeout + 10, "connrate")
            res = read_result(out, "connrate")
            if relay is not None and relay.poll() is not None:
                raise RunError(f"forking relay died ({relay.returncode}): {g.stderr_of(relay)}")
            if not res.get("ok"):
                raise RunError(f"{res.get('fail')} of {count} connections failed: {res.get('errors')}")
            return {"rate": res["rate"]}

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
]


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

    def measure(cmd: list[str] | None) -> dict[str, float]:
        if scen in mode.sizes:
            kind = scen.split("_")[0].replace("bulk", "tcp")
            return b.stream(kind, cmd, mode.sizes[scen])
        if scen.startswith("latency"):
            return b.latency(cmd, 1 if scen == "latency_1B" else 1024)
        if scen.startswith("conn"):
            if scen == "conn_seq":
                return b.connrate(cmd, mode.conn_seq, 1)
            return b.connrate(cmd, mode.conn_8way, 8)
        assert cmd is not None
        return b.startup(cmd)

    if scen == "startup" and mode.name != "tiny":
        for c in names:  # warm the page cache and the .pyc files
            b.startup(contenders[c])
    for r in range(b.repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for c in order:
            before = len(b.leftovers)
            try:
                m = measure(contenders[c])
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
    if scen != "startup" and scen not in ("file_tcp", "stdin_tcp"):
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
        for tc, (op, lim) in targets.items():
            ratio = summ["ratio"].get(tc)
            met[tc] = None if ratio is None else (ratio >= lim if op == ">=" else ratio <= lim)
        metrics[key] = {"label": label, "unit": unit, "values": values, **summ,
                        "targets": {tc: f"{op}{lim}x" for tc, (op, lim) in targets.items()}, "met": met,
                        "no_relay": None if ceiling is None else ceiling.get(key)}
    first = next(iter(metrics.values()))
    return {"contenders": {c: contenders[c] for c in names}, "placement": placement, "metrics": metrics, "errors": errors,
            "ratio": first["ratio"].get("socat"), "met": all(v for m in metrics.values() for v in m["met"].values())}


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
    for scen, key, _label, unit, fmt, targets in ROWS:
        if scen not in results:
            continue
        m = results[scen]["metrics"][key]
        names = list(results[scen]["contenders"])
        third = names[2]

        def val(name: str, m: dict[str, Any] = m, fmt: str = fmt) -> str:
            v = m["median"].get(name)
            return "ERR" if v is None else fmt.format(v)

        third_cell = val(third) + ("" if third == "socat-b131072" else f" ({third})")
        ratio3 = fmt_ratio(m, third) + ("" if third == "socat-b131072" else f" vs {third}")
        tgt = "; ".join(f"{op}{lim}x" + ("" if tc == "socat" else f" vs {tc}") for tc, (op, lim) in targets.items())
        mets = [v for v in m["met"].values()]
        met = "?" if any(v is None for v in mets) else ("yes" if all(mets) else "NO")
        nr = m.get("no_relay")
        rows.append([scen, m["label"], unit, val("pysocat"), val("socat"), third_cell,
                     "-" if nr is None else fmt.format(nr), fmt_ratio(m, "socat"), ratio3, tgt, met])
        noise.append([scen, m["label"]] + [
            "-" if n not in m["min"] else f"{fmt.format(m['min'][n])}-{fmt.format(m['max'][n])}" for n in names])
    for table in (rows, noise):
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        for i, r in enumerate(table):
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip(), file=out)
            if i == 0:
                print("  ".join("-" * w for w in widths), file=out)
        print(file=out)


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
    ap.add_argument("-q", "--quiet", action="store_true", help="no per-run progress lines on stderr")
    a = ap.parse_args(argv)
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
        b = Bench(mode, a.repeats or mode.repeats, Path(tmp), cpus[:2] if pin else [], a.stream_pin)
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
    errors = [e for r in results.values() for e in r["errors"]]
    if errors:
        print("ERRORS:")
        for e in errors:
            print("  " + e)
    checks = [(s, m["label"], tc, ok) for s, r in results.items() for m in r["metrics"].values()
              for tc, ok in m["met"].items()]
    unmet = [f"{s} {label}" + ("" if tc == "socat" else f" (vs {tc})") for s, label, tc, ok in checks if not ok]
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
