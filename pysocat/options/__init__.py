"""The one option table: every address option declared once, typed and phased.

:mod:`.core` holds the engine (phases, value types and parsers, :data:`TABLE`,
:func:`lookup`, :class:`OptionSet`, :func:`resolve`); each family module declares
its rows and their appliers.  Importing this package imports every family, so the
table is complete for the parser, ``-hh`` and the man page.
"""

from __future__ import annotations

# isort: off
# The family modules, in table order (they register their rows when imported).
from . import appl, fd, socket, ip, serving, process, terminal, interface, tls, proxy
# isort: on
from .core import (
    BY_NAME,
    ID_MAX,
    SIZE_MAX,
    TABLE,
    Applier,
    OptionDesc,
    OptionSet,
    OptType,
    Phase,
    lookup,
    opt,
    parse_value,
    resolve,
)
from .interface import IFF_FLAGS

__all__ = [
    "BY_NAME",
    "ID_MAX",
    "IFF_FLAGS",
    "SIZE_MAX",
    "TABLE",
    "Applier",
    "OptType",
    "OptionDesc",
    "OptionSet",
    "Phase",
    "appl",
    "fd",
    "interface",
    "ip",
    "lookup",
    "opt",
    "parse_value",
    "process",
    "proxy",
    "resolve",
    "serving",
    "socket",
    "terminal",
    "tls",
]
