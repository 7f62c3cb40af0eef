"""The phases of a run: check both addresses, open first then second, transfer, close."""

from __future__ import annotations

import os
import signal
import time

from . import (  # noqa: F401  (privileges, zerocopy: loaded before any fork, not in each child)
    log,
    privileges,
    zerocopy,
)
from .config import Config
from .endpoint import Endpoint, dual
from .engine import Engine
from .errors import SignalExit, SocatError
from .options import OptionSet, Phase
from .registry import AddressType, Dir, OpenContext, prepare
from .spec import AddressSpec, DualSpec, Spec

TERMINATING = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


def _raise_signal(signum: int, frame: object) -> None:
    raise SignalExit(signum)


def install_signal_handlers() -> None:
    """Termination signals unwind through cleanups and exit with 128+N."""
    for sig in TERMINATING:
        signal.signal(sig, _raise_signal)


Prepared = tuple[AddressSpec, AddressType, OptionSet]


def _prepare(spec: Spec, cfg: Config) -> list[Prepared]:
    parts = [spec.read, spec.write] if isinstance(spec, DualSpec) else [spec]
    out: list[Prepared] = []
    for part in parts:
        row, opts = prepare(part, cfg.check_groups, cfg.sloppy)
        out.append((part, row, opts))
    return out


def _open_one(prep: Prepared, cfg: Config, index: int, want: Dir, peer: Endpoint | None = None) -> Endpoint:
    spec, row, opts = prep
    direction = want & row.directions
    if not direction:
        way = "read" if want & Dir.READ else "written"
        raise SocatError(f'address "{spec.text}" cannot be {way}')
    ctx = OpenContext(cfg=cfg, index=index, direction=direction, spec=spec, peer=peer)
    log.info(f"opening address {index}: {spec.text}")
    log.debug(f"address {index}: type {row.name}, params {list(spec.params)}, options {sorted(opts.values)}")
    _lock(opts)
    opts.apply(Phase.EARLY, -1)
    endpoint = row.opener(ctx, spec.params, opts)
    opts.apply_process()
    return endpoint


def _open(preps: list[Prepared], cfg: Config, index: int, want: Dir, peer: Endpoint | None = None) -> Endpoint:
    if len(preps) == 2:
        reader = _open_one(preps[0], cfg, index, Dir.READ) if want & Dir.READ else None
        writer = _open_one(preps[1], cfg, index, Dir.WRITE) if want & Dir.WRITE else None
        if reader and writer:
            return dual(reader, writer)
        ep = reader or writer
        assert ep is not None
        return ep
    return _open_one(preps[0], cfg, index, want, peer)


_LOCKS: list[str] = []


def take_lock(path: str, wait: bool) -> None:
    """-L/-W and lockfile/waitlock: create ``path`` exclusively, failing or waiting."""
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if not wait:
                raise SocatError(f'lock file "{path}" exists') from None
            time.sleep(0.1)
            continue
        except OSError as exc:
            raise SocatError(f'open("{path}"): {exc.strerror}') from None
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        _LOCKS.append(path)
        return


def _lock(opts: OptionSet) -> None:
    if opts.get("lockfile"):
        take_lock(opts.get("lockfile"), False)
    if opts.get("waitlock"):
        take_lock(opts.get("waitlock"), True)


def release_locks() -> None:
    """Remove lock files this process created."""
    while _LOCKS:
        try:
            os.unlink(_LOCKS.pop())
        except OSError:
            pass


def relay(cfg: Config, first: Spec, second: Spec) -> int:
    """Open both addresses and transfer; return the exit status."""
    preps1 = _prepare(first, cfg)
    preps2 = _prepare(second, cfg)
    want1 = (Dir.READ if cfg.left_to_right else Dir(0)) | (Dir.WRITE if cfg.right_to_left else Dir(0))
    want2 = (Dir.WRITE if cfg.left_to_right else Dir(0)) | (Dir.READ if cfg.right_to_left else Dir(0))
    if cfg.lockfile:
        take_lock(cfg.lockfile, False)
    if cfg.waitlock:
        take_lock(cfg.waitlock, True)
    ep1: Endpoint | None = None
    ep2: Endpoint | None = None
    try:
        ep1 = _open(preps1, cfg, 1, want1)
        ep2 = _open(preps2, cfg, 2, want2, ep1)
        fds = f"[{_fd(ep1.rfd)},{_fd(ep1.wfd)}] and [{_fd(ep2.rfd)},{_fd(ep2.wfd)}]"
        log.notice(f"starting data transfer loop with FDs {fds}")
        if cfg.analyze:
            _analyze((ep1, ep2))
        log.LOG.transfer_started()
        engine = Engine(ep1, ep2, cfg)
        status = engine.run()
        if cfg.statistics:
            _statistics(engine)
    finally:
        for ep in (ep1, ep2):
            if ep is not None:
                ep.close()
        release_locks()
    failures = [ep.failure for ep in (ep1, ep2) if ep.failure]
    return status or (failures[0] if failures else 0)


def _statistics(engine: Engine) -> None:
    """--statistics: bytes moved each way, printed to stderr at exit."""
    for p in engine.pumps:
        way = "left to right" if p.tag == ">" else "right to left"
        _stderr(f"{log.LOG.progname} statistics: {way}: {p.moved} bytes")


def _stderr(line: str) -> None:
    try:
        os.write(2, (line + "\n").encode())
    except OSError:
        pass


def _analyze(endpoints: tuple[Endpoint, Endpoint]) -> None:
    """-D: describe the descriptors before the transfer loop."""
    import stat

    kinds = [(stat.S_ISSOCK, "socket"), (stat.S_ISFIFO, "pipe"), (stat.S_ISREG, "file"),
             (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")]
    for index, ep in enumerate(endpoints, 1):
        for fd in sorted(fd for fd in {ep.rfd, ep.wfd} if fd is not None):
            try:
                mode = os.fstat(fd).st_mode
                kind = next((name for test, name in kinds if test(mode)), "other")
                tty = " (terminal)" if os.isatty(fd) else ""
            except OSError as exc:
                kind, tty = f"unusable ({exc.strerror})", ""
            _stderr(f"{log.LOG.progname}: address {index}: fd {fd} is a {kind}{tty}")


def _fd(fd: int | None) -> int:
    return -1 if fd is None else fd
