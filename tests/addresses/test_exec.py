"""EXEC, SYSTEM and SHELL through the real CLI: channels, pty, fds, privileges, bad input."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from conftest import finish, free_port, run, start, wait_tcp

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def _children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


@pytest.mark.parametrize("channel", ["pipes", "socketpair"])
def test_64_mib_byte_exact_through_cat(channel: str, tmp_path: Path) -> None:
    data = os.urandom(1 << 20) * 64
    src = tmp_path / "src"
    src.write_bytes(data)
    out = tmp_path / "out"
    r = run(f"OPEN:{src}!!CREATE:{out}", f"EXEC:cat,{channel}", timeout=60)
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()


@pytest.mark.parametrize("channel", ["pipes", "socketpair", "pty,rawer"])
def test_round_trip_through_cat(channel: str) -> None:
    data = os.urandom(300_000) if "pty" not in channel else b"line one\nline two\n"
    r = run("-", f"EXEC:cat,{channel}", input=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data


def test_exec_never_uses_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "x"
    r = run("-u", f"EXEC:'echo $(id);touch {marker}'", "-", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"$(id);touch {marker}\n".encode()
    assert not marker.exists()


def test_system_and_shell_use_a_shell() -> None:
    assert run("-u", "SYSTEM:echo a$((1+1))", "-").stdout == b"a2\n"
    r = run("-u", "SHELL:echo $0", "-", env={**os.environ, "SHELL": "/bin/bash"})
    assert r.stdout == b"/bin/bash\n", r.stderr


def test_child_environment() -> None:
    r = run("-u", "SYSTEM:echo $SOCAT_PID $SOCAT_PPID $SOCAT_VERSION", "-")
    pid, ppid, version = r.stdout.decode().split()
    assert int(pid) > 0 and int(ppid) > 0 and version


def test_yes_head_pipeline_ends_sigpipe_default() -> None:
    r = run("-u", "SYSTEM:yes | head -n 3", "-", timeout=10)
    assert r.stdout == b"y\ny\ny\n"
    r = run("-u", "SYSTEM:grep SigIgn /proc/self/status", "-")
    assert int(r.stdout.split()[1], 16) & (1 << 12) == 0  # SIGPIPE not ignored


def test_fd_hygiene_in_the_child() -> None:
    r = run("-u", "SYSTEM:ls /proc/self/fd", "-")
    fds = sorted(int(x) for x in r.stdout.split())
    # 0-2 and the fd ls opened to list the directory
    assert fds[:3] == [0, 1, 2] and len(fds) == 4, fds
    r = run("-u", "SYSTEM:ls /proc/self/fd,fdout=5", "-")
    assert r.returncode == 0


def test_pty_child_sees_a_terminal() -> None:
    r = run("-t", "2", "-", "SYSTEM:tty; test -t 0 && echo stdin-tty,pty,stderr", input=b"")
    lines = r.stdout.decode().replace("\r", "").split("\n")
    assert lines[0].startswith("/dev/pts/"), r.stdout
    assert "stdin-tty" in lines


def test_pty_setsid_ctty_gives_a_controlling_terminal() -> None:
    r = run("-u", "SYSTEM:ps -o tty= -p $$,pty,setsid,ctty", "-")
    assert r.stdout.startswith(b"pts/"), (r.stdout, r.stderr)
    r = run("-u", "SYSTEM:ps -o tty= -p $$,pty,setsid", "-")
    assert r.stdout.startswith(b"?"), (r.stdout, r.stderr)


def test_output_drained_and_eof_propagates() -> None:
    r = run("-u", "SYSTEM:seq 1 200000", "-")
    assert r.stdout == b"".join(b"%d\n" % i for i in range(1, 200001))
    # EOF towards the child: cat ends, its last output still arrives
    r = run("-", "SYSTEM:cat; echo done", input=b"abc\n")
    assert r.stdout == b"abc\ndone\n"


def test_eof_towards_a_pty_child_sends_it_nothing(tmp_path: Path) -> None:
    """Like socat, EOF from the other side puts no EOF character into a pty (socat test 326).

    A program that switches its terminal to raw mode and then writes must still get
    its output through within -t; an injected ^D would be read as input instead.
    """
    from conftest import PYSOCAT

    data = tmp_path / "data"
    data.write_bytes(b"\rA" + b"A" * 512)
    inner = " ".join([*PYSOCAT, "-t", "0.15", "READLINE", str(data)])
    r = run("-", f"SYSTEM:{inner}; echo rc=$? >&2,pty", stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert b"rc=0" in r.stderr, r.stderr
    assert b"A" * 512 in r.stdout.replace(b"\r", b""), r.stdout[-200:]
    assert b" E " not in r.stderr, r.stderr


def test_child_exit_is_logged() -> None:
    r = run("-d", "-d", "-u", "SYSTEM:exit 3", "-")
    assert re.search(rb"W waitpid\(\): child \d+ exited with status 3", r.stderr), r.stderr


def test_sigint_is_passed_to_the_child(procs: list, tmp_path: Path) -> None:  # type: ignore[type-arg]
    script = tmp_path / "s.sh"
    script.write_text("trap 'echo got-int; exit 0' INT\necho ready\nwhile :; do sleep 0.05; done\n")
    p = start("-u", f"EXEC:sh {script},sigint", "-")
    procs.append(p)
    assert p.stdout is not None
    assert p.stdout.readline() == b"ready\n"
    p.send_signal(2)
    rc, out, err = finish(p, timeout=10)
    assert b"got-int" in out
    assert rc == 0, err


@pytest.mark.parametrize(
    "addr,message",
    [
        ("EXEC:/nonexistent/prog", b"No such file or directory"),
        ("EXEC:/etc/passwd", b"Permission denied"),
        ("EXEC:true,su=no-such-user-xyz", b'unknown user "no-such-user-xyz"'),
        ("EXEC:true,echo=0", b"Inappropriate ioctl for device"),
        ("EXEC:true,ctty", b'needs option "pty"'),
    ],
)
def test_bad_input_one_e_line(addr: str, message: bytes) -> None:
    r = run("-u", addr, "-", timeout=10)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and b" E " in lines[0] and message in lines[0], r.stderr
    assert b"Traceback" not in r.stderr


def test_chroot_without_privileges_fails_cleanly(tmp_path: Path) -> None:
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    import subprocess

    from conftest import PYSOCAT

    p = subprocess.run([*cmd, *PYSOCAT, "-u", f"EXEC:true,chroot={tmp_path}", "-"], capture_output=True, timeout=10)
    assert p.returncode == 1
    assert p.stderr.count(b" E ") == 1 and b"chroot" in p.stderr and b"Traceback" not in p.stderr


@ROOT_ONLY
def test_su_nobody_drops_everything(tmp_path: Path) -> None:
    script = (b"grep -E '^(Uid|Gid|Groups)' /proc/self/status\n"
              b"python3 -c 'import os; os.setuid(0)' 2>&1 | tail -1\n")
    r = run("-", "EXEC:sh,su=nobody", input=script)
    text = r.stdout.decode()
    assert re.search(r"Uid:\s+65534\s+65534\s+65534\s+65534", text), text
    assert re.search(r"Gid:\s+65534\s+65534\s+65534\s+65534", text), text
    assert re.search(r"Groups:\s+65534\s*$", text, re.M), text
    assert "PermissionError" in text


@ROOT_ONLY
def test_setuid_plus_setgid_work_together() -> None:
    r = run("-u", "SYSTEM:id -u; id -g; id -G,setuid=nobody,setgid=nogroup", "-")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [b"65534", b"65534", b"65534"]


def _copy_with_libraries(binary: str, root: Path) -> None:
    """Copy a dynamic binary and the shared libraries ldd names into a chroot tree."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=10).stdout
    paths = [binary] + re.findall(r"(/\S+) \(0x", out)
    for path in paths:
        src = Path(path).resolve()
        dst = root / path.lstrip("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            dst.write_bytes(src.read_bytes())
            os.chmod(dst, 0o755)


@ROOT_ONLY
def test_chroot_after_resolving_user(tmp_path: Path) -> None:
    """su=nobody is resolved before chroot (no /etc/passwd inside), then both apply to the child."""
    root = tmp_path / "jail"
    root.mkdir(mode=0o755)
    for binary in ("/bin/sh", "/usr/bin/id"):
        _copy_with_libraries(binary, root)
    r = run("-u", f"SYSTEM:echo in; pwd; id -u; id -g; ls /etc 2>/dev/null || echo no-ls,chroot={root},su=nobody", "-")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"in\n/\n65534\n65534\nno-ls\n", (r.stdout, r.stderr)  # only the jail's files exist


def test_tcp_shell_with_pty_under_pexpect(procs: list) -> None:  # type: ignore[type-arg]
    pexpect = pytest.importorskip("pexpect")
    from conftest import PYSOCAT

    port = free_port()
    server = start("-d", "-d", f"TCP-LISTEN:{port},reuseaddr",
                   "EXEC:bash --norc --noprofile -i,pty,stderr,setsid,sigint,ctty",
                   env={**os.environ, "PS1": "PROMPT> ", "TERM": "dumb"})
    procs.append(server)
    wait_tcp(port)
    child = pexpect.spawn(PYSOCAT[0], [*PYSOCAT[1:], f"TCP:127.0.0.1:{port}", "STDIO,raw,echo=0"], timeout=10)
    try:
        child.expect("PROMPT> ")
        child.sendline("echo $((6*7))")
        child.expect("42")
        child.expect("PROMPT> ")
        child.sendline("sleep 30; echo not-interrupted")
        time.sleep(0.5)
        child.sendcontrol("c")
        child.expect("PROMPT> ")
        assert b"\nnot-interrupted" not in child.before
        child.sendline("echo still-$((1+1))")
        child.expect("still-2")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    rc, _out, _err = finish(server, timeout=10)
    assert rc == 0
