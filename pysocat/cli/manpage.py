"""Render the OPTIONS section of man/pysocat.1 (the global options) from the global option table.

The section between the markers :data:`BEGIN` and :data:`END` is generated: the
section's :data:`INTRO`, one ``.TP`` entry per ``man`` entry of each row of
:data:`~pysocat.cli.globals.TABLE`, and the :data:`TRAILER` entry for ``--``.
As in :mod:`pysocat.options.manpage`, which renders the ADDRESS OPTIONS section,
man text is plain text escaped for roff; ```x``` is set in bold and ``<x>`` in
italics, and each line of a row's text is one line of the page.

``python -m pysocat.cli.manpage man/pysocat.1`` rewrites the section in place
(``make man``); with ``--check`` it only reports whether the page is up to date.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence

from .. import mansection
from .globals import TABLE, GlobalOption

BEGIN = '.\\" BEGIN GENERATED GLOBAL OPTIONS'
END = '.\\" END GENERATED GLOBAL OPTIONS'
NOTE = '.\\" Generated from the global option table by pysocat/cli/manpage.py: edit pysocat/cli/globals.py, then run make man.'

INTRO = """
Global options come before the two addresses.
Options that take a value accept it attached (`-b16384`) or as the next argument (`-b 16384`).
"""

TRAILER = ("`--`", """
End of the global options.
""")

_ITALIC = re.compile(r"<([A-Za-z][\w-]*)>")


def escape(text: str) -> str:
    """One line of man text as roff: backslashes and hyphens escaped, ```x``` bold, ``<x>`` italic."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fP", text)
    text = _ITALIC.sub(r"\\fI\1\\fP", text)
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def lines(text: str) -> list[str]:
    """A man text's lines, each escaped; leading and trailing space and empty lines dropped."""
    return [escape(line.strip()) for line in text.strip().splitlines() if line.strip()]


def entry(tag: str, text: str) -> list[str]:
    """The roff lines of one ``.TP`` entry."""
    return [".TP", escape(tag), *lines(text)]


def render(table: Iterable[GlobalOption] = TABLE) -> str:
    """The generated part of the page, markers included, ending with a newline."""
    out = [BEGIN, NOTE, *lines(INTRO)]
    for row in table:
        for tag, text in row.man:
            out += entry(tag, text)
    out += entry(*TRAILER)
    out.append(END)
    return "\n".join(out) + "\n"


def splice(page: str, generated: str) -> str:
    """``page`` with this section (between its markers) replaced by ``generated``."""
    return mansection.splice(page, generated, BEGIN, END)


def main(argv: Sequence[str] | None = None) -> int:
    """``manpage [--check] PAGE``: rewrite the generated section, or check that it is current."""
    return mansection.command(argv, "pysocat.cli.manpage", "OPTIONS", render, BEGIN, END)


if __name__ == "__main__":
    sys.exit(main())
