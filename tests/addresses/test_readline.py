"""READLINE under pexpect: editing, prompt from output, history across runs, noecho, fallback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import PYSOCAT, run

pexpect = pytest.importorskip("pexpect")



def _peer(tmp_path: Path, text: str) -> str:
    script = tmp_path / "peer.sh"
    script.write_text(text)
    return f"EXEC:sh {script}"


LOOP = "printf 'ask> '\nwhile read l; do echo \"got:$l\"; printf 'ask> '; done\n"


def _spawn(*addrs: str) -> pexpect.spawn:
    return pexpect.spawn(PYSOCAT[0], [*PYSOCAT[1:], *addrs], timeout=10,
                         env={**os.environ, "TERM": "dumb", "INPUTRC": "/dev/null"})


def test_history_across_runs(tmp_path: Path) -> None:
    hist = tmp_path / "hist"
    child = _spawn(f"READLINE,history={hist}", _peer(tmp_path, LOOP))
    try:
        child.expect("ask> ")
        child.sendline("first line")
        child.expect("got:first line")
        child.expect("ask> ")
        child.send("secxnd")
        child.send("\x02\x02\x08o")  # two left, backspace, o: line editing
        child.sendline("")
        child.expect("got:second")
        child.expect("ask> ")
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert hist.read_text().split("\n")[:2] == ["first line", "second"]
    child = _spawn(f"READLINE,history={hist}", _peer(tmp_path, LOOP))
    try:
        child.expect("ask> ")
        child.sendcontrol("p")  # previous history entry, from the last run
        child.sendcontrol("p")
        child.sendline("")
        child.expect("got:first line")
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_fixed_prompt_and_noecho(tmp_path: Path) -> None:
    hist = tmp_path / "h"
    peer = _peer(tmp_path, "printf 'Password: '\nread p\necho \"pw=$p\"\nprintf 'ask> '\nread l\necho \"got:$l\"\n")
    child = _spawn(f"READLINE,history={hist},noecho=[Pp]assword", peer)
    try:
        child.expect("Password: ")
        child.sendline("s3cret")
        child.expect("pw=s3cret")
        assert b"s3cret" not in child.before
        child.expect("ask> ")
        child.sendline("visible")
        child.expect("got:visible")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert "s3cret" not in hist.read_text()
    child = _spawn("READLINE,prompt=fixed>", _peer(tmp_path, "read l\necho \"got:$l\"\n"))
    try:
        child.sendline("x")  # as in socat, readline shows the prompt once editing starts
        child.expect("fixed>")
        child.expect("got:x")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_not_a_terminal_falls_back_to_stdio() -> None:
    r = run("READLINE", "SYSTEM:cat", input=b"plain\n")
    assert r.returncode == 0
    assert r.stdout == b"plain\n"
    assert b" W " in r.stderr and b"not a terminal" in r.stderr
