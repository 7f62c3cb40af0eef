"""EXEC and SYSTEM child rows, and PROCESS rows that change pysocat's own process (privileges).

The privilege rows (chroot, substuser, setgid, setuid) are normally taken out of the set by
:mod:`pysocat.privileges`, which applies them in a safe order.
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
opt("socketpair", B, "EXEC", Phase.INIT, help="talk to the child over a socketpair (default)")
opt("stderr", B, "EXEC", Phase.INIT, help="the child's stderr goes to the channel too")
opt("fdin", N, "EXEC", Phase.INIT, lo=0, hi=1023, help="the child reads the channel on this fd")
opt("fdout", N, "EXEC", Phase.INIT, lo=0, hi=1023, help="the child writes the channel on this fd")
opt("setsid", B, "EXEC,PROCESS", Phase.LATE, "sid", apply=_setsid,
    help="start a new session (the child's with EXEC/SYSTEM, else pysocat's own)")
opt("setpgid", B, "EXEC", Phase.INIT, "pgid", help="the child starts a new process group")
opt("path", S, "EXEC", Phase.INIT, help="PATH used to find the program")
opt("nofork", B, "EXEC", Phase.INIT, help="exec the program in place of pysocat, on the first address's fds")
opt("dash", B, "EXEC", Phase.INIT, "login", help="argv[0] starts with '-' (login shell)")


def _su(fd: int, value: Any) -> None:
    from ..privileges import switch_user

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
opt("pty", B, "EXEC", Phase.INIT, help="talk to the child over a new pseudo terminal")
opt("sigint", B, "EXEC", Phase.LATE, help="pass SIGINT to the child instead of ending pysocat")
opt("sigquit", B, "EXEC", Phase.LATE, help="pass SIGQUIT to the child instead of ending pysocat")
opt("sighup", B, "EXEC", Phase.LATE, help="pass SIGHUP to the child instead of ending pysocat")
opt("substuser", OptType.USER, "PROCESS", Phase.LATE, "su", apply=_su,
    help="become this user (groups, gid and uid; after chroot)")
opt("substuser-delayed", OptType.USER, "PROCESS", Phase.LATE, "su-d", apply=_su,
    help="become this user once the address is open (privileged set-up first)")
opt("setuid", OptType.USER, "PROCESS", Phase.LATE, apply=_setuid, help="set the user id (after setgid)")
opt("setgid", OptType.GROUP, "PROCESS", Phase.LATE, apply=_setgid, help="set the group id and supplementary groups")
opt("chroot", S, "PROCESS", Phase.LATE, apply=_chroot, help="change the root directory (user resolved before)")
opt("chroot-early", S, "PROCESS", Phase.EARLY, apply=_chroot, help="change the root directory before opening")
