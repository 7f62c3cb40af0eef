"""``-h/-hh/-hhh`` text, generated from the global option table, the registry and the option table."""

from __future__ import annotations

from .. import options, registry
from .globals import TABLE, GlobalOption


def global_help() -> str:
    """The global options part of -h: each row's lines, the text starting in the row's column."""
    out = ["   options (pysocat accepts every socat 1.8 global option):"]
    for row in TABLE:
        for label, text in row.help:
            out.append(f"      {label:<{column(row, label)}}{text}")
    return "\n".join(out)


def column(row: GlobalOption, label: str) -> int:
    """Where a -h line's text starts after its label (socat's layout): the row's own, else 7 or 15."""
    return row.column or (7 if len(label) <= 5 else 15)


def _groups(groups: frozenset[str]) -> str:
    return ",".join(sorted(groups))


def help_text(level: int) -> str:
    """-h (level 1), -hh (2: option names), -hhh (3: names and aliases)."""
    out = [
        "pysocat - socat rebuilt in Python",
        "Usage:",
        "pysocat [options] <bi-address> <bi-address>",
        global_help(),
        "   bi-address:",
        "      <single-address>!!<single-address>",
        "      <single-address>",
        "   single-address:",
        "      <address-head>[,<opts>]",
        "   address-head:",
    ]
    heads = sorted(((row.name.lower(), row.usage()), row) for row in registry.rows())
    out += [f"      {key[1]}\tgroups={_groups(row.groups)}" for key, row in heads]
    if level >= 2:
        out += ["   opts:", "      <opt>{,<opts>}:", "   opt:"]
        rows: list[tuple[str, options.OptionDesc]] = []
        for desc in options.TABLE:
            rows.append((desc.name, desc))
            if level >= 3:
                rows += [(alias, desc) for alias in desc.aliases]
        for name, desc in sorted(rows, key=lambda r: r[0]):
            out.append(
                f"      {name}\tgroups={_groups(desc.groups)}\tphase={desc.phase.name}\ttype={desc.type.value}"
            )
    return "\n".join(out) + "\n"
