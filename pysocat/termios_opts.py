"""Moved: the termios machinery now lives in :mod:`pysocat.options.terminal`.

This name stays for the address modules that save, change and restore terminals.
"""

from __future__ import annotations

from .options.terminal import (
    CC,
    CFLAG,
    IFLAG,
    ISPEED,
    LFLAG,
    OFLAG,
    OSPEED,
    RATES,
    Applier,
    Attrs,
    choice,
    control_char,
    ctty,
    field_index,
    flag,
    forget,
    make_raw,
    modify,
    preset,
    rate_const,
    speed,
)

__all__ = [
    "CC",
    "CFLAG",
    "IFLAG",
    "ISPEED",
    "LFLAG",
    "OFLAG",
    "OSPEED",
    "RATES",
    "Applier",
    "Attrs",
    "choice",
    "control_char",
    "ctty",
    "field_index",
    "flag",
    "forget",
    "make_raw",
    "modify",
    "preset",
    "rate_const",
    "speed",
]
