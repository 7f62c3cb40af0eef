"""resolve() and the OptionSet it returns: names, aliases, groups, values, copies and leftovers.

Value parsing per type is covered in tests/cli/test_spec.py and leftovers() in
test_options_leftovers.py; this file checks the resolver's contract and error
texts, OptionSet.copy() independence, check_leftovers() and sloppy apply.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest

from pysocat.core import log
from pysocat.core.log import LEVELS, Logger
from pysocat.errors import SocatError, SpecError
from pysocat.options import TABLE, OptionSet, Phase, lookup, resolve

pytestmark = pytest.mark.timeout(30)

TCP = frozenset({"FD", "SOCKET", "IP4", "TCP", "IPAPP", "RETRY", "CHILD"})
FILE = frozenset({"FD", "NAMED", "OPEN", "REG"})
LISTEN = TCP | {"LISTEN", "RANGE"}


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    logger = Logger()
    logger.threshold = LEVELS.index("D")
    out = io.StringIO()
    logger.stream = out
    token = log.use(logger)
    yield out
    log.restore(token)


def lines(out: io.StringIO) -> list[str]:
    """Log lines without their time stamp and program name: 'W message'."""
    return [line.split("] ", 1)[1] for line in out.getvalue().splitlines()]


# --- resolve ---------------------------------------------------------------------------------


def test_resolve_types_values_under_canonical_names() -> None:
    opts = resolve([("so-reuseaddr", None), ("sendbuf", "4096"), ("bytes", "10"), ("listen-timeout", "1.5"),
                    ("crnl", "0")], LISTEN)
    assert opts.values == {"reuseaddr": True, "sndbuf": 4096, "readbytes": 10, "accept-timeout": 1.5,
                           "crlf": False}
    assert set(opts.descs) == set(opts.values)
    for name, desc in opts.descs.items():
        assert desc is lookup(name) and desc.name == name
    assert opts.used == set() and not opts.sloppy


def test_resolve_keeps_command_line_order() -> None:
    raw = [("nodelay", None), ("bind", "127.0.0.1"), ("fork", None), ("sndbuf", "1")]
    assert list(resolve(raw, TCP).values) == ["nodelay", "bind", "fork", "sndbuf"]


def test_names_are_case_insensitive() -> None:
    assert resolve([("NoDelay", None)], TCP).values == {"nodelay": True}


def test_appl_and_process_options_are_valid_for_every_address() -> None:
    appl = [d for d in TABLE if "APPL" in d.groups]
    process = [d for d in TABLE if "PROCESS" in d.groups]
    assert appl and process
    for desc in appl + process:
        value = None if desc.type.value == "BOOL" else {"CHAR": "x", "SIZE": "1", "INT": "1", "TIMEVAL": "1",
                                                         "MODE_T": "0644", "USER": "0", "GROUP": "0"}.get(
            desc.type.value, "text")
        try:
            opts = resolve([(desc.name, value)], frozenset({"FD"}))
        except SpecError as exc:  # a value the row refuses is fine; the group must never be the reason
            assert "not supported with this address type" not in exc.message, desc.name
            continue
        assert desc.name in opts.values


@pytest.mark.parametrize(("raw", "groups", "message"), [
    ([("nosuch", "1")], TCP, 'parseopts_table(): unknown option "nosuch"'),
    ([("nodelay", None), ("nosuch", None)], TCP, 'parseopts_table(): unknown option "nosuch"'),
    ([("nodelay", None)], FILE, 'parseopts_table(): option "nodelay" not supported with this address type'),
    ([("tcp-nodelay", None)], FILE, 'parseopts_table(): option "tcp-nodelay" not supported with this address type'),
    ([("creat", None)], TCP, 'parseopts_table(): option "creat" not supported with this address type'),
    ([("fork", None)], FILE, 'parseopts_table(): option "fork" not supported with this address type'),
    ([("reuseaddr", "maybe")], TCP, 'invalid value for option "reuseaddr=maybe": expected 0 or 1'),
    ([("so-reuseaddr", "2")], TCP, 'invalid value for option "so-reuseaddr=2": expected 0 or 1'),
    ([("sndbuf", None)], TCP, 'invalid value for option "sndbuf": missing numerical value'),
    ([("sendbuf", "12x")], TCP, 'invalid value for option "sendbuf=12x": trailing garbage after the number'),
    ([("mode", "999")], FILE, 'invalid value for option "mode=999": expected an octal mode like 0600'),
    ([("max-children", "0")], TCP, 'invalid value for option "max-children=0": out of range 1..2147483647'),
    ([("escape", "0x100")], TCP, 'invalid value for option "escape=0x100": character code out of range 0..255'),
    ([("accept-timeout", "soon")], LISTEN, 'invalid value for option "accept-timeout=soon": '
                                           "expected seconds (e.g. 1.5)"),
])
def test_errors_name_the_option_as_typed(raw: list[tuple[str, str | None]], groups: frozenset[str],
                                         message: str) -> None:
    with pytest.raises(SpecError) as info:
        resolve(raw, groups)
    assert info.value.message == message
    assert info.value.status == 1


def test_group_check_comes_before_the_value() -> None:
    """A wrong-group option with a bad value is reported for its group, as socat parses the name first."""
    with pytest.raises(SpecError, match="not supported with this address type"):
        resolve([("nodelay", "garbage")], FILE)


def test_unchecked_groups_still_check_names_and_values() -> None:
    assert resolve([("nodelay", None)], FILE, check_groups=False).values == {"nodelay": True}
    with pytest.raises(SpecError, match="unknown option"):
        resolve([("nosuch", None)], FILE, check_groups=False)
    with pytest.raises(SpecError, match="expected 0 or 1"):
        resolve([("nodelay", "x")], FILE, check_groups=False)


def test_sloppy_is_carried_by_the_set() -> None:
    assert resolve([], TCP, sloppy=True).sloppy
    assert not resolve([], TCP).sloppy


# --- copy ------------------------------------------------------------------------------------


def test_take_on_a_copy_leaves_the_original() -> None:
    original = resolve([("fork", None), ("max-children", "4"), ("nodelay", None)], TCP)
    clone = original.copy()
    assert clone.take("max-children") == 4
    assert "max-children" not in clone.values and "max-children" not in clone.descs
    assert original.values == {"fork": True, "max-children": 4, "nodelay": True}
    assert "max-children" in original.descs
    assert original.take("max-children") == 4  # the original still has it to take


def test_reads_on_a_copy_are_its_own() -> None:
    original = resolve([("fork", None), ("nodelay", None)], TCP)
    original.get("fork")
    clone = original.copy()
    assert clone.leftovers() == ["nodelay"]  # what was used before the copy stays used
    clone.get("nodelay")
    assert clone.leftovers() == []
    assert original.leftovers() == ["nodelay"]
    original.values["fork"] = False
    assert clone.values["fork"] is True


def test_a_copy_keeps_sloppy_and_the_descriptors() -> None:
    original = resolve([("cloexec", None)], FILE, sloppy=True)
    clone = original.copy()
    assert clone.sloppy
    assert clone.descs == original.descs and clone.descs is not original.descs
    r, w = os.pipe()
    try:
        clone.apply(Phase.FD, w)  # applying on the copy marks the copy only
    finally:
        os.close(r)
        os.close(w)
    assert clone.leftovers() == [] and original.leftovers() == ["cloexec"]


def test_copies_of_copies_are_independent() -> None:
    base = resolve([("fork", None), ("nodelay", None), ("sndbuf", "1")], TCP)
    first, second = base.copy(), base.copy()
    first.take("nodelay")
    second.take("sndbuf")
    assert set(first.values) == {"fork", "sndbuf"}
    assert set(second.values) == {"fork", "nodelay"}
    assert set(base.values) == {"fork", "nodelay", "sndbuf"}


# --- check_leftovers -------------------------------------------------------------------------


def test_nothing_left_says_nothing(logged: io.StringIO) -> None:
    opts = resolve([("nodelay", None)], TCP)
    opts.get("nodelay")
    opts.check_leftovers()
    assert logged.getvalue() == ""


def test_leftovers_are_an_error_with_socats_text(logged: io.StringIO) -> None:
    opts = resolve([("nodelay", None), ("so-reuseaddr", None), ("fork", None)], TCP)
    opts.get("fork")
    with pytest.raises(SocatError) as info:
        opts.check_leftovers()
    assert info.value.message == "2 option(s) could not be used"
    assert info.value.status == 1
    assert lines(logged) == ['W showleft(): option "nodelay" not inquired',
                             'W showleft(): option "reuseaddr" not inquired']


def test_sloppy_leftovers_only_warn(logged: io.StringIO) -> None:
    opts = resolve([("nodelay", None)], TCP, sloppy=True)
    opts.check_leftovers()
    assert lines(logged) == ['W showleft(): option "nodelay" not inquired', "W 1 option(s) could not be used"]


def test_a_failing_applier_is_an_error_or_with_sloppy_a_warning(logged: io.StringIO) -> None:
    """sndbuf on a pipe: setsockopt fails (not a socket)."""
    r, w = os.pipe()
    try:
        strict = resolve([("sndbuf", "4096")], TCP)
        with pytest.raises(SocatError) as info:
            strict.apply(Phase.PASTSOCKET, w)
        assert info.value.message == 'option "sndbuf": Socket operation on non-socket'
        loose = resolve([("sndbuf", "4096")], TCP, sloppy=True)
        loose.apply(Phase.PASTSOCKET, w)
        assert lines(logged) == ['W option "sndbuf": Socket operation on non-socket']
        assert loose.leftovers() == []  # tried is used: no second complaint
    finally:
        os.close(r)
        os.close(w)


def test_apply_leaves_other_phases_for_later() -> None:
    opts = resolve([("cloexec", None), ("sndbuf", "4096")], TCP | FILE)
    r, w = os.pipe()
    try:
        opts.apply(Phase.FD, w)
    finally:
        os.close(r)
        os.close(w)
    assert opts.leftovers() == ["sndbuf"]


def test_option_set_starts_empty() -> None:
    opts = OptionSet()
    assert opts.values == {} and opts.leftovers() == [] and not opts.sloppy
    assert opts.get("fork", "default") == "default"
    assert not opts.has("fork")
    assert opts.leftovers() == []
