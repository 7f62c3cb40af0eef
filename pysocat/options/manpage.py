"""Render the ADDRESS OPTIONS section of man/pysocat.1 from the option table.

The section between the markers :data:`BEGIN` and :data:`END` is generated: one
``.TP`` entry per row of :data:`~pysocat.options.core.TABLE` (name and value,
type, aliases, groups, phase, and the row's help as the description), grouped
under ``.SS`` headings.  Prose that belongs to a group rather than to one option
lives in :data:`SECTIONS` here; everything about one option lives in its row.

In a row's help, text in backquotes (```SO_REUSEADDR```, ```creat```) is set in
bold; the rest is plain text that this module escapes for roff.

``python -m pysocat.options.manpage man/pysocat.1`` rewrites the section in place
(``make man``); with ``--check`` it only reports whether the page is up to date.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from .. import mansection
from . import TABLE, OptionDesc, OptType, Phase

BEGIN = '.\\" BEGIN GENERATED OPTIONS'
END = '.\\" END GENERATED OPTIONS'
NOTE = '.\\" Generated from the option table by pysocat/options/manpage.py: edit the rows, then run make man.'


class Section(NamedTuple):
    """One ``.SS`` heading: the groups whose rows it lists, and prose about all of them."""

    groups: frozenset[str]
    title: str
    intro: str = ""


def _groups(*names: str) -> frozenset[str]:
    return frozenset(names)


#: Sections in page order.  A row is listed under the first section that names one of its groups.
SECTIONS: tuple[Section, ...] = (
    Section(_groups("APPL"), "Group APPL (every address)"),
    Section(_groups("FD"), "Group FD (descriptors)"),
    Section(_groups("NAMED"), "Group NAMED (addresses with a file system name)"),
    Section(_groups("OPEN"), "Group OPEN (flags of open(2))"),
    Section(_groups("REG"), "Group REG (regular files)"),
    Section(_groups("SOCKET"), "Group SOCKET (sockets)"),
    Section(_groups("IP4"), "Groups IP4 and IP6 (IP sockets)"),
    Section(_groups("IP6"), "Group IP6 (IPv6 sockets)"),
    Section(_groups("TCP"), "Group TCP (TCP sockets)"),
    Section(_groups("IPAPP"), "Group IPAPP (IP clients and listeners)"),
    Section(_groups("LISTEN"), "Group LISTEN (listeners)"),
    Section(_groups("RANGE"), "Group RANGE (listeners: which peers are accepted)"),
    Section(_groups("CHILD"), "Group CHILD (listeners: how peers are served)"),
    Section(_groups("RETRY"), "Group RETRY (connecting and listening addresses)"),
    Section(_groups("EXEC"), "Group EXEC (EXEC, SYSTEM and SHELL)"),
    Section(_groups("PROCESS"), "Group PROCESS (privileges; valid for every address)"),
    Section(_groups("PTY"), "Group PTY (PTY, and EXEC with pty)"),
    Section(_groups("READLINE"), "Group READLINE"),
    Section(_groups("TERMIOS"), "Group TERMIOS (terminals: STDIO, FD, OPEN, GOPEN, PTY, EXEC with pty)",
            "Each option changes the settings of the terminal with tcsetattr(3) when the address is opened; the "
            "first change saves the settings and pysocat restores them when it exits, also when it is ended by a "
            "signal (SIGKILL excepted). An option on a descriptor that is not a terminal is an error "
            "(`Inappropriate ioctl for device`)."),
    Section(_groups("TUN", "INTERFACE"), "Groups TUN and INTERFACE (TUN, INTERFACE)",
            "The tun-* options and iff-no-pi apply to TUN only; the iff-* flag options apply to TUN and "
            "INTERFACE: =1 sets the flag with SIOCSIFFLAGS, =0 clears it, and flags not named are left as the "
            "kernel set them."),
    Section(_groups("OPENSSL"), "Group OPENSSL (OPENSSL, OPENSSL-LISTEN, OPENSSL-DTLS-CLIENT, OPENSSL-DTLS-SERVER)"),
    Section(_groups("HTTP"), "Group HTTP (PROXY)"),
    Section(_groups("SOCKS4", "SOCKS5"), "Groups SOCKS4 and SOCKS5 (SOCKS addresses)"),
)

#: The name of the value in an entry's heading, where the type's own name would say less.
VALUE_NAMES: dict[str, str] = {
    "lockfile": "filename",
    "waitlock": "filename",
    "seek": "offset",
    "seek-cur": "offset",
    "seek-end": "offset",
    "bind": "address",
    "pf": "family",
    "sourceport": "port",
    "range": "range",
    "fdin": "fd",
    "fdout": "fd",
    "ispeed": "rate",
    "ospeed": "rate",
}

_TYPE_VALUES: dict[OptType, str] = {
    OptType.INT: "int",
    OptType.SIZE: "size",
    OptType.TIME: "seconds",
    OptType.MODE: "mode",
    OptType.USER: "user",
    OptType.GROUP: "group",
    OptType.STRING: "string",
    OptType.CHAR: "char",
}

#: Ranges wider than this are the type's own and not worth stating.
_WIDE = 2**31 - 1

INTRO = """\
Options modify how an address is opened and used.
Each option belongs to a group, and an address type accepts the options of
the groups listed for it (option
.B \\-g
turns this check off); unknown options and options not valid for the type are
errors.
Each entry shows the option name with its value, the type of the value (see
.BR "DATA VALUES" ),
its aliases, its groups, and the phase of the open in which it takes effect
(in order: {phases}, and TRANSFER
for options used while data moves).
A boolean option given without a value means 1."""


def escape(text: str) -> str:
    """Plain text as roff: backslashes and hyphens escaped, backquoted spans in bold."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fP", text)
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def sentence(help_text: str) -> str:
    """A row's help as the description: capitalised and ending with a full stop."""
    text = help_text.strip()
    if not text:
        return ""
    if text[0] == "`":
        pass  # a literal name keeps its case
    else:
        text = text[0].upper() + text[1:]
    if not text.endswith((".", "!", "?")):
        text += "."
    return escape(text)


def heading(desc: OptionDesc) -> str:
    """The ``.TP`` tag line: the name and the form of its value."""
    name = f"\\fB{escape(desc.name)}\\fP"
    if desc.type is OptType.BOOL:
        return f"{name}[=\\fIbool\\fP]"
    if desc.type is OptType.SOCKOPT:
        return f"{name}=\\fIlevel\\fP:\\fIoptname\\fP:\\fIvalue\\fP"
    value = VALUE_NAMES.get(desc.name)
    if value is None:
        value = "number" if "TERMIOS" in desc.groups and desc.type is OptType.INT else _TYPE_VALUES[desc.type]
    return f"{name}=\\fI{value}\\fP"


def _bold_list(kind: str, items: Sequence[str]) -> str:
    plural = kind + ("es" if kind.endswith("s") else "s") if len(items) > 1 else kind
    return f"{plural} " + ", ".join(f"\\fB{escape(item)}\\fP" for item in items)


def facts(desc: OptionDesc) -> str:
    """The line under the heading: type (and range), aliases, groups, phase."""
    kind = f"Type \\fB{desc.type.value}\\fP"
    if desc.lo is not None and desc.hi is not None and -_WIDE <= desc.lo and desc.hi < _WIDE:
        kind += f" ({escape(str(desc.lo))} to {desc.hi})"
    parts = [kind]
    if desc.aliases:
        parts.append(_bold_list("alias", desc.aliases))
    parts.append(_bold_list("group", sorted(desc.groups)))
    parts.append(f"phase {desc.phase.name}")
    return "; ".join(parts) + "."


def entry(desc: OptionDesc) -> list[str]:
    """The roff lines of one option."""
    lines = [".TP", heading(desc), facts(desc)]
    body = sentence(desc.help)
    if body:
        lines.append(body)
    return lines


def section_of(desc: OptionDesc) -> Section:
    """The section that lists ``desc``: the first that names one of its groups."""
    for section in SECTIONS:
        if section.groups & desc.groups:
            return section
    raise LookupError(f"option {desc.name!r}: no man page section lists its groups {sorted(desc.groups)}")


def render(table: Iterable[OptionDesc] = TABLE) -> str:
    """The generated part of the page, markers included, ending with a newline."""
    rows: dict[Section, list[OptionDesc]] = {section: [] for section in SECTIONS}
    for desc in table:
        rows[section_of(desc)].append(desc)
    phases = ", ".join(phase.name for phase in Phase if phase is not Phase.TRANSFER)
    lines = [BEGIN, NOTE, *_wrap_intro(INTRO.format(phases=phases))]
    for section, descs in rows.items():
        if not descs:
            continue
        lines.append(f".SS {escape(section.title)}")
        if section.intro:
            lines.append(sentence(section.intro))
        for desc in descs:
            lines += entry(desc)
    lines.append(END)
    return "\n".join(lines) + "\n"


def _wrap_intro(text: str) -> list[str]:
    """The intro's lines; the phase list is broken before it grows past 80 columns."""
    out: list[str] = []
    for line in text.splitlines():
        while len(line) > 80 and ", " in line[:80]:
            cut = line.rindex(", ", 0, 80) + 1
            out.append(line[:cut])
            line = line[cut + 1 :]
        out.append(line)
    return out


def splice(page: str, generated: str) -> str:
    """``page`` with this section (between its markers) replaced by ``generated``."""
    return mansection.splice(page, generated, BEGIN, END)


def main(argv: Sequence[str] | None = None) -> int:
    """``manpage [--check] PAGE``: rewrite the generated section, or check that it is current."""
    return mansection.command(argv, "pysocat.options.manpage", "ADDRESS OPTIONS", render, BEGIN, END)


if __name__ == "__main__":
    sys.exit(main())
