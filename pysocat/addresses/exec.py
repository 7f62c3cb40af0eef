"""EXEC:<command-line>, SYSTEM:<shell-command> and SHELL:<shell-command>: a child process.

The child talks over a socketpair (default), two pipes (``pipes``) or a new
pseudo terminal (``pty``); its stdin/stdout (or ``fdin``/``fdout``) are the
channel, ``stderr`` adds its stderr.  Children get SIGPIPE restored to the
default (a documented difference from socat) and inherit only fds 0-2 and the
channel.  EXEC never involves a shell.  In the child, after the descriptors are
in place: setsid/setpgid, the controlling terminal (``ctty``), then privileges
(chroot, setgroups, setgid, setuid; see :mod:`pysocat.options.privileges`), then exec.
``sigint``/``sigquit``/``sighup`` make pysocat pass those signals to the child.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import time
from collections.abc import Callable

from .. import __version__
from ..core import log
from ..core.endpoint import Conversions, Endpoint, Shut
from ..errors import SocatError
from ..options import OptionSet, Phase, privileges
from ..options import terminal as termios_opts
from ..registry import Dir, OpenContext, register

CHILD_GRACE = 1.0  # seconds a child may take to exit after the channel closed


class ChildEndpoint(Endpoint):
    """An endpoint whose far side is a child process, reaped on close."""

    pid: int | None = None
    pty: bool = False
    forwarded: dict[int, object] | None = None  # signal -> previous handler

    early: int | None = None  # the child's wait status, when it had ended before close()

    def close_may_wait(self) -> bool:
        if self.pid is None or self.early is not None:
            return False
        self.early = _wait(self.pid, 0)
        return self.early is None

    def close(self) -> None:
        if self.pty:
            for fd in {self.rfd, self.wfd} - {None}:
                assert fd is not None
                termios_opts.forget(fd)
        pid, self.pid = self.pid, None
        # asked before the channel closes: a child that ends only because it did (cat reading
        # EIO from a closed pty) did not fail during the transfer
        status = None if pid is None else (self.early if self.early is not None else _wait(pid, 0))
        super().close()
        if self.forwarded:
            for sig, old in self.forwarded.items():
                signal.signal(sig, old)  # type: ignore[arg-type]
            self.forwarded = None
        if pid is None:
            return
        if status is None and self.conv.shut is Shut.END_CLOSE:
            return  # end-close: the child is shared (or outlives us); only the fds are closed
        if status is not None and os.waitstatus_to_exitcode(status) != 0:
            # the child failed while the transfer was still running: socat promotes that
            self.failure = 1
        if status is None:
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
        log.current().log("I" if code == 0 else "W", f"waitpid(): child {pid} exited {how}")


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
    ctty: int | None = None,
    plan: privileges.Plan | None = None,
    on_error: Callable[[], None] = lambda: None,
) -> int:
    """Fork and exec ``argv`` with ``fds`` (target -> source) in place.

    The child keeps only fds 0-2 and the targets, gets SIGPIPE back to default,
    takes ``ctty`` (a target fd) as its controlling terminal, drops privileges
    by ``plan``, and reports a failure before exec through a close-on-exec pipe
    (``errno:message``), so the parent can log one E line and reap it.
    """
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # child: set up, then exec or _exit
        what = f'execvp("{program}", ...)'
        try:
            # above every target, but within RLIMIT_NOFILE (F_DUPFD fails with EINVAL beyond it)
            base = max((3, *fds)) + 1
            moved = fcntl.fcntl(err_w, fcntl.F_DUPFD_CLOEXEC, base)  # out of the way of any target
            os.close(err_w)
            err_w = moved
            high = {target: fcntl.fcntl(src, fcntl.F_DUPFD_CLOEXEC, base) for target, src in fds.items()}
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
                what = "setsid()"
                os.setsid()
            elif setpgid:
                what = "setpgid(0, 0)"
                os.setpgid(0, 0)
            if ctty is not None:
                what = f"ioctl({ctty}, TIOCSCTTY)"
                termios_opts.ctty(ctty)
            for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
                        signal.SIGQUIT, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
            if plan is not None and not plan.empty:
                privileges.apply(plan)
            what = f'execvp("{program}", ...)'
            os.execvpe(program, argv, env)
        except SocatError as exc:
            _report(err_w, 0, exc.message)
        except OSError as exc:
            _report(err_w, exc.errno or 0, f"{what}: {exc.strerror}")
        except BaseException:
            pass
        os._exit(127)
    os.close(err_w)
    try:
        report = b""
        while chunk := os.read(err_r, 4096):
            report += chunk
    finally:
        os.close(err_r)
    if report:
        os.waitpid(pid, 0)
        on_error()
        _code, _sep, message = report.decode(errors="replace").partition(":")
        raise SocatError(message)
    return pid


def _report(fd: int, code: int, message: str) -> None:
    try:
        os.write(fd, f"{code}:{message}".encode())
    except OSError:
        pass


def _child_env(ctx: OpenContext) -> dict[str, str]:
    env = ctx.rt.program_env()
    for prefix in {ctx.rt.env_prefix, "SOCAT"}:
        env[f"{prefix}_PID"] = str(os.getpid())
        env[f"{prefix}_PPID"] = str(os.getppid())
        env[f"{prefix}_VERSION"] = __version__
    return env


def exec_in_place(ctx: OpenContext, argv: list[str], opts: OptionSet, shell: bool = False) -> Endpoint:
    """nofork: become the program, with the first address as its stdin/stdout.

    For SYSTEM and SHELL, as socat (which calls system()), the shell runs in a
    child with the first address as its stdin/stdout and pysocat waits for it:
    the shell's parent is pysocat, and a signal ends pysocat with 128+N.
    """
    peer = ctx.peer
    if peer is None or ctx.index != 2:
        raise SocatError('option "nofork" can only be applied to the second address')
    env = _child_env(ctx)
    if opts.get("path") is not None:
        env["PATH"] = opts.get("path")
    if shell:
        opts.take("pty")
        mapping = {target: src for src, target in ((peer.rfd, 0), (peer.wfd, 1)) if src is not None}
        if opts.get("stderr") and peer.wfd is not None:
            mapping[2] = peer.wfd
        for src in set(mapping.values()):
            os.set_blocking(src, True)
        pid = fork_exec(argv[0], argv, env, mapping, setsid=bool(opts.take("setsid")), plan=privileges.plan(opts))
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            log.warn(f"waitpid(): child {pid} exited with status {code}")
        return Endpoint(name=ctx.spec.text, rfd=None, wfd=None)  # nothing left to transfer: the relay ends, status 0
    for fd, target in ((peer.rfd, 0), (peer.wfd, 1)):
        if fd is not None:
            os.set_blocking(fd, True)
            os.dup2(fd, target)
    if opts.get("stderr") and peer.wfd is not None:
        os.dup2(peer.wfd, 2)
    if opts.take("setsid"):
        os.setsid()
    privileges.apply(privileges.plan(opts))
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        raise SocatError(f'execvp("{argv[0]}", ...): {exc.strerror}') from None


def spawn(ctx: OpenContext, argv: list[str], opts: OptionSet, shell: bool = False) -> Endpoint:
    """Start ``argv`` with its stdio (or fdin/fdout) connected to a new endpoint."""
    if opts.get("nofork"):
        return exec_in_place(ctx, argv, opts, shell)
    with_pty = bool(opts.get("pty"))
    pipes, pair = bool(opts.get("pipes")), bool(opts.get("socketpair"))
    use_pipes = pipes and not pair and not with_pty
    if not ctx.direction & Dir.READ and opts.has("fdout"):
        raise SocatError('option "fdout" is useless in write-only mode')
    if not ctx.direction & Dir.WRITE and opts.has("fdin"):
        raise SocatError('option "fdin" is useless in read-only mode')
    fdin, fdout = opts.get("fdin", 0), opts.get("fdout", 1)
    with_stderr = bool(opts.get("stderr"))
    plan = privileges.plan(opts)
    want_ctty = bool(opts.take("tiocsctty"))
    forward = [sig for name, sig in (("sigint", signal.SIGINT), ("sigquit", signal.SIGQUIT),
                                     ("sighup", signal.SIGHUP)) if opts.get(name)]
    link = opts.get("symbolic-link")
    if with_pty:
        master, slave, pty_name = openpty()
        parent_fds, child_fds = (master, master), (slave, slave)
    elif use_pipes:
        child_in, parent_w = os.pipe2(os.O_CLOEXEC)
        parent_r, child_out = os.pipe2(os.O_CLOEXEC)
        parent_fds, child_fds = (parent_r, parent_w), (child_in, child_out)
    else:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        parent_fds = (mine.detach(),) * 2
        child_fds = (theirs.detach(),) * 2
    if want_ctty and not with_pty:
        _close_all(parent_fds + child_fds)
        raise SocatError('option "ctty" needs option "pty"')
    program = argv[0]
    if opts.get("dash"):
        argv = ["-" + os.path.basename(program), *argv[1:]]
    env = _child_env(ctx)
    if opts.get("path") is not None:
        env["PATH"] = opts.get("path")
    try:
        for fd in set(parent_fds):
            opts.apply(Phase.FD, fd)
    except SocatError:
        _close_all(parent_fds + child_fds)
        raise
    mapping = _child_map(ctx.direction, fdin, fdout, child_fds, with_stderr)
    pid = fork_exec(
        program,
        argv,
        env,
        mapping,
        setsid=bool(opts.take("setsid")),
        setpgid=bool(opts.get("setpgid")),
        ctty=(fdin if ctx.direction & Dir.WRITE else fdout) if want_ctty else None,
        plan=plan,
        on_error=lambda: _close_all(parent_fds + child_fds),
    )
    _close_all(tuple(set(child_fds)))
    log.info(f"forked off child process {pid}")
    rfd, wfd = parent_fds[0], parent_fds[1]
    for fd in set(parent_fds):
        os.set_blocking(fd, False)
    ep = ChildEndpoint(name=ctx.spec.text, rfd=rfd, wfd=wfd, conv=Conversions.from_options(opts))
    ep.pid = pid
    ep.pty = with_pty
    if with_pty:
        ep.zero_copy = False
        if link:
            symlink(pty_name, link)
            ep.cleanups.append(unlinker(link))
    if forward:
        ep.forwarded = {}
        for sig in forward:
            ep.forwarded[sig] = signal.signal(sig, _forwarder(pid))
    return ep


def _forwarder(pid: int) -> Callable[[int, object], None]:
    def handler(signum: int, frame: object) -> None:
        log.info(f"passing signal {signum} to child process {pid}")
        try:
            os.kill(pid, signum)
        except OSError:
            pass

    return handler


def openpty() -> tuple[int, int, str]:
    """A new pseudo terminal: master, slave (both close-on-exec) and the slave's name."""
    try:
        master, slave = os.openpty()
        name = os.ttyname(slave)
    except OSError as exc:
        raise SocatError(f"openpty(): {exc.strerror}") from None
    os.set_inheritable(master, False)
    os.set_inheritable(slave, False)
    return master, slave, name


def symlink(target: str, link: str) -> None:
    try:
        os.unlink(link)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SocatError(f'unlink("{link}"): {exc.strerror}') from None
    try:
        os.symlink(target, link)
    except OSError as exc:
        raise SocatError(f'symlink("{target}", "{link}"): {exc.strerror}') from None


def unlinker(path: str) -> Callable[[], None]:
    def remove() -> None:
        try:
            if os.path.islink(path):
                os.unlink(path)
        except OSError:
            pass

    return remove


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
    import shlex

    try:
        argv = shlex.split(params[0])
    except ValueError as exc:
        raise SocatError(f'EXEC: cannot split command line "{params[0]}": {exc}') from None
    if not argv:
        raise SocatError("EXEC: empty command line")
    return spawn(ctx, argv, opts)


def _system(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    return spawn(ctx, ["/bin/sh", "-c", params[0]], opts, shell=True)


def _shell(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    return spawn(ctx, [os.environ.get("SHELL") or "/bin/sh", "-c", params[0]], opts, shell=True)


_G = "FD,FIFO,SOCKET,EXEC,FORK,TERMIOS,PTY,UNIX"
register("EXEC", ("command-line",), _G, _exec, features=("EXEC",), help="run a program (no shell)")
register("SYSTEM", ("shell-command",), _G, _system, features=("SYSTEM",), help="run a shell command with /bin/sh -c")
register("SHELL", ("shell-command",), _G, _shell, features=("SHELL",),
         help="run a shell command with $SHELL -c (default /bin/sh)")
