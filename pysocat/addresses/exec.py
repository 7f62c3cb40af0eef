"""EXEC:<command-line> and SYSTEM:<shell-command>: a child process as an address.

The child talks over a socketpair (default) or two pipes (``pipes``); its
stdin/stdout (or ``fdin``/``fdout``) are the channel, ``stderr`` adds its stderr.
Children get SIGPIPE restored to the default (a documented difference from
socat) and inherit only fds 0-2 and the channel.  EXEC never involves a shell.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import signal
import socket
import time
from collections.abc import Callable

from .. import __version__, log
from ..endpoint import Conversions, Endpoint
from ..errors import SocatError
from ..options import OptionSet, Phase
from ..registry import Dir, OpenContext, register

CHILD_GRACE = 1.0  # seconds a child may take to exit after the channel closed


class ChildEndpoint(Endpoint):
    """An endpoint whose far side is a child process, reaped on close."""

    pid: int | None = None

    def close(self) -> None:
        super().close()
        pid, self.pid = self.pid, None
        if pid is None:
            return
        status = _wait(pid, CHILD_GRACE)
        if status is None:
            os.kill(pid, signal.SIGTERM)
            status = _wait(pid, CHILD_GRACE)
        if status is None:
            os.kill(pid, signal.SIGKILL)
            status = _wait(pid, None)
        assert status is not None
        code = os.waitstatus_to_exitcode(status)
        how = f"on signal {-code}" if code < 0 else f"with status {code}"
        log.LOG.log("I" if code == 0 else "W", f"waitpid(): child {pid} exited {how}")


def _wait(pid: int, timeout: float | None) -> int | None:
    """waitpid with a bound; None if the child is still running after ``timeout``."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG if deadline is not None else 0)
        except ChildProcessError:
            return 0
        if done:
            return status
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(0.005)


def fork_exec(
    program: str,
    argv: list[str],
    env: dict[str, str],
    fds: dict[int, int],
    *,
    setsid: bool = False,
    setpgid: bool = False,
    on_error: Callable[[], None] = lambda: None,
) -> int:
    """Fork and exec ``argv`` with ``fds`` (target -> source) in place.

    The child keeps only fds 0-2 and the targets, gets SIGPIPE back to default,
    and reports an exec failure through a close-on-exec pipe.
    """
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: only async-safe-ish work, then exec or _exit
        try:
            high = {target: fcntl.fcntl(src, fcntl.F_DUPFD_CLOEXEC, 256) for target, src in fds.items()}
            for target, tmp in high.items():
                os.dup2(tmp, target)  # dup2 clears close-on-exec on the target
            keep = {0, 1, 2, err_w, *fds}
            for name in os.listdir("/proc/self/fd"):
                fd = int(name)
                if fd not in keep:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            if setsid:
                os.setsid()
            elif setpgid:
                os.setpgid(0, 0)
            for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
                        signal.SIGQUIT, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
            os.execvpe(program, argv, env)
        except OSError as exc:
            try:
                os.write(err_w, f"{exc.errno}".encode())
            finally:
                os._exit(127)
        except BaseException:
            os._exit(127)
    os.close(err_w)
    try:
        report = os.read(err_r, 64)
    finally:
        os.close(err_r)
    if report:
        os.waitpid(pid, 0)
        on_error()
        code = int(report.decode() or 0)
        raise SocatError(f'execvp("{program}", ...): {os.strerror(code)}')
    return pid


def _child_env(ctx: OpenContext) -> dict[str, str]:
    env = dict(os.environ)
    for prefix in {ctx.cfg.env_prefix, "SOCAT"}:
        env[f"{prefix}_PID"] = str(os.getpid())
        env[f"{prefix}_PPID"] = str(os.getppid())
        env[f"{prefix}_VERSION"] = __version__
    return env


def exec_in_place(ctx: OpenContext, argv: list[str], opts: OptionSet) -> Endpoint:
    """nofork: become the program, with the first address as its stdin/stdout."""
    peer = ctx.peer
    if peer is None or ctx.index != 2:
        raise SocatError('option "nofork" can only be applied to the second address')
    env = _child_env(ctx)
    if opts.get("path") is not None:
        env["PATH"] = opts.get("path")
    for fd, target in ((peer.rfd, 0), (peer.wfd, 1)):
        if fd is not None:
            os.set_blocking(fd, True)
            os.dup2(fd, target)
    if opts.get("stderr") and peer.wfd is not None:
        os.dup2(peer.wfd, 2)
    if opts.take("setsid"):
        os.setsid()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        raise SocatError(f'execvp("{argv[0]}", ...): {exc.strerror}') from None


def spawn(ctx: OpenContext, argv: list[str], opts: OptionSet) -> Endpoint:
    """Start ``argv`` with its stdio (or fdin/fdout) connected to a new endpoint."""
    if opts.get("nofork"):
        return exec_in_place(ctx, argv, opts)
    use_pipes = bool(opts.get("pipes")) and not opts.get("socketpair")
    fdin, fdout = opts.get("fdin", 0), opts.get("fdout", 1)
    with_stderr = bool(opts.get("stderr"))
    if use_pipes:
        child_in, parent_w = os.pipe()
        parent_r, child_out = os.pipe()
        parent_fds, child_fds = (parent_r, parent_w), (child_in, child_out)
    else:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        parent_fds = (mine.detach(),) * 2
        child_fds = (theirs.detach(),) * 2
    program = argv[0]
    if opts.get("dash"):
        argv = ["-" + os.path.basename(program), *argv[1:]]
    env = _child_env(ctx)
    if opts.get("path") is not None:
        env["PATH"] = opts.get("path")
    for fd in set(parent_fds):
        opts.apply(Phase.FD, fd)

    pid = fork_exec(
        program,
        argv,
        env,
        _child_map(ctx.direction, fdin, fdout, child_fds, with_stderr),
        setsid=bool(opts.take("setsid")),
        setpgid=bool(opts.get("setpgid")),
        on_error=lambda: _close_all(parent_fds + child_fds),
    )
    _close_all(tuple(set(child_fds)))
    log.info(f"forked off child process {pid}")
    rfd, wfd = parent_fds[0], parent_fds[1]
    for fd in set(parent_fds):
        os.set_blocking(fd, False)
    ep = ChildEndpoint(name=ctx.spec.text, rfd=rfd, wfd=wfd, conv=Conversions.from_options(opts))
    ep.pid = pid
    return ep


def _child_map(direction: Dir, fdin: int, fdout: int, child_fds: tuple[int, ...], with_stderr: bool) -> dict[int, int]:
    """Child fd -> channel fd, only for the ways the address is used (socat keeps the rest inherited)."""
    mapping: dict[int, int] = {}
    if direction & Dir.WRITE:
        mapping[fdin] = child_fds[0]
    if direction & Dir.READ:
        mapping[fdout] = child_fds[1]
        if with_stderr:
            mapping[2] = child_fds[1]
    return mapping


def _close_all(fds: tuple[int, ...]) -> None:
    for fd in set(fds):
        try:
            os.close(fd)
        except OSError:
            pass


def _exec(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    try:
        argv = shlex.split(params[0])
    except ValueError as exc:
        raise SocatError(f'EXEC: cannot split command line "{params[0]}": {exc}') from None
    if not argv:
        raise SocatError("EXEC: empty command line")
    return spawn(ctx, argv, opts)


def _system(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    return spawn(ctx, ["/bin/sh", "-c", params[0]], opts)


_G = "FD,FIFO,SOCKET,EXEC,FORK,UNIX"
register("EXEC", ("command-line",), _G, _exec, features=("EXEC",), help="run a program (no shell)")
register("SYSTEM", ("shell-command",), _G, _system, features=("SYSTEM",), help="run a shell command with /bin/sh -c")
