"""PTY: a new pseudo terminal; pysocat talks to its master side.

``PTY is /dev/pts/N`` is logged as a notice; ``link=<path>`` makes a symbolic
link to the slave (removed at close unless ``unlink-close=0``).  Descriptor and
termios options are applied to the slave device (``perm``, ``user`` and
``group`` change /dev/pts/N, never /dev/ptmx).  As in socat, pysocat keeps the
slave open itself, so programs may open and close it repeatedly; with
``wait-slave`` it closes it and waits (polling every ``pty-interval`` seconds)
until a program has opened the slave, and a program's last close of the slave
is then an EOF.
"""

from __future__ import annotations

import os
import select
import time

from ..core import log
from ..core.endpoint import Conversions, Endpoint
from ..errors import SocatError
from ..options import OptionSet, Phase
from ..options import terminal as termios_opts
from ..registry import OpenContext, register
from .exec import openpty, symlink, unlinker


class PtyEndpoint(Endpoint):
    """The master side; the slave fd (if still held) is closed with it."""

    slave: int | None = None

    def close(self) -> None:
        for fd in {self.rfd, self.wfd, self.slave} - {None}:
            assert fd is not None
            termios_opts.forget(fd)
        super().close()
        if self.slave is not None:
            try:
                os.close(self.slave)
            except OSError:
                pass
            self.slave = None


def _wait_slave(master: int, interval: float) -> None:
    """Poll until the master no longer reports a hangup: a program opened the slave."""
    poller = select.poll()
    poller.register(master, select.POLLHUP)
    while True:
        events = poller.poll(0)
        if not any(ev & select.POLLHUP for _fd, ev in events):
            return
        time.sleep(interval)


def open_pty(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    """PTY[,link=<path>][,wait-slave]: allocate a pseudo terminal."""
    opts.take("openpty")
    opts.take("ptmx")
    link = opts.take("symbolic-link")
    wait = bool(opts.take("pty-wait-slave"))
    interval = opts.take("pty-interval", 1.0)
    keep_link = opts.take("unlink-close", True)
    master, slave, name = openpty()
    log.notice(f"PTY is {name}")
    ep = PtyEndpoint(name=ctx.spec.text, rfd=master, wfd=master, conv=Conversions.from_options(opts))
    ep.zero_copy = False
    ep.slave = slave
    try:
        if link:
            symlink(name, link)
            if keep_link:
                ep.cleanups.append(unlinker(link))
        opts.apply(Phase.FD, slave)
        opts.apply(Phase.LATE, slave)
        if wait:
            termios_opts.forget(slave)
            os.close(slave)
            ep.slave = None
            _wait_slave(master, interval)
    except (SocatError, BaseException):
        ep.close()
        raise
    os.set_blocking(master, False)
    return ep


register("PTY", (), "FD,NAMED,TERMIOS,PTY", open_pty, features=("PTY", "TERMIOS"),
         help="a new pseudo terminal (the slave's name is logged; link= makes a symlink)")
