"""Frozen run configuration built from the global command-line options."""

from __future__ import annotations

import socket
from typing import NamedTuple


class Config(NamedTuple):
    """Everything the global options decide."""

    verbosity: int = 0
    bufsize: int = 8192
    close_timeout: float = 0.5
    total_timeout: float | None = None
    left_to_right: bool = True
    right_to_left: bool = True
    verbose: bool = False
    hexdump: bool = False
    raw_lr: str | None = None
    raw_rl: str | None = None
    sloppy: bool = False
    check_groups: bool = True
    lockfile: str | None = None
    waitlock: str | None = None
    family: int = socket.AF_UNSPEC
    statistics: bool = False
    analyze: bool = False
    env_prefix: str = "PYSOCAT"
