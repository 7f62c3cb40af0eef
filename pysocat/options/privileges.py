"""Dropping privileges in a fixed, safe order.

The user is resolved (name, gid, groups) before anything changes, because after
``chroot`` the password database may be out of reach; then chroot, setgroups,
setgid and setuid, in that order, so that ``setuid`` plus ``setgid`` together work
(C socat applies setuid first and then fails on setgid).  After a switch from
root, regaining root is impossible: real, effective and saved ids all change.
"""

from __future__ import annotations

import grp
import os
import pwd
from typing import Any

from ..errors import SocatError

#: the PROCESS options this module applies, in the order they are taken
OPTIONS = ("chroot-early", "chroot", "substuser", "substuser-delayed", "setgid", "setuid")


class Plan:
    """What to change in a process, resolved in advance."""

    def __init__(
        self, chroot: str | None = None, uid: int | None = None, gid: int | None = None, groups: list[int] | None = None
    ) -> None:
        self.chroot = chroot
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.steps: list[str] = []

    @property
    def empty(self) -> bool:
        """Nothing to change."""
        return self.chroot is None and self.uid is None and self.gid is None and self.groups is None


def _user_groups(uid: int) -> tuple[int, list[int]]:
    """Primary gid and every group of the user ``uid``."""
    try:
        pw = pwd.getpwuid(uid)
    except KeyError:
        return uid, [uid]
    groups = os.getgrouplist(pw.pw_name, pw.pw_gid)
    return pw.pw_gid, sorted(set(groups))


def plan(opts: Any) -> Plan:
    """Take the privilege options out of ``opts`` and resolve users and groups now."""
    p = Plan()
    root = opts.take("chroot")
    early = opts.take("chroot-early")
    p.chroot = early if early is not None else root
    user = opts.take("substuser")
    delayed = opts.take("substuser-delayed")
    if user is None:
        user = delayed
    setgid = opts.take("setgid")
    setuid = opts.take("setuid")
    if user is not None:
        p.uid = int(user)
        p.gid, p.groups = _user_groups(p.uid)
    if setgid is not None:
        p.gid = int(setgid)
        if p.groups is None:
            p.groups = [p.gid]
    if setuid is not None:
        p.uid = int(setuid)
    if p.chroot is not None:
        try:
            grp.getgrall()  # warm the group database before the root changes
        except OSError:
            pass
    return p


def apply(p: Plan) -> None:
    """chroot, setgroups, setgid, setuid; raises SocatError naming the failing call."""
    if p.chroot is not None:
        try:
            os.chroot(p.chroot)
            os.chdir("/")
        except OSError as exc:
            raise SocatError(f'chroot("{p.chroot}"): {exc.strerror}') from None
    if p.groups is not None and os.geteuid() == 0:
        try:
            os.setgroups(p.groups)
        except OSError as exc:
            raise SocatError(f"setgroups({len(p.groups)}, ...): {exc.strerror}") from None
    if p.gid is not None:
        try:
            os.setresgid(p.gid, p.gid, p.gid)
        except OSError as exc:
            raise SocatError(f"setgid({p.gid}): {exc.strerror}") from None
    if p.uid is not None:
        try:
            os.setresuid(p.uid, p.uid, p.uid)
        except OSError as exc:
            raise SocatError(f"setuid({p.uid}): {exc.strerror}") from None


def switch_user(uid: int) -> None:
    """su for pysocat itself: groups, gid and uid of ``uid``."""
    gid, groups = _user_groups(uid)
    apply(Plan(uid=uid, gid=gid, groups=groups))
