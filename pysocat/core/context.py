"""What an opener is given besides its parameters and options: the open context.

Core types, so that the serving machinery (acceptors, the socket sequence) and
the registry of address types can both name them without importing each other.
"""

from __future__ import annotations

from enum import Flag, auto
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..spec import AddressSpec
    from .config import Config
    from .endpoint import Endpoint
    from .runtime import Runtime


class Dir(Flag):
    """Which ways an opened address is used."""

    READ = auto()
    WRITE = auto()
    BOTH = READ | WRITE


class OpenContext:
    """What an opener needs besides its parameters and options."""

    def __init__(self, cfg: Config, index: int, direction: Dir, spec: AddressSpec, rt: Runtime,
                 peer: Endpoint | None = None) -> None:
        self.cfg = cfg
        self.rt = rt  # the session's runtime: logger, exported variables, switches
        self.index = index
        self.direction = direction
        self.spec = spec
        self.peer = peer  # the first address, already open, when opening the second
