"""The pytest plugin (entry point ``pytest11``): a ``pysocat_relay`` fixture.

``pysocat_relay(*argv)`` starts a :class:`pysocat.Relay` with a command line's
arguments and returns it; every relay the fixture started is stopped at the
test's teardown, so a failing test leaves no listener or thread behind::

    def test_client_survives_a_restart(pysocat_relay):
        relay = pysocat_relay("TCP-LISTEN:0,reuseaddr,concurrent", "TCP:127.0.0.1:5432")
        connect(("127.0.0.1", relay.port))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .relay import Relay

StartRelay = Callable[..., Relay]


@pytest.fixture
def pysocat_relay() -> Iterator[StartRelay]:
    """A factory: ``pysocat_relay(*argv, timeout=30.0)`` -> a started Relay, stopped at teardown."""
    started: list[Relay] = []

    def start(*argv: str, timeout: float = 30.0) -> Relay:
        relay = Relay(*argv)
        relay.start(timeout)
        started.append(relay)
        return relay

    yield start
    for relay in reversed(started):
        relay.stop()
