"""EXEC:<command-line> and SYSTEM:<shell-command>: a child process as an address.

The child talks over a socketpair (default) or two pipes (``pipes``); its
stdin/stdout (or ``fdin``/``fdout``) are the channel, ``stderr`` adds its stderr.
Children get SIGPIPE restored to the default (a documented difference from
socat) and inherit only fds 0-2 and the channel.  EXEC never involves a shell.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

from .. import __version__, log
from ..endpoint import Conversions, Endpoint
from ..errors import SocatError
from ..options import OptionSet, Phase
from ..registry import OpenContext, register

CHILD_GRACE = 1.0  # seconds a child may take to exit after the channel closed


class ChildEndpoint(Endpoint):
    """An endpoint whose far side is a child process, reaped on close."""

    proc: subprocess.Popen[bytes] | None = None

    def close(self) -> None:
        super().close()
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        deadline = time.monotonic() + CHILD_GRACE
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(CHILD_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        status = proc.returncode
        code = -status if status < 0 else status
        level = "I" if status == 0 else "W"
        log.LOG.log(level, f"waitpid(): child {proc.pid} exited {'on signal' if status < 0 else 'with status'} {code}")


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
    if opts.get("setsid"):
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
    if opts.get("dash") and argv:
        argv = ["-" + os.path.basename(argv[0]), *argv[1:]]
    env = _child_env(ctx)
    if opts.get("path") is not None:
        env["PATH"] = opts.get("path")
    for fd in set(parent_fds):
        opts.apply(Phase.FD, fd)

    def in_child() -> None:
        # place the channel on fdin/fdout (dup2 keeps them inheritable)
        os.dup2(child_fds[0], fdin)
        os.dup2(child_fds[1], fdout)
        if with_stderr:
            os.dup2(child_fds[1], 2)
        if opts.get("setpgid"):
            os.setpgid(0, 0)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    keep = tuple(sorted({fdin, fdout} - {0, 1, 2}))
    try:
        proc = subprocess.Popen(
            argv,
            executable=None,
            preexec_fn=in_child,
            close_fds=True,
            pass_fds=keep,
            start_new_session=bool(opts.get("setsid")),
            env=env,
        )
    except FileNotFoundError:
        _close_all(parent_fds + child_fds)
        raise SocatError(f'execvp("{argv[0]}", ...): No such file or directory') from None
    except PermissionError:
        _close_all(parent_fds + child_fds)
        raise SocatError(f'execvp("{argv[0]}", ...): Permission denied') from None
    except (OSError, subprocess.SubprocessError) as exc:
        _close_all(parent_fds + child_fds)
        raise SocatError(f'execvp("{argv[0]}", ...): {exc}') from None
    _close_all(tuple(set(child_fds)))
    log.info(f"forked off child process {proc.pid}")
    rfd, wfd = parent_fds[0], parent_fds[1]
    for fd in set(parent_fds):
        os.set_blocking(fd, False)
    ep = ChildEndpoint(name=ctx.spec.text, rfd=rfd, wfd=wfd, conv=Conversions.from_options(opts))
    ep.proc = proc
    return ep


def _close_all(fds: tuple[int, ...]) -> None:
    for fd in set(fds):
        try:
            os.close(fd)
        except OSError:
            pass


def _exec(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    argv = params[0].split()
    if not argv:
        raise SocatError("EXEC: empty command line")
    return spawn(ctx, argv, opts)


def _system(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    return spawn(ctx, ["/bin/sh", "-c", params[0]], opts)


_G = "FD,FIFO,SOCKET,EXEC,FORK,UNIX"
register("EXEC", ("command-line",), _G, _exec, features=("EXEC",), help="run a program (no shell)")
register("SYSTEM", ("shell-command",), _G, _system, features=("SYSTEM",), help="run a shell command with /bin/sh -c")
