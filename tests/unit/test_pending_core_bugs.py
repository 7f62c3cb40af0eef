"""Tests that fail on the current pysocat core: each names the bug it shows (kept out of commits)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pysocat.core.config import Config
from pysocat.core.engine import Engine
from pysocat.core.log import Logger
from pysocat.core.runtime import Runtime

pytestmark = pytest.mark.timeout(30)


def test_engine_close_closes_the_raw_dump_files(tmp_path: Path) -> None:
    """Engine.close() leaves the -r/-R files its Dumper opened open (Dumper has no close()).

    Every Engine opens them anew (one per transfer, per concurrent listener, per library
    relay), so a host running relays with -r leaks a file object per engine until the
    garbage collector finds it (ResourceWarning: unclosed file).
    """
    engine = Engine(Config(raw_lr=str(tmp_path / "lr"), raw_rl=str(tmp_path / "rl")), Runtime(Logger()))
    files = [f for f in engine.dumper.raw.values() if f is not None]
    assert len(files) == 2
    engine.close()
    try:
        assert all(f.closed for f in files), "the -r/-R files are still open after Engine.close()"
    finally:
        for f in files:
            f.close()
