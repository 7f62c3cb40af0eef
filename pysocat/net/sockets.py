"""Shared socket steps: resolve, socket(), options by phase, bind, connect, retry."""

from __future__ import annotations

import _socket
import errno
import os
import socket
import stat
import time
from collections.abc import Callable
from typing import Any

from ..core import log
from ..core.context import OpenContext
from ..core.endpoint import Connecting, Conversions, Endpoint
from ..core.waiting import wait
from ..errors import SocatError, SpecError, WouldBlock
from ..options import OptionSet, Phase

UNIX_PATH_MAX = 107


def family_name(family: int) -> int:
    """socat prints families as numbers (AF=2, AF=10, AF=1)."""
    return int(family)


_RAW_FAMILY: Any = _socket.socket.__dict__["family"]  # the C attribute: a plain int, no enum lookup


def family_of(sock: socket.socket) -> int:
    """The socket's address family as a plain int (cheap in a fresh fork child)."""
    family: int = _RAW_FAMILY.__get__(sock)
    return family


def sockaddr_text(family: int, addr: Any) -> str:
    """socat's rendering of a socket address, e.g. ``AF=2 127.0.0.1:80``."""
    if family == socket.AF_INET:
        return f"AF=2 {addr[0]}:{addr[1]}"
    if family == socket.AF_INET6:
        return f"AF=10 [{addr[0]}]:{addr[1]}"
    if family == socket.AF_UNIX:
        if isinstance(addr, bytes):
            addr = addr.decode("utf-8", "replace")
        shown = ("\\0" + addr[1:]) if addr.startswith("\0") else addr
        return f'AF=1 "{shown}"'
    return f"AF={family} {addr!r}"


def parse_port(text: str, proto: str = "tcp") -> int:
    """A port number 0..65535 or a service name; never wraps around."""
    text = text.strip()
    if text.isdigit():
        port = int(text)
        if port > 65535:
            raise SpecError(f'invalid port "{text}": must be in 0..65535')
        return port
    if text.startswith("-") and text[1:].isdigit():
        raise SpecError(f'invalid port "{text}": must be in 0..65535')
    try:
        return socket.getservbyname(text, proto)
    except OSError:
        raise SocatError(f'getaddrinfo(NULL, "{text}"): Servname not supported for ai_socktype') from None


def strip_brackets(host: str) -> str:
    """``[::1]`` -> ``::1``."""
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


def pick_family(base: int, opts: OptionSet, ctx: OpenContext) -> int:
    """Family from the type (4/6), else ``pf=``, else ``-4``/``-6``, else unspecified."""
    if base != socket.AF_UNSPEC:
        return base
    pf = opts.get("pf")
    if pf is not None:
        low = str(pf).lower()
        if low in ("ip4", "ipv4", "inet", "4"):
            return socket.AF_INET
        if low in ("ip6", "ipv6", "inet6", "6"):
            return socket.AF_INET6
        raise SpecError(f'option "pf={pf}": expected ip4 or ip6')
    return ctx.cfg.family


def _host_arg(host: str) -> str | bytes | None:
    """ASCII names go to getaddrinfo as bytes: a str would load the idna codec (and
    unicodedata) into every relay; non-ASCII names still get IDNA encoding."""
    if not host:
        return None
    return host.encode("ascii") if host.isascii() else host


def resolve(host: str, port: int, family: int, socktype: int, passive: bool = False) -> list[tuple[int, Any]]:
    """getaddrinfo() to a list of (family, sockaddr); SocatError naming the host."""
    flags = socket.AI_PASSIVE if passive else 0
    try:
        infos = socket.getaddrinfo(_host_arg(strip_brackets(host)), port, family, socktype, 0, flags)
    except socket.gaierror as exc:
        raise SocatError(f'getaddrinfo("{host}", "{port}"): {exc.strerror}') from None
    except UnicodeError:
        raise SocatError(f'getaddrinfo("{host}", "{port}"): invalid host name') from None
    seen: list[tuple[int, Any]] = []
    for fam, _t, _p, _c, sa in infos:
        if (fam, sa) not in seen:
            seen.append((fam, sa))
    if family == socket.AF_UNSPEC and not passive:
        # as socat 1.7.4: the preferred IP version first (SOCAT_PREFERRED_RESOLVE_IP, default 4; 0: as resolved)
        prefer = os.environ.get("SOCAT_PREFERRED_RESOLVE_IP", "4")[:1]
        if prefer in ("4", "6"):
            first = socket.AF_INET6 if prefer == "6" else socket.AF_INET
            seen.sort(key=lambda item: item[0] != first)
    return seen


def new_socket(family: int, socktype: int, opts: OptionSet, proto: int = 0) -> socket.socket:
    """socket() plus the options of phases FD, PASTSOCKET and PREBIND (all before any bind)."""
    try:
        sock = socket.socket(family, socktype, proto)
    except OSError as exc:
        raise SocatError(f"socket({family}, {socktype}, {proto}): {exc.strerror}") from None
    try:
        opts.apply(Phase.FD, sock.fileno())
        opts.apply(Phase.PASTSOCKET, sock.fileno())
        opts.apply(Phase.PREBIND, sock.fileno())
    except BaseException:
        sock.close()
        raise
    return sock


def split_bind(text: str, family: int) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 literal -> (host, port)."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SpecError(f'option "bind={text}": missing "]"')
        rest = text[end + 1 :]
        return text[1:end], parse_port(rest[1:]) if rest.startswith(":") else None
    if text.count(":") > 1:
        return text, None
    host, _, port = text.partition(":")
    return host, parse_port(port) if port else None


def bind_address(family: int, opts: OptionSet, socktype: int, port: int | None = None) -> Any | None:
    """The local address from ``bind=`` and ``sourceport=`` (IP families), or None."""
    text = opts.get("bind")
    sport = opts.get("sourceport") if port is None else None
    host = ""
    if text:
        host, bport = split_bind(text, family)
        if port is None and bport is not None:
            sport = bport
    if port is None and not text and sport is None:
        return None
    wildcard = "::" if family == socket.AF_INET6 else "0.0.0.0"
    for fam, sa in resolve(host or wildcard, port if port is not None else (sport or 0), family, socktype, True):
        if fam == family or family == socket.AF_UNSPEC:
            return sa
    raise SocatError(f'bind address "{text}" has no address of family {family}')


def bind_socket(sock: socket.socket, addr: Any, lowport: bool = False) -> None:
    """bind() with socat's error text; ``lowport`` tries ports 640..1023."""
    if lowport:
        import random

        base = list(addr)
        for port in random.sample(range(640, 1024), 1024 - 640):
            base[1] = port
            try:
                sock.bind(tuple(base))
                return
            except OSError:
                continue
        raise SocatError("lowport: no free port in 640..1023")
    try:
        sock.bind(addr)
    except OSError as exc:
        raise SocatError(
            f"bind({sock.fileno()}, {{{sockaddr_text(sock.family, addr)}}}, {_salen(sock.family, addr)}): {exc.strerror}"
        ) from None


def _salen(family: int, addr: Any) -> int:
    if family == socket.AF_INET:
        return 16
    if family == socket.AF_INET6:
        return 28
    return 2 + len(addr) + (0 if isinstance(addr, str) and addr.startswith("\0") else 1)


def connect_socket(sock: socket.socket, addr: Any, timeout: float | None) -> None:
    """connect() bounded by ``timeout`` (connect-timeout), with socat's error text."""
    fd = sock.fileno()
    sock.setblocking(False)
    err = sock.connect_ex(addr)
    if err in (errno.EINPROGRESS, errno.EALREADY):
        _r, w = wait([], [fd], timeout)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if w else errno.ETIMEDOUT
    if err:
        raise SocatError(_connect_error(sock, addr, err))


def with_retry(opts: OptionSet, what: Callable[[], Any], consume: bool = False) -> Any:
    """Run ``what``; on SocatError retry as ``retry``/``forever``/``interval`` say.

    ``consume`` takes retry/forever out of ``opts`` so that an inner step (the TCP
    connect inside a TLS open, say) does not retry on its own as well.
    """
    read = opts.take if consume else opts.get
    retries = read("retry", 0)
    forever = read("forever", False)
    interval = opts.get("interval", 1.0)
    while True:
        try:
            return what()
        except SocatError as exc:
            if not forever and retries <= 0:
                raise
            retries -= 1
            log.info(f"{exc.message}; retrying in {interval}s")
            time.sleep(interval)


def connected(opts: OptionSet, make: Callable[[], tuple[socket.socket, Any]],
              bind: Callable[[socket.socket], None]) -> socket.socket:
    """A socket from ``make`` (socket, peer address), bound by ``bind`` and connected.

    Each attempt closes its socket when it fails; ``retry``/``forever`` repeat it;
    the PASTCONNECT options apply to the connected socket.
    """

    def attempt() -> socket.socket:
        sock, peer = make()
        try:
            bind(sock)
            connect_socket(sock, peer, opts.get("connect-timeout"))
        except BaseException:
            sock.close()
            raise
        return sock

    sock: socket.socket = with_retry(opts, attempt)
    opts.apply(Phase.PASTCONNECT, sock.fileno())
    return sock


def listening(opts: OptionSet, make: Callable[[], socket.socket], addr: Any, backlog: int) -> socket.socket:
    """A socket from ``make``, bound to ``addr`` (PASTBIND options applied) and listening.

    Each attempt closes its socket when it fails; ``retry``/``forever`` repeat it.
    """

    def attempt() -> socket.socket:
        sock = make()
        try:
            bind_socket(sock, addr)
            opts.apply(Phase.PASTBIND, sock.fileno())
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
        return sock

    sock: socket.socket = with_retry(opts, attempt)
    return sock


def stream_endpoint(sock: socket.socket, opts: OptionSet, name: str, datagram: bool = False) -> Endpoint:
    """Wrap a connected socket as a non-blocking endpoint."""
    sock.setblocking(False)
    fd = sock.fileno()
    opts.apply(Phase.LATE, fd)
    return Endpoint(name=name, rfd=fd, wfd=fd, sock=sock, datagram=datagram, conv=Conversions.from_options(opts))


def connect_inet(ctx: OpenContext, host: str, port: int, family: int, opts: OptionSet, socktype: int) -> Endpoint:
    """Resolve, create, bind, connect (with retry): a connected IP socket endpoint."""
    if ctx.rt.inline:
        return _connect_later(ctx, host, port, family, opts, socktype)
    timeout = opts.get("connect-timeout")
    lowport = opts.get("lowport", False)

    def attempt() -> socket.socket:
        last: SocatError | None = None
        for fam, sa in resolve(host, port, family, socktype):
            sock = new_socket(fam, socktype, opts)
            try:
                _bind_client(sock, fam, opts, socktype, lowport)
                connect_socket(sock, sa, timeout)
                return sock
            except SocatError as exc:
                sock.close()
                last = exc
                log.info(exc.message)
        assert last is not None
        raise last

    sock = with_retry(opts, attempt)
    _connected(sock, opts)
    return stream_endpoint(sock, opts, ctx.spec.text)


def _bind_client(sock: socket.socket, fam: int, opts: OptionSet, socktype: int, lowport: bool) -> None:
    local = bind_address(fam, opts, socktype)
    if lowport and local is None:
        local = ("::" if fam == socket.AF_INET6 else "0.0.0.0", 0)
    if local is not None:
        bind_socket(sock, local, lowport)


def _connected(sock: socket.socket, opts: OptionSet) -> None:
    """The connection is up: PASTCONNECT options and socat's notice."""
    opts.apply(Phase.PASTCONNECT, sock.fileno())
    if log.current().enabled("N"):
        log.notice(f"successfully connected from local address {sockaddr_text(family_of(sock), sock.getsockname())}")


def _literal(host: str) -> bool:
    """Whether ``host`` is an address (nothing to resolve: no waiting)."""
    text = strip_brackets(host).split("%")[0]
    for fam in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(fam, text)
            return True
        except OSError:
            continue
    return False


def _connect_later(ctx: OpenContext, host: str, port: int, family: int, opts: OptionSet,
                   socktype: int) -> Endpoint:
    """On the event loop: start a non-blocking connect and let the session complete it.

    Anything that would wait here (a name to resolve, several addresses to try in
    turn, retries) raises WouldBlock: the caller opens the address off the loop.
    """
    if not _literal(host) or any(name in opts.values for name in ("retry", "forever")):
        raise WouldBlock
    targets = resolve(host, port, family, socktype)
    if len(targets) != 1:
        raise WouldBlock
    fam, sa = targets[0]
    timeout = opts.get("connect-timeout")
    sock = new_socket(fam, socktype, opts)
    try:
        _bind_client(sock, fam, opts, socktype, bool(opts.get("lowport", False)))
        sock.setblocking(False)
        err = sock.connect_ex(sa)
        if err and err not in (errno.EINPROGRESS, errno.EALREADY):
            raise SocatError(_connect_error(sock, sa, err))
    except BaseException:
        sock.close()
        raise
    ep = stream_endpoint(sock, opts, ctx.spec.text)
    if not err:
        _connected(sock, opts)
        return ep
    deadline = None if timeout is None else time.monotonic() + timeout

    def finish(error: int) -> None:
        if error:
            raise SocatError(_connect_error(sock, sa, error))
        _connected(sock, opts)

    ep.connecting = Connecting(deadline, finish)
    return ep


def _connect_error(sock: socket.socket, addr: Any, err: int) -> str:
    where = f"{sockaddr_text(sock.family, addr)}, {_salen(sock.family, addr)}"
    return f"connect({sock.fileno()}, {where}): {os.strerror(err)}"


# --- named entries ------------------------------------------------------------------


def is_socket(path: str) -> bool:
    """Whether ``path`` exists and is a socket."""
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


def _unix_listening(path: str) -> bool:
    """Whether a live server listens at ``path`` (read /proc/net/unix; never connect to it)."""
    target = os.path.abspath(path)
    try:
        with open("/proc/net/unix", encoding="utf-8", errors="replace") as table:
            next(table, None)
            for line in table:
                fields = line.split(None, 7)
                if len(fields) == 8 and int(fields[3], 16) & 0x10000:
                    if os.path.abspath(fields[7].rstrip("\n")) == target:
                        return True
    except OSError:
        return False
    return False


def unlink_early(path: str) -> None:
    """unlink-early, stricter than socat: only a stale socket is ever removed."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SocatError(f'unlink-early: "{path}": {exc.strerror}') from None
    if not stat.S_ISSOCK(st.st_mode):
        raise SocatError(f'unlink-early: "{path}" exists and is not a socket; not removing it')
    live = _unix_listening(path)
    if live:
        raise SocatError(f'unlink-early: "{path}" is in use by a listening server; not removing it')
    try:
        os.unlink(path)
    except OSError as exc:
        raise SocatError(f'unlink("{path}"): {exc.strerror}') from None


Named = tuple[int | None, int | None, int | None]


def take_named(opts: OptionSet) -> Named:
    """perm/user/group for an entry created by path (applied to the path, not through its fd)."""
    return opts.take("perm"), opts.take("user"), opts.take("group")


def apply_named(path: str, named: Named) -> None:
    """chmod/chown a just created entry (socket or FIFO) by its path."""
    perm, uid, gid = named
    try:
        if perm is not None:
            os.chmod(path, perm)
        if uid is not None or gid is not None:
            os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
    except OSError as exc:
        raise SocatError(f'"{path}": {exc.strerror}') from None


def remover(path: str) -> Callable[[], None]:
    """A cleanup that removes ``path`` only in the process that created it."""
    owner = os.getpid()

    def cleanup() -> None:
        if os.getpid() == owner:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    return cleanup
