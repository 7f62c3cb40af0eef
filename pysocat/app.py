"""The phases of a run: check both addresses, open first then second, transfer, close.

:class:`Run` is one relay from parsed specs to exit status.  A listening first
address opens to an :class:`~.core.acceptor.Acceptor`, and :mod:`.core.serve`
serves it with the strategy the options (and the host) ask for.  The CLI and
the library (:class:`pysocat.Relay`) both run relays through this class.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from .core import log
from .core.acceptor import Acceptor, Peer
from .core.config import Config
from .core.endpoint import Endpoint, dual
from .core.engine import Engine
from .core.runtime import Runtime
from .core.serve import PeerSession, serve_concurrent, serve_forking, serve_prefork, serve_single, wait_for_peer
from .core.session import Session
from .errors import SocatError, SpecError, WouldBlock
from .options import OptionSet, Phase
from .registry import AddressType, Dir, OpenContext, prepare
from .spec import AddressSpec, DualSpec, Spec

Prepared = tuple[AddressSpec, AddressType, OptionSet]

#: options that change pysocat's own process (beyond the PROCESS group): refused with ``concurrent``
#: (one process serves every peer) and in library use (the process is the host's)
PROCESS_WIDE = frozenset({"umask", "sighup", "sigint", "sigquit", "nofork"})


def _prepare(spec: Spec, cfg: Config) -> list[Prepared]:
    parts = [spec.read, spec.write] if isinstance(spec, DualSpec) else [spec]
    out: list[Prepared] = []
    for part in parts:
        row, opts = prepare(part, cfg.check_groups, cfg.sloppy)
        out.append((part, row, opts))
    return out


def _fresh(preps: list[Prepared]) -> list[Prepared]:
    """The same addresses with options of their own, for one more session."""
    return [(spec, row, opts.copy()) for spec, row, opts in preps]


def _process_wide(prep: Prepared, child_takes: bool) -> list[str]:
    """Names of given options that would act on pysocat's own process."""
    _spec, _row, opts = prep
    return sorted(name for name, desc in opts.descs.items()
                  if name in PROCESS_WIDE or ("PROCESS" in desc.groups and not child_takes))


def _check_library(preps1: list[Prepared], preps2: list[Prepared]) -> None:
    """In a host program: nothing that changes the host's process (privileges, umask, signal handlers)."""
    for preps in (preps1, preps2):
        for prep in preps:
            bad = _process_wide(prep, "EXEC" in prep[1].groups)
            if bad:
                raise SpecError(f'address "{prep[0].text}": option "{bad[0]}" changes the process itself and is '
                                "not available in library use (the process is the host program's)")


def _check_concurrent(preps1: list[Prepared], preps2: list[Prepared]) -> None:
    """``concurrent``: a listening first address, no fork, nothing that changes this process."""
    for index, preps in ((1, preps1), (2, preps2)):
        for spec, row, opts in preps:
            if not opts.values.get("concurrent"):
                continue
            if index != 1 or len(preps) != 1 or not row.serves:
                raise SpecError(f'address "{spec.text}": option "concurrent" needs a listening or receiving '
                                "first address")
            if opts.values.get("fork"):
                raise SpecError('options "fork" and "concurrent" exclude each other')
            bad = _process_wide((spec, row, opts), False)
            for prep in preps2:
                bad += _process_wide(prep, "EXEC" in prep[1].groups)
            if bad:
                raise SpecError(f'option "{bad[0]}" changes the pysocat process itself and cannot be used with '
                                '"concurrent" (every peer is served by that one process)')


class Run:
    """One relay: two parsed addresses, the global configuration, a runtime."""

    def __init__(self, cfg: Config, first: Spec, second: Spec, rt: Runtime) -> None:
        self.cfg, self.rt = cfg, rt
        self.preps1 = _prepare(first, cfg)
        self.preps2 = _prepare(second, cfg)
        _check_concurrent(self.preps1, self.preps2)
        if rt.library:
            _check_library(self.preps1, self.preps2)
        self.want1 = (Dir.READ if cfg.left_to_right else Dir(0)) | (Dir.WRITE if cfg.right_to_left else Dir(0))
        self.want2 = (Dir.WRITE if cfg.left_to_right else Dir(0)) | (Dir.READ if cfg.right_to_left else Dir(0))
        self.engine: Engine | None = None
        self.acceptor: Acceptor | None = None
        self.on_open: Callable[[], None] = lambda: None  # called once listening, or once both are open
        self.stopped = False

    # -- opening --------------------------------------------------------------------------
    def _ctx(self, prep: Prepared, index: int, want: Dir, rt: Runtime, peer: Endpoint | None) -> OpenContext:
        spec, row, _opts = prep
        direction = want & row.directions
        if not direction:
            way = "read" if want & Dir.READ else "written"
            raise SocatError(f'address "{spec.text}" cannot be {way}')
        return OpenContext(cfg=self.cfg, index=index, direction=direction, spec=spec, rt=rt, peer=peer)

    def _open_one(self, prep: Prepared, index: int, want: Dir, rt: Runtime,
                  peer: Endpoint | None = None) -> Endpoint | Acceptor:
        spec, row, opts = prep
        if rt.inline and row.waits:
            raise WouldBlock
        ctx = self._ctx(prep, index, want, rt, peer)
        logger = log.current()
        if logger.enabled("I"):  # built only when shown: a concurrent listener opens addresses per peer
            logger.log("I", f"opening address {index}: {spec.text}")
            if logger.enabled("D"):
                logger.log("D", f"address {index}: type {row.name}, params {list(spec.params)}, "
                                f"options {sorted(opts.values)}")
        for name, wait in (("lockfile", False), ("waitlock", True)):
            if opts.get(name):
                rt.take_lock(opts.get(name), wait)
        opts.apply(Phase.EARLY, -1)
        opened = row.opener(ctx, spec.params, opts)
        if isinstance(opened, Acceptor):
            return opened  # PROCESS options are applied per peer, where the peer is served
        for name in ("fork", "max-children"):
            if opts.has(name):  # socat 1.7/1.8 keep opening connections in children; not yet here
                log.warn(f'option "{name}" on an address that does not listen: pysocat opens this one '
                         "connection and serves it itself")
        opts.apply_process()
        opts.check_leftovers()
        return opened

    def _endpoint(self, prep: Prepared, index: int, want: Dir, rt: Runtime, peer: Endpoint | None = None) -> Endpoint:
        """Open an address that must be an endpoint here: a listener serves its one peer."""
        opened = self._open_one(prep, index, want, rt, peer)
        if isinstance(opened, Acceptor):
            try:
                ep = self._peer_endpoint(opened, prep, index, want, rt, wait_for_peer(opened, None), peer)
            except BaseException:
                opened.close()
                raise
            opened.stop_listening()
            ep.cleanups.extend(opened.cleanups)
            return ep
        return opened

    def _peer_endpoint(self, acceptor: Acceptor, prep: Prepared, index: int, want: Dir, rt: Runtime, peer: Peer,
                       other: Endpoint | None = None) -> Endpoint:
        """An admitted peer's endpoint, with its address's PROCESS options applied and leftovers checked."""
        ep = acceptor.open_peer(self._ctx(prep, index, want, rt, other), peer)
        try:
            prep[2].apply_process()
            prep[2].check_leftovers()
        except BaseException:
            ep.close()
            raise
        return ep

    def _open(self, preps: list[Prepared], index: int, want: Dir, rt: Runtime,
              peer: Endpoint | None = None) -> Endpoint:
        if len(preps) == 2:
            reader = self._endpoint(preps[0], index, Dir.READ, rt) if want & Dir.READ else None
            writer = self._endpoint(preps[1], index, Dir.WRITE, rt) if want & Dir.WRITE else None
            if reader and writer:
                return dual(reader, writer)
            ep = reader or writer
            assert ep is not None
            return ep
        return self._endpoint(preps[0], index, want, rt, peer)

    # -- running ----------------------------------------------------------------------------
    def execute(self) -> int:
        """Open both addresses and transfer (or serve peers); return the exit status.

        The runtime is entered for the run: terminals changed on the way are
        put back and lock files removed however it ends.
        """
        with self.rt:
            return self._execute()

    def _execute(self) -> int:
        cfg, rt = self.cfg, self.rt
        if cfg.lockfile:
            rt.take_lock(cfg.lockfile, False)
        if cfg.waitlock:
            rt.take_lock(cfg.waitlock, True)
        if len(self.preps1) == 1:
            opened = self._open_one(self.preps1[0], 1, self.want1, rt)
            if isinstance(opened, Acceptor):
                return self._serve(opened, self._first_is_peer(opened))
            ep1 = opened
        else:
            ep1 = self._open(self.preps1, 1, self.want1, rt)
        try:
            if len(self.preps2) == 1:
                second = self._open_one(self.preps2[0], 2, self.want2, rt, ep1)
                if isinstance(second, Acceptor):  # the second address listens: serve its peers with ep1
                    try:
                        return self._serve(second, self._second_is_peer(second, ep1))
                    finally:
                        ep1.close()
                ep2 = second
            else:
                ep2 = self._open(self.preps2, 2, self.want2, rt, ep1)
        except BaseException:
            ep1.close()
            raise
        self.on_open()
        return self.transfer(ep1, ep2)

    def _first_is_peer(self, acceptor: Acceptor) -> PeerSession:
        def first(rt: Runtime, peer: Peer) -> Endpoint:
            return self._peer_endpoint(acceptor, self.preps1[0], 1, self.want1, rt, peer)

        def second(rt: Runtime, ep1: Endpoint) -> Endpoint:
            return self._open(_fresh(self.preps2), 2, self.want2, rt, ep1)

        return PeerSession(self.rt.session, first, second, handshake=bool(acceptor.steps))

    def _second_is_peer(self, acceptor: Acceptor, ep1: Endpoint) -> PeerSession:
        def first(rt: Runtime, peer: Peer) -> Endpoint:
            return self._peer_endpoint(acceptor, self.preps2[0], 2, self.want2, rt, peer, ep1)

        # the listening second address's peer is opened first; the session's first endpoint is ep1
        return PeerSession(self.rt.session, first, lambda rt, ep2: ep1, handshake=bool(acceptor.steps),
                           swapped=True)

    def _serve(self, acceptor: Acceptor, peers: PeerSession) -> int:
        """Serve a listening address's peers with the strategy its options (and the host) ask for."""
        self.acceptor = acceptor
        self.on_open()

        def handle(peer: Peer) -> int:
            ep1, ep2, _rt = peers.both(peer, self.rt)
            return self.transfer(ep1, ep2)

        if acceptor.concurrent or (self.rt.library and acceptor.fork):
            return self._serve_concurrent(acceptor, peers, None)
        if self.rt.library:  # never fork a host program; one peer, served by the engine
            return self._serve_concurrent(acceptor, peers, 1)
        if not acceptor.fork:
            return serve_single(acceptor, handle)
        if acceptor.timeout is None and self.rt.prefork and acceptor.preforkable:
            return serve_prefork(acceptor, handle)
        return serve_forking(acceptor, handle)

    def _serve_concurrent(self, acceptor: Acceptor, peers: PeerSession, limit: int | None) -> int:
        if limit is None and not self.rt.library:
            _raise_fd_limit()
        engine = self.engine = Engine(self.cfg, self.rt, contain=limit is None)
        last = [0]

        def ended(session: Session, status: int) -> None:
            last[0] = status
            if limit is not None:
                engine.stop()

        try:
            if self.stopped:
                return 0
            serve_concurrent(acceptor, engine, peers, on_end=ended, once=limit is not None)
        finally:
            engine.close()
        return last[0]

    def transfer(self, ep1: Endpoint, ep2: Endpoint) -> int:
        """Run the transfer between two open endpoints to its end; the exit status."""
        cfg = self.cfg
        engine = Engine(cfg, self.rt)
        try:
            fds = f"[{_fd(ep1.rfd)},{_fd(ep1.wfd)}] and [{_fd(ep2.rfd)},{_fd(ep2.wfd)}]"
            log.notice(f"starting data transfer loop with FDs {fds}")
            if cfg.analyze:
                _analyze((ep1, ep2))
            log.current().transfer_started()
            self.engine = engine
            if self.stopped:
                return 0
            session = engine.session(ep1, ep2)
            engine.run()
            if cfg.statistics:
                _statistics(session)
            return session.close()
        finally:
            engine.close()
            ep1.close()
            ep2.close()

    def stop(self) -> None:
        """End the relay soon (from any thread): stop the engine, or refuse to start one."""
        self.stopped = True
        if self.engine is not None:
            self.engine.stop()

    def stats(self) -> dict[str, int]:
        """Sessions and bytes so far (zeros before the transfer starts)."""
        if self.engine is None:
            return {"sessions": 0, "open_sessions": 0, "bytes_left_to_right": 0, "bytes_right_to_left": 0}
        return self.engine.stats()


def _raise_fd_limit() -> None:
    """A process serving every peer itself needs descriptors: the soft RLIMIT_NOFILE goes up to the hard one."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            log.info(f"setrlimit(RLIMIT_NOFILE): {soft} -> {hard} descriptors")
        except (OSError, ValueError) as exc:
            log.warn(f"setrlimit(RLIMIT_NOFILE, {hard}): {exc}")


def relay(cfg: Config, first: Spec, second: Spec, rt: Runtime) -> int:
    """Open both addresses and transfer; return the exit status."""
    return Run(cfg, first, second, rt).execute()


def _statistics(session: Session) -> None:
    """--statistics: bytes moved each way, printed to stderr at exit."""
    for p in session.pumps:
        way = "left to right" if p.tag == ">" else "right to left"
        _stderr(f"{log.current().progname} statistics: {way}: {p.moved} bytes")


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
            _stderr(f"{log.current().progname}: address {index}: fd {fd} is a {kind}{tty}")


def _fd(fd: int | None) -> int:
    return -1 if fd is None else fd
