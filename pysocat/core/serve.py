"""Serving a listening address: the strategies, and the only place pysocat forks for peers.

- :func:`serve_single`: one peer, then the listener closes (socat without ``fork``);
- :func:`serve_forking`: accept in this process, a child process per peer (``fork``);
- :func:`serve_prefork`: ``fork`` with workers forked ahead of demand (:mod:`.prefork`);
- :func:`serve_concurrent`: every peer a session of this process's engine (``concurrent``).

A strategy gets the :class:`~.acceptor.Acceptor` and a ``handle`` that serves
one admitted peer (open the other address, run the session, return its status).
``os._exit``, SIGCHLD and ``gc.freeze`` live here and in :mod:`.prefork` only.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any, NoReturn

from ..errors import QuietExit, SocatError, WouldBlock, outcome
from . import log
from .acceptor import Acceptor, Peer
from .children import ChildTracker
from .endpoint import Endpoint
from .engine import Engine
from .session import Session
from .waiting import wait

Handle = Callable[[Peer], int]

def child_exit(handle: Handle, peer: Peer) -> NoReturn:
    """In a per-peer child: serve the peer, then end the process without interpreter teardown."""
    status = outcome(lambda: handle(peer))
    log.notice(f"exiting with status {status}")
    os._exit(status)


def wait_for_peer(acceptor: Acceptor, tracker: ChildTracker | None) -> Peer:
    """Block until an admitted peer arrives (reaping children meanwhile); ``accept-timeout`` ends it."""
    lfd = acceptor.fileno()
    while True:
        waits = [lfd]
        timeout = acceptor.timeout
        if tracker is not None:
            tracker.reap()
            waits.append(tracker.wake_r)
            if tracker.full(acceptor.max_children):  # as socat: wait for a child to end, without a timeout
                waits.remove(lfd)
                timeout = None
        readable, _w = wait(waits, [], timeout)
        if not readable:
            if timeout is None:
                continue
            # socat: a W line and a normal end, the option's purpose is to stop waiting
            log.warn(f"accept: Connection timed out (no peer within {acceptor.timeout} seconds)")
            raise QuietExit(0)
        if lfd in readable:
            peer = acceptor.accept()
            if peer is not None:
                return peer


def serve_single(acceptor: Acceptor, handle: Handle) -> int:
    """One peer; the listening socket closes once it is accepted (its cleanups run at the end)."""
    try:
        peer = wait_for_peer(acceptor, None)
        acceptor.release(peer)
        return handle(peer)
    finally:
        acceptor.close()


def preload() -> None:
    """Import here, once, what every per-peer child would otherwise import for itself (each
    import in a child costs it file reads and compiling into pages of its own)."""
    from ..options import privileges  # noqa: F401  (PROCESS options, applied per peer)
    from . import zerocopy  # noqa: F401  (the session's mover choice)


def serve_forking(acceptor: Acceptor, handle: Handle) -> int:
    """socat's ``fork``: accept here, serve each peer in a child process; never returns normally."""
    preload()
    tracker = ChildTracker()
    try:
        while True:
            peer = wait_for_peer(acceptor, tracker)
            pid = os.fork()
            if pid == 0:
                tracker.in_child()
                acceptor.release(peer)
                child_exit(handle, peer)
            tracker.children.add(pid)
            log.notice(f"forked off child process {pid}")
            peer.conn.close()
    finally:  # only the parent gets here: a child ends in os._exit
        tracker.close()
        acceptor.close()


def serve_prefork(acceptor: Acceptor, handle: Handle) -> int:
    """``fork`` with workers forked ahead of demand; returns only by an exception in the master."""
    from .prefork import WorkerPool

    preload()
    try:
        peer = WorkerPool(acceptor).serve()  # returns only in a worker
    except BaseException:
        acceptor.close()
        raise
    child_exit(handle, peer)


EXHAUSTED_PAUSE = 0.1  # seconds a listener out of descriptors waits before accepting again


class PeerSession:
    """How a served peer becomes a session: its own endpoint, then the other address's.

    ``first(rt, peer)`` is cheap unless ``handshake`` (a TLS/DTLS handshake per
    peer); ``second(rt, ep1)`` may raise :class:`~pysocat.errors.WouldBlock` when
    ``rt.inline`` and it would have to wait.
    """

    def __init__(self, runtime: Callable[[], Any], first: Callable[[Any, Peer], Endpoint],
                 second: Callable[[Any, Endpoint], Endpoint], handshake: bool, swapped: bool = False) -> None:
        self.runtime, self.first, self.second, self.handshake = runtime, first, second, handshake
        self.swapped = swapped  # the listening address is the second one: its peer is the session's right side

    def pair(self, a: Endpoint, b: Endpoint) -> tuple[Endpoint, Endpoint]:
        """(left, right) of the session from (the peer's endpoint, the other one)."""
        return (b, a) if self.swapped else (a, b)

    def both(self, peer: Peer, rt: Any = None) -> tuple[Endpoint, Endpoint, Any]:
        """Open the whole session here (off the loop, or in a process of its own): (left, right, runtime)."""
        rt = self.runtime() if rt is None else rt
        ep = self.first(rt, peer)
        try:
            return (*self.pair(ep, self.second(rt, ep)), rt)
        except BaseException:
            if not self.swapped:
                ep.close()
            raise


def serve_concurrent(acceptor: Acceptor, engine: Engine, peers: PeerSession,
                     on_end: Callable[[Session, int], None] | None = None, once: bool = False) -> int:
    """Every peer a session of ``engine``, in this process; ``max-children`` bounds open sessions.

    A peer's session opens on the loop when that cannot wait (a TCP connect to an
    address, completed by the loop; a program; a file); what would wait (a name
    to resolve, a TLS or proxy handshake, retries) runs off the loop
    (:meth:`Engine.defer`), so a slow backend never holds up the others.  A
    session that fails to open or fails later ends alone with its E/W line; the
    listener keeps serving until the engine is stopped.
    """
    limit = acceptor.max_children
    paused = False
    pending = 0  # peers whose session is being opened off the loop
    fd = acceptor.fileno()
    acceptor.patient = False  # refusing a peer must not hold up the others
    idle_until: list[float] = []  # accept-timeout: when waiting for the next peer ends

    def waited_enough() -> None:
        """accept-timeout: no peer for that long; stop listening, let open sessions finish."""
        if not acceptor.listening:
            return
        if time.monotonic() < idle_until[0]:
            engine.call_at(idle_until[0], waited_enough)
            return
        log.warn(f"accept: Connection timed out (no peer within {acceptor.timeout} seconds)")
        engine.unwatch(fd)
        acceptor.stop_listening()

    def on_ready() -> None:
        nonlocal paused
        for _ in range(64):  # a burst of peers, without starving open sessions
            if not acceptor.listening:
                return
            if limit is not None and len(engine.sessions) + pending >= limit:
                engine.unwatch(fd)
                paused = True
                return
            peer = acceptor.accept()
            if peer is None:
                if acceptor.exhausted:  # out of descriptors: wait for a session to end, or a moment
                    engine.unwatch(fd)
                    paused = True
                    if not engine.sessions:
                        engine.call_at(time.monotonic() + EXHAUSTED_PAUSE, resume)
                if acceptor.drained or acceptor.exhausted:
                    return
                continue
            if once:  # one peer only: stop listening, as socat without fork
                engine.unwatch(fd)
                acceptor.stop_listening()
            if idle_until:
                idle_until[0] = time.monotonic() + (acceptor.timeout or 0.0)
            start(peer)

    def start(peer: Peer) -> None:
        nonlocal pending
        if peers.handshake:
            pending += 1
            engine.defer(functools.partial(peers.both, peer), opened)
            return
        try:
            rt = peers.runtime()
            ep1 = peers.first(rt, peer)
        except (SocatError, OSError) as exc:
            failed(exc)
            return
        rt.inline = True
        try:
            ep2 = peers.second(rt, ep1)
        except WouldBlock:
            rt.inline = False
            pending += 1
            engine.defer(lambda: (*peers.pair(ep1, peers.second(rt, ep1)), rt), functools.partial(opened, cleanup=ep1))
            return
        except (SocatError, OSError) as exc:
            ep1.close()
            failed(exc)
            return
        finally:
            rt.inline = False
        begin(*peers.pair(ep1, ep2), rt)

    def opened(result: tuple[Endpoint, Endpoint, Any] | None, error: BaseException | None,
               cleanup: Endpoint | None = None) -> None:
        nonlocal pending
        pending -= 1
        if error is not None:
            if cleanup is not None:
                cleanup.close()
            failed(error)
            return
        assert result is not None
        begin(*result)

    def begin(ep1: Endpoint, ep2: Endpoint, rt: Any) -> None:
        if engine.stopping:
            ep1.close()
            ep2.close()
            return
        session = engine.session(ep1, ep2, rt)
        log.info(f"session {session.number} started")

    def failed(error: BaseException) -> None:
        """This peer's session fails alone; the listener goes on."""
        if isinstance(error, SocatError):
            log.error(error.message)
        elif isinstance(error, OSError):
            log.error(f"opening a session: {error.strerror or error}")
        else:
            log.error(f"internal error: {type(error).__name__}: {error}")
        resume()

    def resume() -> None:
        nonlocal paused
        if paused and acceptor.listening:
            paused = False
            engine.watch(fd, on_ready)

    def ended(session: Session, status: int) -> None:
        log.info(f"session {session.number} ended with status {status}")
        if on_end is not None:
            on_end(session, status)
        resume()

    engine.on_end = ended
    engine.watch(fd, on_ready)
    if acceptor.timeout is not None:
        idle_until.append(time.monotonic() + acceptor.timeout)
        engine.call_at(idle_until[0], waited_enough)
    try:
        engine.run()
    finally:
        engine.unwatch(fd)
        acceptor.close()
    return 0
