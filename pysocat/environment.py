"""Variables pysocat exports to the programs it starts (SOCAT_PEERADDR, SOCAT_OPENSSL_..., ...).

socat puts them into its own environment with setenv(); pysocat keeps them here
and adds them when it starts a program (EXEC, SYSTEM, SHELL), which is the only
place they are seen.  A forked per-connection child so avoids copying the C
environment block (putenv/realloc) for every connection.
"""

from __future__ import annotations

import os

EXPORTED: dict[str, str] = {}


def export(prefix: str, values: dict[str, str]) -> None:
    """Set ``<prefix>_<key>`` and ``SOCAT_<key>`` for every item of ``values``."""
    for pre in {prefix, "SOCAT"}:
        for key, value in values.items():
            EXPORTED[f"{pre}_{key}"] = value


def for_program() -> dict[str, str]:
    """The environment a started program gets: ours plus everything exported."""
    env = dict(os.environ)
    env.update(EXPORTED)
    return env
