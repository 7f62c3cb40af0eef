"""The pytest plugin: ``pysocat_relay`` in a test suite of its own, run by pytester.

The inner suite runs in a subprocess, so the plugin is found through its
``pytest11`` entry point, as in a project that only installed pysocat.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.timeout(120)

INNER = '''
import socket

import pytest

import pysocat

seen = {}


def refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return False
    except ConnectionRefusedError:
        return True


def echo(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := c.recv(4096):
            out += chunk
        return out


def test_relay_serves(pysocat_relay):
    relay = pysocat_relay("TCP-LISTEN:0,reuseaddr,concurrent", "PIPE")
    assert isinstance(relay, pysocat.Relay) and relay.running
    assert echo(relay.port, b"through the fixture") == b"through the fixture"
    seen["passing"] = relay


def test_stopped_after_a_passing_test():
    relay = seen["passing"]
    assert not relay.running
    assert refused(relay.port)


def test_relay_in_a_failing_test(pysocat_relay):
    first = pysocat_relay("TCP-LISTEN:0,reuseaddr,concurrent", "PIPE")
    second = pysocat_relay("TCP-LISTEN:0,reuseaddr,concurrent", f"TCP:127.0.0.1:{first.port}")
    seen["failing"] = (first, second)
    assert echo(second.port, b"chained") == b"chained"
    held = socket.create_connection(("127.0.0.1", second.port), timeout=10)  # left open on purpose
    seen["held"] = held
    assert False, "this test fails on purpose"


def test_stopped_after_a_failing_test():
    for relay in seen["failing"]:
        assert not relay.running
        assert refused(relay.port)
    held = seen["held"]
    held.settimeout(10)
    try:
        assert held.recv(10) == b""  # its session was ended too
    except ConnectionResetError:
        pass
    held.close()


def test_bad_spec_raises_in_the_test(pysocat_relay):
    with pytest.raises(pysocat.AddressError):
        pysocat_relay("TCP-LISTEN:0,nosuchoption", "PIPE")
'''


def test_fixture_starts_relays_and_teardown_stops_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "-v", timeout=90)
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines([
        "*test_relay_serves PASSED*",
        "*test_stopped_after_a_passing_test PASSED*",
        "*test_relay_in_a_failing_test FAILED*",
        "*test_stopped_after_a_failing_test PASSED*",
        "*test_bad_spec_raises_in_the_test PASSED*",
    ])


def test_fixture_is_listed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--fixtures", timeout=60)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["pysocat_relay*", "*started Relay*"])


def test_readme_test_suite_example_passes(pytester: pytest.Pytester) -> None:
    """The README's "In a test suite" example, run as it is written there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    where = readme.index("### In a test suite")
    block = re.search(r"```python\n(.*?)```", readme[where:], re.S)
    assert block is not None
    assert "pysocat_relay" in block.group(1)
    pytester.makepyfile(test_readme_example=block.group(1))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=90)
    result.assert_outcomes(passed=1)
