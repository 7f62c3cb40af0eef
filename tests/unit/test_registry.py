"""The address registry: every keyword and alias, socat's error texts, the ``serves`` flag, loading.

Families register their rows on import, loaded on demand; the loading test runs
in a fresh interpreter so that the families are really imported concurrently.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator

import pytest

from pysocat import registry
from pysocat.core.acceptor import Acceptor
from pysocat.core.config import Config
from pysocat.core.endpoint import Endpoint
from pysocat.core.log import Logger
from pysocat.core.runtime import Runtime
from pysocat.errors import SpecError
from pysocat.registry import AddressType, Dir, OpenContext, lookup, prepare
from pysocat.spec import AddressSpec, parse

pytestmark = pytest.mark.timeout(60)

ROWS = registry.rows()
KEYWORDS = sorted(registry.names())


def single(text: str) -> AddressSpec:
    spec = parse(text)
    assert isinstance(spec, AddressSpec)
    return spec


# --- lookup ---------------------------------------------------------------------------------


def test_names_are_exactly_every_row_name_and_alias() -> None:
    expected: dict[str, AddressType] = {}
    for row in ROWS:
        for key in (row.name, *row.aliases):
            assert key not in expected, f"{key} twice"
            expected[key] = row
    assert registry.names() == expected
    assert len(ROWS) == len({row.name for row in ROWS})


@pytest.mark.parametrize("keyword", KEYWORDS)
def test_every_keyword_and_alias_looks_up_its_row(keyword: str) -> None:
    row = lookup(keyword)
    assert keyword == row.name or keyword in row.aliases
    assert lookup(keyword.lower()) is row
    assert lookup(keyword.title()) is row


@pytest.mark.parametrize("text", ["nosuchtype", "FOO:bar", "tcp-connectx:h:1", "UDP-LISTEN6:1", "x"])
def test_unknown_keyword_is_a_spec_error_with_socats_text(text: str) -> None:
    head = text.split(":")[0]
    with pytest.raises(SpecError) as info:
        lookup(head)
    assert info.value.message == f'unknown device/address "{head}"'
    assert info.value.status == 1
    with pytest.raises(SpecError) as info:
        prepare(single(text + ",nodelay"))
    assert info.value.message == f'unknown device/address "{head}"'  # as typed, not upper-cased


def test_lookup_names_what_the_user_typed() -> None:
    with pytest.raises(SpecError, match=r'^unknown device/address "Foo-Bar"$'):
        lookup("FOO-BAR", "Foo-Bar")


@pytest.mark.parametrize(("text", "message"), [
    ("TCP:127.0.0.1", "TCP: wrong number of parameters (1 instead of 2): usage: tcp:<host>:<port>"),
    ("tcp-l", "TCP-L: wrong number of parameters (0 instead of 1): usage: tcp-listen:<port>"),
    ("STDIO:x", "STDIO: wrong number of parameters (1 instead of 0): usage: stdio"),
    ("PIPE:a:b", "PIPE: wrong number of parameters (2 instead of 0 to 1): usage: pipe[:<filename>]"),
    ("SOCKS5:s", "SOCKS5: wrong number of parameters (1 instead of 3 to 4): "
                 "usage: socks5-connect:<socks-server>[:<socks-port>]:<host>:<port>"),
])
def test_wrong_number_of_parameters_text(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        prepare(single(text))
    assert info.value.message == message


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_one_parameter_too_many_is_refused_for_every_type(row: AddressType) -> None:
    hi = len(row.params)
    lo = hi - row.optional
    text = row.name + ":p" * (hi + 1)
    with pytest.raises(SpecError) as info:
        prepare(single(text))
    expect = str(lo) if lo == hi else f"{lo} to {hi}"
    assert info.value.message == (
        f"{row.name}: wrong number of parameters ({hi + 1} instead of {expect}): usage: {row.usage()}")
    assert row.usage().startswith(row.name.lower())


def test_prepare_resolves_options_against_the_rows_groups() -> None:
    row, opts = prepare(single("TCP-LISTEN:0,fork,max-children=3,bind=127.0.0.1"))
    assert row is lookup("TCP-LISTEN")
    assert opts.values == {"fork": True, "max-children": 3, "bind": "127.0.0.1"}
    with pytest.raises(SpecError) as info:
        prepare(single("OPEN:/tmp/x,nodelay"))
    assert info.value.message == 'parseopts_table(): option "nodelay" not supported with this address type'
    _row, loose = prepare(single("OPEN:/tmp/x,nodelay"), check_groups=False, sloppy=True)
    assert loose.values == {"nodelay": True} and loose.sloppy


# --- the serves flag ------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_serves_exactly_on_listening_and_receiving_rows(row: AddressType) -> None:
    listens = "LISTEN" in row.groups or "RECVFROM" in row.name
    assert row.serves is listens


@pytest.fixture
def short_dir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="pysocat-reg-") as path:
        yield path


def _open(text: str) -> Endpoint | Acceptor:
    row, opts = prepare(single(text))
    rt = Runtime(Logger())
    ctx = OpenContext(cfg=Config(), index=1, direction=Dir.BOTH, spec=single(text), rt=rt)
    return row.opener(ctx, single(text).params, opts)


def _close(opened: Endpoint | Acceptor) -> None:
    opened.close()


@pytest.mark.parametrize(("template", "acceptor"), [
    ("UNIX-LISTEN:{dir}/l.sock", True),
    ("UNIX-RECVFROM:{dir}/r.sock", True),
    ("UNIX-RECV:{dir}/v.sock", False),
    ("ABSTRACT-LISTEN:{name}", True),
    ("TCP4-LISTEN:0,bind=127.0.0.1", True),
    ("UDP4-LISTEN:0,bind=127.0.0.1", True),
    ("UDP4-RECVFROM:0,bind=127.0.0.1", True),
    ("UDP4-RECV:0,bind=127.0.0.1", False),
    ("SOCKETPAIR", False),
    ("PIPE", False),
])
def test_the_flag_matches_what_the_opener_returns(short_dir: str, template: str, acceptor: bool) -> None:
    text = template.format(dir=short_dir, name=f"pysocat-reg-{os.getpid()}-{id(short_dir)}")
    row = lookup(text.split(":")[0].split(",")[0])
    opened = _open(text)
    try:
        assert isinstance(opened, Acceptor) is acceptor
        assert row.serves is acceptor
        if isinstance(opened, Acceptor):
            kind = opened.sock.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE)
            assert opened.sock.fileno() >= 0 and kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM)
    finally:
        _close(opened)


# --- loading families from several threads at once ----------------------------------------------

LOADER = textwrap.dedent("""
    import json, random, sys, threading
    expected = json.load(sys.stdin)            # keyword -> row name, from a fully loaded interpreter
    seed, nthreads = int(sys.argv[1]), int(sys.argv[2])
    from pysocat import registry
    from pysocat.addresses import FAMILIES
    loaded = [f for f in FAMILIES if "pysocat.addresses." + f in sys.modules]
    keys = sorted(expected)
    random.Random(seed).shuffle(keys)
    start = threading.Barrier(nthreads)
    errors, found = [], {}

    def worker(i):
        mine = keys[i::nthreads]
        try:
            start.wait(10)
            if i % 4 == 3:
                registry.names()  # some threads load everything while others look up
            for key in mine:
                found[key] = registry.lookup(key).name
        except BaseException as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    rows = registry.rows()
    print(json.dumps({
        "loaded_before": loaded,
        "errors": errors,
        "alive": sum(t.is_alive() for t in threads),
        "found": found,
        "rows": [r.name for r in rows],
        "later": {k: registry.lookup(k).name for k in keys},
    }))
""")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_loading_from_several_threads_at_once(seed: int) -> None:
    expected = {key: row.name for key, row in registry.names().items()}
    proc = subprocess.run([sys.executable, "-c", LOADER, str(seed), "16"], input=json.dumps(expected),
                          capture_output=True, text=True, timeout=45)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["loaded_before"] == []  # really fresh: the threads did the loading
    assert result["errors"] == []
    assert result["alive"] == 0
    assert result["found"] == expected
    assert result["later"] == expected
    assert sorted(result["rows"]) == sorted(row.name for row in ROWS)  # every row once, none twice
