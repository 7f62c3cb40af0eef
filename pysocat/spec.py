"""Pure parser for socat's address grammar: text in, AddressSpec/DualSpec out.

``TYPE:param:param,opt,opt=value``; ``a!!b`` is a dual address; ``'`` ``"`` and
``\\`` quote; ``()``, ``[]`` and ``{}`` nest so that ``:`` and ``,`` inside them
are literal (the brackets themselves are kept).  ``-`` is STDIO, a bare number is
FD, and a head containing ``/`` is GOPEN.  No I/O happens here.
"""

from __future__ import annotations

from typing import NamedTuple

from .errors import SpecError

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}


class AddressSpec(NamedTuple):
    """One single address: keyword (upper case), parameters and options."""

    keyword: str
    params: tuple[str, ...]
    options: tuple[tuple[str, str | None], ...]
    text: str


class DualSpec(NamedTuple):
    """``read!!write``: read from the first, write to the second."""

    read: AddressSpec
    write: AddressSpec
    text: str


Spec = AddressSpec | DualSpec


def _split(text: str, sep: str, whole: str, limit: int = -1) -> list[str]:
    """Split raw ``text`` at top-level ``sep``, keeping quotes and escapes raw."""
    parts: list[str] = []
    stack: list[str] = []
    quote = ""
    start = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 >= n:
                raise SpecError(f'unexpected end of address "{whole}" after "\\"')
            i += 2
            continue
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in _OPEN:
            stack.append(_OPEN[c])
        elif c in _CLOSE and stack and c == stack[-1]:
            stack.pop()  # a closer that does not match the innermost opener is literal, as in socat
        elif not stack and text.startswith(sep, i) and (limit < 0 or len(parts) < limit):
            parts.append(text[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    if quote:
        raise SpecError(f'unexpected end of address "{whole}": unbalanced {quote}')
    if stack:
        raise SpecError(f'unexpected end of address "{whole}": missing "{stack[-1]}"')
    parts.append(text[start:])
    return parts


def unquote(raw: str) -> str:
    """Remove quote characters and backslash escapes from an already balanced token."""
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            out.append(raw[i + 1])
            i += 2
            continue
        if quote:
            if c == quote:
                quote = ""
            else:
                out.append(c)
        elif c in "'\"":
            quote = c
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _single(text: str) -> AddressSpec:
    if not text:
        raise SpecError('unknown device/address ""')
    chunks = _split(text, ",", text)
    head_raw, opt_raws = chunks[0], chunks[1:]
    fields = [unquote(f) for f in _split(head_raw, ":", text)]
    options: list[tuple[str, str | None]] = []
    for raw in opt_raws:
        if not raw:
            continue
        kv = _split(raw, "=", text, limit=1)
        name = unquote(kv[0]).strip().lower()
        if not name:
            raise SpecError(f'empty option name in address "{text}"')
        options.append((name, unquote(kv[1]) if len(kv) > 1 else None))
    head, params = fields[0], tuple(fields[1:])
    if head == "-" and not params:
        return AddressSpec("STDIO", (), tuple(options), text)
    if head.isdigit() and not params:
        return AddressSpec("FD", (head,), tuple(options), text)
    if "/" in head:
        return AddressSpec("GOPEN", (":".join(fields),), tuple(options), text)
    return AddressSpec(head.upper(), params, tuple(options), text)


def parse(text: str) -> Spec:
    """Parse one command-line address; raise SpecError on malformed text."""
    halves = _split(text, "!!", text)
    if len(halves) == 1:
        return _single(text)
    if len(halves) > 2:
        raise SpecError(f'too many "!!" in address "{text}"')
    return DualSpec(_single(halves[0]), _single(halves[1]), text)
