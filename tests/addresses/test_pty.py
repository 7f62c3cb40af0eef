"""PTY through the real CLI: the notice, link=, a pair linking two programs, wait-slave, perm, errors."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from pathlib import Path

from conftest import PYSOCAT, finish, run, start, wait_path


def test_pty_pair_links_two_programs(procs: list, tmp_path: Path) -> None:  # type: ignore[type-arg]
    a, b = tmp_path / "a", tmp_path / "b"
    relay = start("-d", "-d", f"PTY,link={a},rawer", f"PTY,link={b},rawer")
    procs.append(relay)
    wait_path(a)
    wait_path(b)
    reader = subprocess.Popen([*PYSOCAT, "-u", f"OPEN:{b},rawer", "-"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    procs.append(reader)
    time.sleep(0.3)
    writer = run("-u", "-", f"OPEN:{a},rawer", input=b"hello over a pty pair\n")
    assert writer.returncode == 0, writer.stderr
    deadline = time.monotonic() + 5
    got = b""
    assert reader.stdout is not None
    os.set_blocking(reader.stdout.fileno(), False)
    while b"\n" not in got and time.monotonic() < deadline:
        got += reader.stdout.read() or b""
        time.sleep(0.05)
    assert got == b"hello over a pty pair\n"
    relay.terminate()
    rc, _out, err = finish(relay, timeout=10)
    assert rc == 143
    assert len(re.findall(rb"N PTY is /dev/pts/\d+", err)) == 2
    assert not a.exists() and not b.exists()  # links removed at close


def test_pty_perm_applies_to_the_slave(procs: list, tmp_path: Path) -> None:  # type: ignore[type-arg]
    link = tmp_path / "p"
    p = start(f"PTY,link={link},perm=0600", "/dev/null,ignoreeof")
    procs.append(p)
    wait_path(link)
    assert stat.S_IMODE(os.stat(link).st_mode) == 0o600
    assert stat.S_IMODE(os.stat("/dev/ptmx").st_mode) == 0o666
    p.terminate()
    finish(p)


def test_wait_slave_blocks_until_a_program_opens_it(procs: list, tmp_path: Path) -> None:  # type: ignore[type-arg]
    link = tmp_path / "w"
    p = start("-d", "-d", f"PTY,link={link},wait-slave,pty-interval=0.05,rawer", "SYSTEM:echo opened-and-ready")
    procs.append(p)
    wait_path(link)
    time.sleep(0.3)
    assert p.poll() is None
    with open(link, "rb", buffering=0) as fh:
        data = b""
        deadline = time.monotonic() + 5
        while b"ready" not in data and time.monotonic() < deadline:
            data += os.read(fh.fileno(), 100)
    assert b"opened-and-ready" in data
    rc, _out, err = finish(p, timeout=10)
    assert rc == 0, err


def test_pty_end_close() -> None:
    p = start("-d", "-d", "/dev/null", "PTY,end-close")
    rc, _out, err = finish(p, timeout=10)
    assert rc == 0, err


def test_termios_option_on_a_pipe_is_one_e_line() -> None:
    r = run("-u", "-", "OPEN:/dev/null,echo=0", input=b"")
    assert r.returncode == 1
    assert r.stderr.count(b" E ") == 1 and b"Inappropriate ioctl" in r.stderr and b"Traceback" not in r.stderr
