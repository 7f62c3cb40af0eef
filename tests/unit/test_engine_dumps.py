"""The engine closes the raw dump files (-r/-R) it opened."""

from __future__ import annotations

from pathlib import Path

import pytest

from pysocat.core.config import Config
from pysocat.core.engine import Engine
from pysocat.core.log import Logger
from pysocat.core.runtime import Runtime

pytestmark = pytest.mark.timeout(30)


def test_engine_close_closes_the_raw_dump_files(tmp_path: Path) -> None:
    """Every Engine opens the -r/-R files anew (one per transfer, per concurrent listener, per
    library relay); before Dumper.close() they stayed open until the garbage collector found them."""
    engine = Engine(Config(raw_lr=str(tmp_path / "lr"), raw_rl=str(tmp_path / "rl")), Runtime(Logger()))
    files = [f for f in engine.dumper.raw.values() if f is not None]
    assert len(files) == 2
    engine.close()
    try:
        assert all(f.closed for f in files), "the -r/-R files are still open after Engine.close()"
    finally:
        for f in files:
            f.close()
