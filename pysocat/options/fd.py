"""Rows of descriptors (FD), named file system entries (NAMED), open(2) flags (OPEN) and regular files (REG)."""

from __future__ import annotations

import array
import fcntl
import os
from typing import Any

from .core import SIZE_MAX, Applier, OptType, Phase, opt

B, S = OptType.BOOL, OptType.STRING
FS_IOC_GETFLAGS, FS_IOC_SETFLAGS = 0x80086601, 0x40086602


def _fl(flag: int) -> Applier:
    def apply(fd: int, value: Any) -> None:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, (flags | flag) if value else (flags & ~flag))

    return apply


def _cloexec(fd: int, value: Any) -> None:
    os.set_inheritable(fd, not value)


def _fchown_user(fd: int, value: Any) -> None:
    os.fchown(fd, int(value), -1)


def _fchown_group(fd: int, value: Any) -> None:
    os.fchown(fd, -1, int(value))


def _fchmod(fd: int, value: Any) -> None:
    os.fchmod(fd, int(value))


def _lock(op: int) -> Applier:
    def apply(fd: int, value: Any) -> None:
        if value:
            fcntl.flock(fd, op)

    return apply


def _record_lock(kind: int, wait: bool) -> Applier:
    def apply(fd: int, value: Any) -> None:
        if value:
            fcntl.lockf(fd, kind if wait else kind | fcntl.LOCK_NB)

    return apply


def _umask(fd: int, value: Any) -> None:
    os.umask(int(value))


def _fs_flag(bit: int) -> Applier:
    """chattr-style inode flags (FS_IOC_SETFLAGS), as socat's fs-* options."""

    def apply(fd: int, value: Any) -> None:
        flags = array.array("i", [0])
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, flags, True)
        flags[0] = (flags[0] | bit) if value else (flags[0] & ~bit)
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, flags, True)

    return apply


def _seek(whence: int) -> Applier:
    def apply(fd: int, value: Any) -> None:
        os.lseek(fd, int(value), whence)

    return apply


# Descriptor options.
opt("nonblock", B, "FD", Phase.FD, "o-nonblock", "o-ndelay", "ndelay", apply=_fl(os.O_NONBLOCK), help="set O_NONBLOCK")
opt("cloexec", B, "FD", Phase.FD, apply=_cloexec, help="set FD_CLOEXEC")
opt("user", OptType.USER, "FD", Phase.FD, "owner", "uid", apply=_fchown_user,
    help="change the owner of the file or socket (a name or a numeric id)")
opt("group", OptType.GROUP, "FD", Phase.FD, "gid", apply=_fchown_group,
    help="change the group of the file or socket (a name or a numeric id)")
opt("perm", OptType.MODE, "FD", Phase.FD, "mode", apply=_fchmod,
    help="permissions (octal); also used when a file, FIFO or socket is created")

opt("cool-write", B, "FD", Phase.TRANSFER, "coolwrite",
    help="EPIPE or ECONNRESET when writing here ends the direction quietly (N line), not with an error")
opt("shut-null", B, "FD", Phase.TRANSFER, help="on EOF of the other address send an empty packet here")
opt("null-eof", B, "FD", Phase.TRANSFER, help="an empty packet read from here means EOF")
opt("end-close", B, "FD", Phase.TRANSFER,
    help="the address is shared with other processes: EOF is not propagated to it with shutdown(2), an EXEC or SYSTEM "
         "child is not killed, and its descriptors are just closed at the end (socat's end-close)")
opt("perm-late", OptType.MODE, "FD", Phase.LATE, apply=_fchmod, help="chmod after the address is open")
opt("user-late", OptType.USER, "FD", Phase.LATE, apply=_fchown_user, help="chown after the address is open")
opt("group-late", OptType.GROUP, "FD", Phase.LATE, apply=_fchown_group, help="chgrp after the address is open")
opt("flock-ex", B, "FD", Phase.FD, apply=_lock(fcntl.LOCK_EX), help="flock() exclusive, waiting")
opt("flock-ex-nb", B, "FD", Phase.FD, "flock-nb", apply=_lock(fcntl.LOCK_EX | fcntl.LOCK_NB),
    help="flock() exclusive, failing if locked")
opt("flock-sh", B, "FD", Phase.FD, apply=_lock(fcntl.LOCK_SH), help="flock() shared, waiting")
opt("flock-sh-nb", B, "FD", Phase.FD, apply=_lock(fcntl.LOCK_SH | fcntl.LOCK_NB), help="flock() shared, failing if locked")
opt("f-setlk-wr", B, "FD", Phase.FD, "setlk", "f-setlk", apply=_record_lock(fcntl.LOCK_EX, False),
    help="fcntl write lock, failing if locked")
opt("f-setlkw-wr", B, "FD", Phase.FD, "setlkw", "f-setlkw", "lock", apply=_record_lock(fcntl.LOCK_EX, True),
    help="fcntl write lock, waiting")
opt("f-setlk-rd", B, "FD", Phase.FD, "setlk-rd", apply=_record_lock(fcntl.LOCK_SH, False),
    help="fcntl read lock, failing if locked")
opt("f-setlkw-rd", B, "FD", Phase.FD, "setlkw-rd", apply=_record_lock(fcntl.LOCK_SH, True),
    help="fcntl read lock, waiting")

# Named file system entries.
opt("umask", OptType.MODE, "NAMED", Phase.EARLY, apply=_umask, help="set the process umask before creating entries")
opt("unlink-late", B, "NAMED", Phase.LATE, help="remove the entry right after opening it")
opt("perm-early", OptType.MODE, "NAMED", Phase.PREOPEN,
    help="change the permissions of an existing entry before it is opened")
opt("unlink-early", B, "NAMED", Phase.EARLY,
    help="before opening, remove a stale UNIX socket at the path. Only a socket that no server is listening on is "
         "removed; any other file type, or a live server's socket, is an error")
opt("unlink-close", B, "NAMED", Phase.LATE, help="remove the file system entry when the address is closed")

# open() flags.
opt("creat", B, "OPEN", Phase.OPEN, "o-creat", "create", help="`O_CREAT`: create the file if it does not exist")
opt("excl", B, "OPEN", Phase.OPEN, "o-excl", help="`O_EXCL`: with `creat`, fail if the file exists")
opt("append", B, "OPEN", Phase.OPEN, "o-append", help="`O_APPEND`: write at the end of the file")
opt("trunc", B, "OPEN", Phase.OPEN, "o-trunc", help="`O_TRUNC`: truncate the file to length 0")
opt("nofollow", B, "OPEN", Phase.OPEN, "o-nofollow", help="`O_NOFOLLOW`: refuse a symbolic link")
opt("sync", B, "OPEN", Phase.OPEN, "o-sync", help="`O_SYNC`: synchronous writes")
opt("noatime", B, "OPEN,FD", Phase.FD, "o-noatime", apply=_fl(getattr(os, "O_NOATIME", 0)),
    help="`O_NOATIME`: do not update the access time")
opt("direct", B, "OPEN", Phase.OPEN, "o-direct", help="O_DIRECT")
opt("rdonly", B, "OPEN", Phase.OPEN, "o-rdonly", help="O_RDONLY: open for reading only")
opt("wronly", B, "OPEN", Phase.OPEN, "o-wronly", help="O_WRONLY: open for writing only")
opt("rdwr", B, "OPEN", Phase.OPEN, "o-rdwr", help="O_RDWR: open for reading and writing")
opt("noctty", B, "OPEN", Phase.OPEN, "o-noctty",
    help="`O_NOCTTY`: a terminal does not become the controlling terminal")

opt("ftruncate", OptType.SIZE, "REG", Phase.LATE, "truncate", apply=lambda fd, v: os.ftruncate(fd, int(v)),
    lo=0, hi=SIZE_MAX, help="truncate the file to this many bytes after opening it")
opt("fs-noatime", B, "REG", Phase.FD, "ext2-noatime", apply=_fs_flag(0x80), help="inode flag: no atime updates (chattr +A)")
opt("fs-append", B, "REG", Phase.FD, "ext2-append", apply=_fs_flag(0x20), help="inode flag: append only (chattr +a)")
opt("fs-immutable", B, "REG", Phase.FD, "ext2-immutable", apply=_fs_flag(0x10),
    help="inode flag: immutable (chattr +i)")
opt("fs-sync", B, "REG", Phase.FD, "ext2-sync", apply=_fs_flag(0x08), help="inode flag: synchronous updates (chattr +S)")
opt("fs-nodump", B, "REG", Phase.FD, "ext2-nodump", apply=_fs_flag(0x40), help="inode flag: no dump (chattr +d)")
opt("seek", OptType.SIZE, "REG", Phase.LATE, "lseek", "seek-set",
    apply=_seek(os.SEEK_SET), lo=0, hi=SIZE_MAX,
    help="seek to this offset after opening the file")
opt("seek-cur", OptType.INT, "REG", Phase.LATE, apply=_seek(os.SEEK_CUR),
    lo=-(2**62), hi=2**62, help="seek relative to the current offset")
opt("seek-end", OptType.INT, "REG", Phase.LATE, apply=_seek(os.SEEK_END),
    lo=-(2**62), hi=2**62, help="seek relative to the end of the file")
