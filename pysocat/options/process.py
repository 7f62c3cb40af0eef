"""EXEC and SYSTEM child rows, and PROCESS rows that change pysocat's own process (privileges).

The privilege rows (chroot, substuser, setgid, setuid) are normally taken out of the set by
:mod:`pysocat.options.privileges`, which applies them in a safe order.
"""

from __future__ import annotations

import os
from typing import Any

from .core import OptType, Phase, opt

B, N, S = OptType.BOOL, OptType.INT, OptType.STRING


def _setsid(fd: int, value: Any) -> None:
    if value:
        os.setsid()


# Child processes (EXEC, SYSTEM).
opt("pipes", B, "EXEC", Phase.INIT, help="talk to the child over two pipes instead of a socketpair")
opt("socketpair", B, "EXEC", Phase.INIT, help="talk to the child over a UNIX stream socketpair (the default)")
opt("stderr", B, "EXEC", Phase.INIT, help="the child's standard error goes to the channel as well")
opt("fdin", N, "EXEC", Phase.INIT, lo=0, hi=1023, help="the child reads the channel on this descriptor instead of 0")
opt("fdout", N, "EXEC", Phase.INIT, lo=0, hi=1023, help="the child writes the channel on this descriptor instead of 1")
opt("setsid", B, "EXEC,PROCESS", Phase.LATE, "sid", apply=_setsid,
    help="start a new session (the child's with EXEC/SYSTEM, else pysocat's own)")
opt("setpgid", B, "EXEC", Phase.INIT, "pgid", help="the child starts a new process group")
opt("path", S, "EXEC", Phase.INIT, help="the `PATH` used to find the program")
opt("nofork", B, "EXEC", Phase.INIT,
    help="only on the second address: pysocat itself becomes the program, with the first address as its standard "
         "input and output")
opt("dash", B, "EXEC", Phase.INIT, "login", help="the program's argv[0] starts with a dash, as for a login shell")


def _su(fd: int, value: Any) -> None:
    from .privileges import switch_user

    switch_user(int(value))


def _setuid(fd: int, value: Any) -> None:
    os.setuid(int(value))


def _setgid(fd: int, value: Any) -> None:
    if os.geteuid() == 0:
        os.setgroups([int(value)])
    os.setgid(int(value))


def _chroot(fd: int, value: Any) -> None:
    os.chroot(str(value))
    os.chdir("/")


# Terminals, signals and privileges (issue 5).
opt("pty", B, "EXEC", Phase.INIT,
    help="talk to the child over a new pseudo terminal instead of a socketpair: the child's standard input and output "
         "(and standard error with `stderr`) are the slave, pysocat holds the master. Termios options of the address "
         "apply to it. As in socat, EOF from the other side is not passed into the terminal (a pseudo terminal has "
         "no half-close, and an EOF character would reach a program that has switched to raw mode as input): the "
         "child keeps the terminal until the `-t` timeout closes it")
opt("sigint", B, "EXEC", Phase.LATE,
    help="while the child runs, pass SIGINT received by pysocat to the child instead of ending pysocat")
opt("sigquit", B, "EXEC", Phase.LATE, help="while the child runs, pass SIGQUIT to the child instead of ending pysocat")
opt("sighup", B, "EXEC", Phase.LATE, help="while the child runs, pass SIGHUP to the child instead of ending pysocat")
opt("substuser", OptType.USER, "PROCESS", Phase.LATE, "su", apply=_su,
    help="become this user: its groups (from the group database), its primary group and its uid, in that order and "
         "after `chroot`. With EXEC, SYSTEM and SHELL only the child changes; with other addresses pysocat itself "
         "changes once the address is open. Root cannot be regained afterwards")
opt("substuser-delayed", OptType.USER, "PROCESS", Phase.LATE, "su-d", apply=_su,
    help="like `substuser`; pysocat changes user only after the address is open (for example after binding a "
         "privileged port)")
opt("setuid", OptType.USER, "PROCESS", Phase.LATE, apply=_setuid,
    help="set real, effective and saved user id. Applied after `setgid`, so that `setuid` and `setgid` can be "
         "combined (unlike socat, which fails)")
opt("setgid", OptType.GROUP, "PROCESS", Phase.LATE, apply=_setgid,
    help="set real, effective and saved group id, and (as root) the supplementary groups to this group only")
opt("chroot", S, "PROCESS", Phase.LATE, apply=_chroot,
    help="change the root directory (and the working directory to it). Users are resolved before, so `su` works with "
         "a chroot that has no password database")
opt("chroot-early", S, "PROCESS", Phase.EARLY, apply=_chroot,
    help="like `chroot`; for socat, applied before the address is opened. pysocat applies it at the same point as "
         "`chroot`")
