"""Address types as data: one row per keyword, registered by its family module."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from .core.context import Dir as Dir  # re-exported: the families take both from here
from .core.context import OpenContext as OpenContext
from .errors import SpecError
from .options import OptionSet, resolve

if TYPE_CHECKING:
    from .core.acceptor import Acceptor
    from .core.endpoint import Endpoint
    from .spec import AddressSpec


Opener = Callable[[OpenContext, tuple[str, ...], OptionSet], "Endpoint | Acceptor"]
EndpointOpener = Callable[[OpenContext, tuple[str, ...], OptionSet], "Endpoint"]  # never a listener


class AddressType(NamedTuple):
    """One keyword row: name, aliases, parameter names, option groups, opener."""

    name: str
    params: tuple[str, ...]
    groups: frozenset[str]
    opener: Opener
    aliases: tuple[str, ...] = ()
    optional: int = 0
    features: tuple[str, ...] = ()
    help: str = ""
    directions: Dir = Dir.BOTH
    checks: tuple[Callable[[str], object] | None, ...] = ()
    syntax: str = ""  # the head syntax when an optional parameter is not the last one
    serves: bool = False  # a listener whose opener returns an Acceptor (fork, concurrent, the library)
    waits: bool = False  # the opener talks with its peer before returning (a handshake): never on the loop

    def usage(self) -> str:
        """socat's head syntax, e.g. ``tcp-connect:<host>:<port>``."""
        if self.syntax:
            return self.name.lower() + self.syntax
        req = self.params[: len(self.params) - self.optional]
        opt = self.params[len(self.params) - self.optional :]
        text = self.name.lower() + "".join(f":<{p}>" for p in req)
        if opt:
            text += "[" + "".join(f":<{p}>" for p in opt) + "]"
        return text


_TYPES: dict[str, AddressType] = {}
_ROWS: list[AddressType] = []


def register(
    name: str,
    params: tuple[str, ...],
    groups: str,
    opener: Opener,
    *aliases: str,
    optional: int = 0,
    features: tuple[str, ...] = (),
    help: str = "",
    directions: Dir = Dir.BOTH,
    checks: tuple[Callable[[str], object] | None, ...] = (),
    syntax: str = "",
    serves: bool = False,
    waits: bool = False,
) -> AddressType:
    """Add a keyword (and aliases); refuses duplicates loudly."""
    row = AddressType(
        name.upper(),
        params,
        frozenset(g for g in groups.split(",") if g),
        opener,
        tuple(a.upper() for a in aliases),
        optional,
        features,
        help,
        directions,
        checks,
        syntax,
        serves,
        waits,
    )
    for key in (row.name, *row.aliases):
        if key in _TYPES:
            raise RuntimeError(f"address type {key} registered twice")
        _TYPES[key] = row
    _ROWS.append(row)
    return row


def _load() -> None:
    from .addresses import load_all

    load_all()


def lookup(keyword: str, shown: str | None = None) -> AddressType:
    """The row for a keyword or alias; SpecError (naming ``shown``) for an unknown one."""
    from .addresses import load_until

    key = keyword.upper()
    row = _TYPES.get(key)
    if row is None:  # families load on demand, most used first
        load_until(lambda: key in _TYPES)
        row = _TYPES.get(key)
    if row is None:
        raise SpecError(f'unknown device/address "{keyword if shown is None else shown}"')
    return row


def rows() -> list[AddressType]:
    """Every registered type, once each."""
    _load()
    return list(_ROWS)


def names() -> dict[str, AddressType]:
    """Every keyword and alias with its row."""
    _load()
    return dict(_TYPES)


def features() -> list[str]:
    """WITH_* feature names of everything registered, in registration order."""
    seen: list[str] = []
    for row in rows():
        for feat in row.features:
            if feat not in seen:
                seen.append(feat)
    return seen


def prepare(spec: AddressSpec, check_groups: bool = True, sloppy: bool = False) -> tuple[AddressType, OptionSet]:
    """Check parameter count, parameter values and options of a spec against its type."""
    head = re.split(r"[:,]", spec.text, maxsplit=1)[0]
    row = lookup(spec.keyword, head if head.upper() == spec.keyword else None)
    n = len(spec.params)
    hi = len(row.params)
    lo = hi - row.optional
    if not lo <= n <= hi:
        expect = str(lo) if lo == hi else f"{lo} to {hi}"
        raise SpecError(
            f"{spec.keyword}: wrong number of parameters ({n} instead of {expect}): usage: {row.usage()}"
        )
    for check, param in zip(row.checks, spec.params, strict=False):
        if check is not None:
            check(param)
    return row, resolve(spec.options, row.groups, check_groups, sloppy)
