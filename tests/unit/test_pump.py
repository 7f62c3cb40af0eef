"""The movers (Pump, SplicePump, DirectSplicePump) stepped by hand between real pipes.

Each test builds a source pipe (the test writes its ``feed`` end) and a
destination pipe (the test reads its ``drain`` end), both non-blocking, and
calls ``step_read``/``step_write`` itself, checking the state the table names
after each step and the bytes that come out of the destination.
"""

from __future__ import annotations

import io
import os
import select
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pysocat.core import log, zerocopy
from pysocat.core.config import Config
from pysocat.core.dump import Dumper
from pysocat.core.endpoint import Conversions, Endpoint
from pysocat.core.log import LEVELS, Logger
from pysocat.core.pump import IGNOREEOF_POLL, READ, WRITE, Pump
from pysocat.core.pumpstate import State
from pysocat.core.zerocopy import DirectSplicePump, SplicePump
from pysocat.errors import SocatError

pytestmark = pytest.mark.timeout(20)

needs_splice = pytest.mark.skipif(not zerocopy.AVAILABLE, reason="no os.splice on this platform")
MOVERS = [Pump, pytest.param(SplicePump, marks=needs_splice), pytest.param(DirectSplicePump, marks=needs_splice)]
DUMPER = Dumper(False, False, None, None)


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """The lines this thread's relay logs at N and above."""
    logger = Logger()
    logger.threshold = LEVELS.index("N")
    out = io.StringIO()
    logger.stream = out
    token = log.use(logger)
    yield out
    log.restore(token)


class Rig:
    """A pump from a source pipe to a destination pipe; the test holds the far ends."""

    def __init__(self, mover: type[Pump], src_conv: Conversions | None, dst_conv: Conversions | None,
                 cfg: Config) -> None:
        a_r, self.feed = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.drain, b_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.src_fd, self.dst_fd = a_r, b_w
        self.src = Endpoint("src", a_r, None, conv=src_conv)
        self.dst = Endpoint("dst", None, b_w, conv=dst_conv)
        self.pump = mover(self.src, self.dst, 1, ">", cfg, DUMPER)
        self.mine = {self.feed, self.drain}

    def close_feed(self) -> None:
        os.close(self.feed)
        self.mine.discard(self.feed)

    def close_drain(self) -> None:
        os.close(self.drain)
        self.mine.discard(self.drain)

    def close(self) -> None:
        if isinstance(self.pump, SplicePump):
            self.pump._close_pipe()
        self.src.close()
        self.dst.close()
        for fd in self.mine:
            os.close(fd)


Make = Callable[..., Rig]


@pytest.fixture
def rig() -> Iterator[Make]:
    made: list[Rig] = []

    def make(mover: type[Pump] = Pump, src: Conversions | None = None, dst: Conversions | None = None,
             cfg: Config | None = None) -> Rig:
        r = Rig(mover, src, dst, cfg or Config())
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def fill(fd: int) -> int:
    """Write into a non-blocking pipe until it takes not one byte more; how many it took."""
    total = 0
    for size in (1 << 16, 1 << 12, 1):
        chunk = b"\xff" * size
        while True:
            try:
                total += os.write(fd, chunk)
            except BlockingIOError:
                break
    return total


def slurp(fd: int, limit: int | None = None) -> tuple[bytes, bool]:
    """Everything readable now (up to ``limit``) from a non-blocking fd, and whether it is at EOF."""
    out = bytearray()
    while limit is None or len(out) < limit:
        try:
            chunk = os.read(fd, 1 << 16 if limit is None else limit - len(out))
        except BlockingIOError:
            return bytes(out), False
        if not chunk:
            return bytes(out), True
        out += chunk
    return bytes(out), False


def take(fd: int, n: int) -> bytes:
    """Read exactly ``n`` bytes that are already waiting."""
    out = bytearray()
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        assert chunk, "EOF before the expected bytes"
        out += chunk
    return bytes(out)


# --- the copy pump: states as bytes move --------------------------------------------------


def test_bytes_read_and_written_stay_in_reading(rig: Make) -> None:
    r = rig()
    assert r.pump.state is State.READING
    assert r.pump.wants() == (r.src_fd, READ, True)
    os.write(r.feed, b"hello")
    assert r.pump.step_read(time.monotonic()) is True
    assert r.pump.state is State.READING
    assert not r.pump.holding()
    assert r.pump.moved == 5
    assert slurp(r.drain) == (b"hello", False)


def test_nothing_to_read_changes_nothing(rig: Make) -> None:
    r = rig()
    assert r.pump.step_read(time.monotonic()) is False
    assert r.pump.state is State.READING and r.pump.moved == 0


def test_full_destination_holds_then_sends(rig: Make) -> None:
    r = rig()
    filler = fill(r.dst_fd)
    payload = bytes(range(256)) * 8
    os.write(r.feed, payload)
    assert r.pump.step_read(time.monotonic()) is True
    assert r.pump.state is State.WRITING
    assert r.pump.holding()
    assert r.pump.wants() == (r.dst_fd, WRITE, True)  # waits for the destination, not the source
    assert r.pump.step_write() is False  # still full: nothing changes
    assert r.pump.state is State.WRITING
    assert take(r.drain, filler) == b"\xff" * filler
    assert r.pump.step_write() is True
    assert r.pump.state is State.READING
    assert not r.pump.holding()
    assert slurp(r.drain) == (payload, False)


def test_partial_write_stays_writing_until_everything_is_sent(rig: Make) -> None:
    r = rig()
    filler = fill(r.dst_fd)
    take(r.drain, 4096)  # room for one page
    payload = os.urandom(8192)
    os.write(r.feed, payload)
    r.pump.step_read(time.monotonic())
    assert r.pump.state is State.WRITING
    assert r.pump.pending is not None and 0 < len(r.pump.pending) < len(payload)
    got = take(r.drain, filler - 4096)
    while r.pump.state is State.WRITING:
        assert r.pump.step_write() is True
        got += slurp(r.drain)[0]
    assert r.pump.state is State.READING
    got += slurp(r.drain)[0]
    assert got == b"\xff" * (filler - 4096) + payload


def test_eof_with_nothing_held_is_done_and_half_closes(rig: Make, logged: io.StringIO) -> None:
    r = rig()
    os.write(r.feed, b"abc")
    r.close_feed()
    r.pump.step_read(time.monotonic())
    assert r.pump.state is State.READING
    assert r.pump.step_read(time.monotonic()) is True
    assert r.pump.state is State.DONE and r.pump.done and r.pump.eof
    assert r.pump.wants() == (None, 0, True)
    assert r.dst.wfd is None  # a pipe's write end is closed: its reader sees EOF
    assert slurp(r.drain) == (b"abc", True)
    assert f"N socket 1 (fd {r.src_fd}) is at EOF" in logged.getvalue()


def test_eof_with_held_bytes_flushes_before_done(rig: Make) -> None:
    """readbytes reached while the destination is full: FLUSHING, and EOF only after the bytes."""
    r = rig(src=Conversions(readbytes=100))
    filler = fill(r.dst_fd)
    payload = os.urandom(300)
    os.write(r.feed, payload)
    r.pump.step_read(time.monotonic())
    assert r.pump.state is State.FLUSHING
    assert r.pump.eof and not r.pump.done
    assert r.pump.wants() == (r.dst_fd, WRITE, True)
    assert r.dst.wfd == r.dst_fd  # not half-closed while bytes are held
    assert take(r.drain, filler) == b"\xff" * filler
    assert slurp(r.drain) == (b"", False)
    assert r.pump.step_write() is True
    assert r.pump.state is State.DONE
    assert r.dst.wfd is None
    assert slurp(r.drain) == (payload[:100], True)
    assert slurp(r.src_fd) == (payload[100:], False)  # the source is not read beyond readbytes


def test_readbytes_across_reads(rig: Make) -> None:
    r = rig(src=Conversions(readbytes=10000), cfg=Config(bufsize=4096))
    payload = os.urandom(20000)
    os.write(r.feed, payload)
    steps = 0
    while not r.pump.done:
        assert r.pump.step_read(time.monotonic())
        steps += 1
        assert steps <= 3
    assert steps == 3  # 4096 + 4096 + 1808
    assert r.pump.moved == 10000
    assert slurp(r.drain) == (payload[:10000], True)
    assert slurp(r.src_fd) == (payload[10000:], False)


def test_readbytes_zero_reads_nothing(rig: Make) -> None:
    r = rig(src=Conversions(readbytes=0))
    os.write(r.feed, b"never")
    assert r.pump.step_read(time.monotonic()) is True
    assert r.pump.state is State.DONE
    assert slurp(r.drain) == (b"", True)
    assert slurp(r.src_fd) == (b"never", False)


@pytest.mark.parametrize(("data", "delivered"), [
    (b"abc\x1ddef", b"abc"),
    (b"\x1dabc", b""),
    (b"abc\x1d", b"abc"),
])
def test_escape_character_ends_the_direction(rig: Make, data: bytes, delivered: bytes) -> None:
    r = rig(src=Conversions(escape=0x1D))
    os.write(r.feed, data)
    assert r.pump.step_read(time.monotonic()) is True
    assert r.pump.state is State.DONE
    assert slurp(r.drain) == (delivered, True)


def test_escape_in_a_later_read(rig: Make) -> None:
    r = rig(src=Conversions(escape=ord("q")))
    os.write(r.feed, b"first ")
    r.pump.step_read(time.monotonic())
    assert r.pump.state is State.READING
    os.write(r.feed, b"second q third")
    r.pump.step_read(time.monotonic())
    assert r.pump.state is State.DONE
    assert slurp(r.drain) == (b"first second ", True)


def test_escape_with_a_full_destination_flushes_what_came_before(rig: Make) -> None:
    r = rig(src=Conversions(escape=0x1D))
    filler = fill(r.dst_fd)
    os.write(r.feed, b"keep\x1dlose")
    r.pump.step_read(time.monotonic())
    assert r.pump.state is State.FLUSHING
    take(r.drain, filler)
    r.pump.step_write()
    assert r.pump.state is State.DONE
    assert slurp(r.drain) == (b"keep", True)


@pytest.mark.parametrize(("src", "dst", "data", "expected"), [
    (Conversions(crlf=True), None, b"a\r\nb\r\n", b"a\nb\n"),
    (Conversions(crlf=True), None, b"a\rb\n", b"a\rb\n"),
    (Conversions(cr=True), None, b"a\rb\r", b"a\nb\n"),
    (None, Conversions(crlf=True), b"a\nb\n", b"a\r\nb\r\n"),
    (None, Conversions(cr=True), b"a\nb\n", b"a\rb\r"),
    (Conversions(crlf=True), Conversions(crlf=True), b"a\r\nb\n", b"a\r\nb\r\n"),
    (Conversions(cr=True), Conversions(crlf=True), b"a\rb", b"a\r\nb"),
], ids=["crlf-in", "crlf-in-lone-cr", "cr-in", "crlf-out", "cr-out", "crlf-both", "cr-in-crlf-out"])
def test_line_end_conversions(rig: Make, src: Conversions | None, dst: Conversions | None, data: bytes,
                              expected: bytes) -> None:
    r = rig(src=src, dst=dst)
    os.write(r.feed, data)
    r.pump.step_read(time.monotonic())
    assert r.pump.state is State.READING
    assert slurp(r.drain) == (expected, False)


def test_ignoreeof_polls_a_file_for_more(rig: Make, tmp_path: Path) -> None:
    """ignoreeof on a regular file (``tail -f``): EOF is POLLING with a timer, and more data reads on."""
    path = tmp_path / "growing"
    path.write_bytes(b"first\n")
    fd = os.open(path, os.O_RDONLY)
    r = rig()
    src = Endpoint("file", fd, None, conv=Conversions(ignoreeof=True))
    pump = Pump(src, r.dst, 1, ">", Config(), DUMPER)
    try:
        assert pump.step_read(100.0) is True
        assert pump.state is State.READING
        assert pump.step_read(100.0) is False
        assert pump.state is State.POLLING
        assert pump.poll_at == pytest.approx(100.0 + IGNOREEOF_POLL)
        assert not pump.eof and not pump.done
        assert pump.wants() == (fd, READ, False)  # a regular file cannot be waited for: the timer decides
        assert pump.step_read(100.2) is False  # still nothing: still POLLING, timer moved on
        assert pump.state is State.POLLING and pump.poll_at == pytest.approx(100.2 + IGNOREEOF_POLL)
        with open(path, "ab") as fh:
            fh.write(b"second\n")
        assert pump.step_read(100.4) is True
        assert pump.state is State.READING and pump.poll_at is None
        assert r.dst.wfd == r.dst_fd
        assert slurp(r.drain) == (b"first\nsecond\n", False)
    finally:
        src.close()


def test_ignoreeof_on_a_closed_pipe_never_ends(rig: Make) -> None:
    r = rig(src=Conversions(ignoreeof=True))
    r.close_feed()
    for i in range(3):
        assert r.pump.step_read(float(i)) is False
        assert r.pump.state is State.POLLING
    assert r.dst.wfd == r.dst_fd
    assert slurp(r.drain) == (b"", False)


def test_cool_write_drops_on_epipe(rig: Make, logged: io.StringIO) -> None:
    r = rig(dst=Conversions(cool_write=True))
    r.close_drain()
    os.write(r.feed, b"x" * 10)
    assert r.pump.step_read(time.monotonic()) is True
    assert r.pump.state is State.DONE
    assert not r.pump.holding()
    assert r.dst.wfd is None
    assert f"N write({r.dst_fd}, 0x0, 10): Broken pipe" in logged.getvalue()


def test_cool_write_drops_held_bytes(rig: Make) -> None:
    r = rig(dst=Conversions(cool_write=True))
    fill(r.dst_fd)
    os.write(r.feed, b"held")
    r.pump.step_read(time.monotonic())
    assert r.pump.state is State.WRITING
    r.close_drain()
    assert r.pump.step_write() is True
    assert r.pump.state is State.DONE and not r.pump.holding()


def test_epipe_without_cool_write_is_an_error(rig: Make) -> None:
    r = rig()
    r.close_drain()
    os.write(r.feed, b"x" * 10)
    with pytest.raises(SocatError) as info:
        r.pump.step_read(time.monotonic())
    assert info.value.message == f"write({r.dst_fd}, 0x0, 10): Broken pipe"
    assert info.value.status == 1


def test_read_error_names_the_call(rig: Make) -> None:
    r = rig()
    bad = Endpoint("bad", r.feed, None)  # the write end of a pipe cannot be read: EBADF
    pump = Pump(bad, r.dst, 1, ">", Config(bufsize=512), DUMPER)
    with pytest.raises(SocatError) as info:
        pump.step_read(time.monotonic())
    assert info.value.message == f"read({r.feed}, 0x0, 512): Bad file descriptor"


def test_raw_dump_sees_the_converted_bytes(rig: Make, tmp_path: Path) -> None:
    raw = tmp_path / "lr"
    dumper = Dumper(False, False, str(raw), None)
    r = rig(dst=Conversions(crlf=True))
    pump = Pump(r.src, r.dst, 1, ">", Config(), dumper)
    os.write(r.feed, b"a\nb\n")
    pump.step_read(time.monotonic())
    assert slurp(r.drain) == (b"a\r\nb\r\n", False)
    raw_file = dumper.raw[">"]
    assert raw_file is not None
    raw_file.close()
    assert raw.read_bytes() == b"a\r\nb\r\n"


# --- the splice movers -----------------------------------------------------------------------


@needs_splice
def test_make_pump_picks_direct_for_pipes_and_private_pipe_for_sockets() -> None:
    import socket

    a_r, a_w = os.pipe()
    s1, s2 = socket.socketpair()
    t1, t2 = socket.socketpair()
    try:
        pipe_src = Endpoint("p", a_r, None)
        sock_dst = Endpoint("s", None, s1.fileno())
        sock_src = Endpoint("t", t1.fileno(), None)
        assert type(zerocopy.make_pump(pipe_src, sock_dst, 1, ">", Config(), DUMPER)) is DirectSplicePump
        assert type(zerocopy.make_pump(sock_src, sock_dst, 1, ">", Config(), DUMPER)) is SplicePump
    finally:
        for fd in (a_r, a_w):
            os.close(fd)
        for s in (s1, s2, t1, t2):
            s.close()


@needs_splice
def test_splice_pump_holds_no_pipe_until_it_reads(rig: Make) -> None:
    r = rig(SplicePump)
    pump = r.pump
    assert isinstance(pump, SplicePump)
    assert (pump.pr, pump.pw) == (-1, -1)
    assert pump.step_read(time.monotonic()) is False  # nothing there
    os.write(r.feed, b"spliced")
    assert pump.step_read(time.monotonic()) is True
    assert pump.state is State.READING and pump.inpipe == 0 and pump.moved == 7
    assert slurp(r.drain) == (b"spliced", False)


@needs_splice
def test_splice_pump_full_destination_holds_in_its_pipe(rig: Make) -> None:
    r = rig(SplicePump)
    pump = r.pump
    assert isinstance(pump, SplicePump)
    filler = fill(r.dst_fd)
    payload = os.urandom(5000)
    os.write(r.feed, payload)
    assert pump.step_read(time.monotonic()) is True
    assert pump.state is State.WRITING
    assert pump.holding() and pump.inpipe == 5000
    assert pump.wants() == (r.dst_fd, WRITE, True)
    assert pump.step_write() is False
    take(r.drain, filler)
    while pump.state is State.WRITING:
        assert pump.step_write() is True
    assert pump.state is State.READING and not pump.holding()
    assert slurp(r.drain) == (payload, False)


@needs_splice
def test_splice_pump_eof_closes_its_pipe_and_half_closes(rig: Make) -> None:
    r = rig(SplicePump)
    pump = r.pump
    assert isinstance(pump, SplicePump)
    os.write(r.feed, b"last")
    r.close_feed()
    pump.step_read(time.monotonic())
    assert pump.pr >= 0
    pump.step_read(time.monotonic())
    assert pump.state is State.DONE
    assert (pump.pr, pump.pw) == (-1, -1)
    assert r.dst.wfd is None
    assert slurp(r.drain) == (b"last", True)


@needs_splice
def test_splice_pump_cool_write_drops(rig: Make) -> None:
    r = rig(SplicePump, dst=Conversions(cool_write=True))
    r.close_drain()
    os.write(r.feed, b"gone")
    assert r.pump.step_read(time.monotonic()) is True
    assert r.pump.state is State.DONE and not r.pump.holding()


@needs_splice
def test_splice_pump_epipe_is_an_error(rig: Make) -> None:
    r = rig(SplicePump)
    r.close_drain()
    os.write(r.feed, b"gone")
    with pytest.raises(SocatError, match=rf"^write\({r.dst_fd}, 0x0, 4\): Broken pipe$"):
        r.pump.step_read(time.monotonic())


@needs_splice
def test_splice_pump_falls_back_when_the_destination_refuses(rig: Make, tmp_path: Path) -> None:
    """splice() into a file opened O_APPEND is EINVAL: the bytes in the pipe are copied instead."""
    out = tmp_path / "appended"
    out.write_bytes(b"old:")
    fd = os.open(out, os.O_WRONLY | os.O_APPEND)
    r = rig()
    dst = Endpoint("file", None, fd)
    pump = SplicePump(r.src, dst, 1, ">", Config(), DUMPER)
    try:
        os.write(r.feed, b"first ")
        assert pump.step_read(time.monotonic()) is True
        assert pump.userspace and (pump.pr, pump.pw) == (-1, -1)
        assert pump.state is State.READING
        os.write(r.feed, b"second")
        r.close_feed()
        pump.step_read(time.monotonic())
        pump.step_read(time.monotonic())
        assert pump.state is State.DONE
        assert out.read_bytes() == b"old:first second"
    finally:
        dst.close()


@needs_splice
def test_splice_pump_falls_back_when_the_source_refuses(rig: Make) -> None:
    """/dev/null cannot be spliced from: the copy path reads its EOF and passes it on."""
    r = rig()
    fd = os.open(os.devnull, os.O_RDONLY)
    src = Endpoint("null", fd, None)
    pump = SplicePump(src, r.dst, 1, ">", Config(), DUMPER)
    try:
        assert pump.step_read(time.monotonic()) is True
        assert pump.userspace
        assert pump.state is State.DONE
        assert slurp(r.drain) == (b"", True)
    finally:
        src.close()


@needs_splice
def test_direct_splice_moves_without_holding(rig: Make) -> None:
    r = rig(DirectSplicePump)
    os.write(r.feed, b"direct")
    assert r.pump.step_read(time.monotonic()) is True
    assert r.pump.state is State.READING and not r.pump.holding()
    assert slurp(r.drain) == (b"direct", False)


@needs_splice
def test_direct_splice_full_destination_waits_for_it(rig: Make) -> None:
    r = rig(DirectSplicePump)
    filler = fill(r.dst_fd)
    payload = os.urandom(3000)
    os.write(r.feed, payload)
    assert r.pump.step_read(time.monotonic()) is False
    assert r.pump.state is State.WRITING
    assert not r.pump.holding()  # the bytes wait in the source pipe, not in the pump
    assert r.pump.wants() == (r.dst_fd, WRITE, True)
    take(r.drain, filler)
    assert r.pump.step_write() is True  # writable again: the waiting bytes move
    assert r.pump.state is State.READING
    assert slurp(r.drain) == (payload, False)
    assert r.pump.moved == len(payload)


@needs_splice
def test_direct_splice_writable_with_an_empty_source_goes_back_to_reading(rig: Make) -> None:
    r = rig(DirectSplicePump)
    filler = fill(r.dst_fd)
    os.write(r.feed, b"x")
    r.pump.step_read(time.monotonic())
    assert r.pump.state is State.WRITING
    take(r.drain, filler)
    assert slurp(r.src_fd) == (b"x", False)  # someone else emptied the source meanwhile
    assert r.pump.step_write() is False
    assert r.pump.state is State.READING


@needs_splice
def test_direct_splice_eof_half_closes(rig: Make) -> None:
    r = rig(DirectSplicePump)
    os.write(r.feed, b"end")
    r.close_feed()
    r.pump.step_read(time.monotonic())
    r.pump.step_read(time.monotonic())
    assert r.pump.state is State.DONE
    assert slurp(r.drain) == (b"end", True)


@needs_splice
def test_direct_splice_cool_write_drops_and_plain_epipe_fails(rig: Make) -> None:
    cool = rig(DirectSplicePump, dst=Conversions(cool_write=True))
    cool.close_drain()
    os.write(cool.feed, b"gone")
    assert cool.pump.step_read(time.monotonic()) is True
    assert cool.pump.state is State.DONE
    plain = rig(DirectSplicePump)
    plain.close_drain()
    os.write(plain.feed, b"gone")
    with pytest.raises(SocatError, match=r"Broken pipe$") as info:
        plain.pump.step_read(time.monotonic())
    assert info.value.message.startswith(f"write({plain.dst_fd}, 0x0, ")


@needs_splice
def test_direct_splice_falls_back_when_the_destination_refuses(rig: Make, tmp_path: Path) -> None:
    out = tmp_path / "appended"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    r = rig()
    dst = Endpoint("file", None, fd)
    pump = DirectSplicePump(r.src, dst, 1, ">", Config(), DUMPER)
    try:
        os.write(r.feed, b"copied")
        r.close_feed()
        assert pump.step_read(time.monotonic()) is True
        assert pump.userspace
        pump.step_read(time.monotonic())
        assert pump.state is State.DONE
        assert out.read_bytes() == b"copied"
    finally:
        dst.close()


# --- bulk: a few MiB through each mover, byte-exact ----------------------------------------


def run_bulk(r: Rig, data: bytes, budget: float = 10.0, drain_chunk: int | None = None) -> tuple[bytes, set[State]]:
    """Feed ``data`` and drain the destination while stepping the pump on poll(); what came out."""
    pump = r.pump
    view = memoryview(data)
    sent = 0
    got = bytearray()
    seen: set[State] = {pump.state}
    feeding = True
    deadline = time.monotonic() + budget
    passes = 0
    while True:
        passes += 1
        assert time.monotonic() < deadline, f"stuck in {pump.state} after {len(got)} of {len(data)} bytes"
        poller = select.poll()
        if feeding:
            poller.register(r.feed, select.POLLOUT)
        draining = drain_chunk is None or passes % 2 == 1  # a slow reader: a little, every other pass
        if draining:
            poller.register(r.drain, select.POLLIN)
        fd, ev, _pollable = pump.wants()
        if fd is not None:
            poller.register(fd, ev)
        ready = dict(poller.poll(1000 if draining else 0))
        if feeding and ready.get(r.feed, 0) & (select.POLLOUT | select.POLLERR):
            try:
                sent += os.write(r.feed, view[sent:sent + (1 << 17)])
            except BlockingIOError:
                pass
            if sent == len(data):
                r.close_feed()
                feeding = False
        if fd is not None and ready.get(fd, 0) & (ev | select.POLLHUP | select.POLLERR):
            if ev == WRITE:
                pump.step_write()
            else:
                pump.step_read(time.monotonic())
            seen.add(pump.state)
        if ready.get(r.drain, 0) & (select.POLLIN | select.POLLHUP):
            chunk, eof = slurp(r.drain, drain_chunk)
            got += chunk
            if eof:
                return bytes(got), seen


@pytest.mark.parametrize("mover", MOVERS)
def test_bulk_bytes_arrive_exactly(rig: Make, mover: type[Pump]) -> None:
    data = os.urandom(4 << 20)
    r = rig(mover)
    got, seen = run_bulk(r, data)
    assert len(got) == len(data)
    assert got == data
    assert r.pump.state is State.DONE and State.DONE in seen
    assert r.pump.moved == len(data)


@pytest.mark.parametrize("mover", MOVERS)
def test_bulk_with_a_slow_reader_goes_through_writing(rig: Make, mover: type[Pump]) -> None:
    """A destination drained slowly makes every mover wait for it (WRITING), and lose nothing."""
    data = os.urandom(1 << 20)
    r = rig(mover)
    filler = fill(r.dst_fd)
    got, seen = run_bulk(r, data, drain_chunk=4096)
    assert got[:filler] == b"\xff" * filler
    assert got[filler:] == data
    assert State.WRITING in seen
    assert r.pump.state is State.DONE


def test_bulk_with_conversion_is_exact(rig: Make) -> None:
    lines = b"".join(b"line %d\n" % i for i in range(100000))
    r = rig(dst=Conversions(crlf=True))
    got, _seen = run_bulk(r, lines)
    assert got == lines.replace(b"\n", b"\r\n")

