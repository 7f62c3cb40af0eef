"""Generated sections of man/pysocat.1: splice one between its markers, or check it is current.

The OPTIONS section comes from the global option table (pysocat.cli.manpage)
and ADDRESS OPTIONS from the address option table (pysocat.options.manpage);
both generators share this splice and command line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def splice(page: str, generated: str, begin: str, end: str) -> str:
    """``page`` with the text between the markers (inclusive) replaced by ``generated``."""
    try:
        start = page.index(begin + "\n")
        stop = page.index(end + "\n", start) + len(end) + 1
    except ValueError:
        raise ValueError(f"the man page has no {begin!r} ... {end!r} markers") from None
    return page[:start] + generated + page[stop:]


def command(argv: Sequence[str] | None, module: str, section: str, render: Callable[[], str],
            begin: str, end: str) -> int:
    """``python -m MODULE [--check] PAGE``: rewrite the section, or check that it is current (1 if not)."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [arg for arg in args if arg != "--check"]
    if len(paths) != 1:
        print(f"usage: python -m {module} [--check] man/pysocat.1", file=sys.stderr)
        return 2
    path = Path(paths[0])
    page = path.read_text(encoding="utf-8")
    updated = splice(page, render(), begin, end)
    if updated == page:
        return 0
    if check:
        print(f"{path}: the {section} section is out of date; run make man", file=sys.stderr)
        return 1
    path.write_text(updated, encoding="utf-8")
    print(f"{path}: {section} section regenerated")
    return 0
