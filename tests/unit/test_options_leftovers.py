"""OptionSet.leftovers(): the given options that nothing read, took or applied."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from pysocat.options import OptionSet, Phase, resolve

GROUPS = frozenset({"FD", "SOCKET", "IP4", "TCP", "NAMED"})


def given(*raw: tuple[str, str | None]) -> OptionSet:
    return resolve(list(raw), GROUPS)


@pytest.fixture
def pipe() -> Iterator[int]:
    """A descriptor that is not a socket, for the FD-phase appliers."""
    r, w = os.pipe()
    yield w
    os.close(r)
    os.close(w)


def test_nothing_given_nothing_left() -> None:
    assert given().leftovers() == []


def test_every_given_option_is_left_until_something_reads_it() -> None:
    opts = given(("nodelay", None), ("bind", "127.0.0.1"), ("reuseaddr", "0"))
    assert opts.leftovers() == ["nodelay", "bind", "reuseaddr"]


def test_get_has_and_take_mark_an_option_used() -> None:
    opts = given(("nodelay", None), ("bind", "127.0.0.1"), ("reuseaddr", "0"), ("keepalive", None))
    assert opts.get("bind") == "127.0.0.1"
    assert opts.has("reuseaddr")
    assert opts.take("keepalive") is True
    assert opts.leftovers() == ["nodelay"]


def test_reading_an_option_that_was_not_given_changes_nothing() -> None:
    opts = given(("nodelay", None))
    assert opts.get("bind") is None
    assert not opts.has("reuseaddr")
    assert opts.take("keepalive") is None
    assert opts.leftovers() == ["nodelay"]


def test_an_alias_is_reported_by_the_canonical_name() -> None:
    opts = given(("so-reuseaddr", None), ("tcp-nodelay", "1"))
    assert opts.leftovers() == ["reuseaddr", "nodelay"]


def test_applying_a_phase_uses_its_options_only(pipe: int) -> None:
    opts = given(("cloexec", None), ("nonblock", "0"), ("unlink-late", None), ("nodelay", None))
    opts.apply(Phase.FD, pipe)
    assert opts.leftovers() == ["unlink-late", "nodelay"]
    assert opts.get("unlink-late") is True
    assert opts.leftovers() == ["nodelay"]


def test_an_option_without_an_applier_is_not_used_by_its_phase(pipe: int) -> None:
    opts = given(("umask", "022"), ("unlink-early", None))
    saved = os.umask(0o077)
    try:
        opts.apply(Phase.EARLY, pipe)
        assert os.umask(0o077) == 0o022
    finally:
        os.umask(saved)
    assert opts.leftovers() == ["unlink-early"]  # read by the opener, never applied by phase
