"""termios options: seen by the program with stty -a; terminals restored on exit and on signals."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from conftest import PYSOCAT, run

pexpect = pytest.importorskip("pexpect")


def _stty(*opts: str) -> str:
    # -u: only the child's stdout is the pty (stdin stays inherited, as in socat)
    r = run("-u", "SYSTEM:stty -a <&1,pty," + ",".join(opts), "-")
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().replace("\r", "")


def _flags(text: str) -> set[str]:
    return set(re.findall(r"-?[a-z0-9]+", text.split("\n", 3)[-1]))


def test_stty_sees_the_options() -> None:
    # (this kernel's ptys refuse CSIZE and PARENB changes, for C socat too: cs7 and parenb are not tried)
    text = _stty("b9600", "cs8", "parodd", "cstopb", "echo=0", "icanon=0", "isig=0", "ixon=0", "ixoff",
                 "opost=0", "vmin=5", "vtime=3", "vintr=7", "crtscts", "tab3", "echoctl=0")
    flags = _flags(text)
    assert "speed 9600 baud" in text
    assert {"cs8", "parodd", "cstopb", "-echo", "-icanon", "-isig", "-ixon", "ixoff", "-opost",
            "crtscts", "tab3", "-echoctl"} <= flags, text
    assert "min = 5" in text and "time = 3" in text and "intr = ^G" in text


def test_presets_and_speeds() -> None:
    raw = _flags(_stty("rawer"))
    assert {"-icanon", "-isig", "-echo", "-opost", "-icrnl"} <= raw
    made = _flags(_stty("cfmakeraw"))
    assert {"cs8", "-parenb", "-echo", "-iexten"} <= made
    sane = _flags(_stty("rawer", "sane"))
    assert {"icanon", "isig", "echo", "opost", "onlcr", "icrnl"} <= sane
    assert "speed 2400 baud" in _stty("ospeed=2400")
    assert "speed 115200 baud" in _stty("b115200")


def test_bad_termios_values_are_rejected() -> None:
    r = run("-u", "EXEC:true,pty,vmin=256", "-")
    assert r.returncode == 1 and b"out of range" in r.stderr
    r = run("-u", "EXEC:true,pty,ispeed=12345", "-")
    assert r.returncode == 1 and b"unsupported baud rate" in r.stderr and b"Traceback" not in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_stdio_terminal_is_restored(sig: int) -> None:
    child = pexpect.spawn("/bin/bash", ["--norc", "--noprofile"], timeout=10, echo=False,
                          env={**os.environ, "PS1": "$ "})
    try:
        child.expect(r"\$ ")
        child.sendline("stty -a | head -4 | tr -d '\\n'; echo; echo BEFORE-DONE")
        child.expect("BEFORE-DONE")
        before = child.before.decode().strip().splitlines()[-1]
        cmd = " ".join([*PYSOCAT, "STDIO,rawer,echo=0,vmin=3", "'SYSTEM:echo STARTED; exec sleep 30'"])
        child.sendline(f"{cmd}; stty -a | head -4 | tr -d '\\n'; echo; echo AFTER-DONE")
        child.expect("STARTED")
        time.sleep(0.3)
        with open(f"/proc/{child.pid}/task/{child.pid}/children") as fh:
            pid = int(fh.read().split()[0])
        os.kill(pid, sig)
        child.expect("AFTER-DONE")
        after = child.before.decode().strip().splitlines()[-1]
        assert after == before
    finally:
        child.close(force=True)
