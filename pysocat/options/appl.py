"""APPL rows: options every address takes, read by the engine while data moves.

None of them has an applier; the engine and the lock-file code ask for them by name.
"""

from __future__ import annotations

from .core import SIZE_MAX, OptType, Phase, opt

B, S = OptType.BOOL, OptType.STRING


# Application-level options, valid for every address (socat's APPL group).
opt("readbytes", OptType.SIZE, "APPL", Phase.TRANSFER, "bytes", lo=0, hi=SIZE_MAX,
    help="read at most this many bytes from this address, then treat it as at EOF")
opt("ignoreeof", B, "APPL", Phase.TRANSFER,
    help="at EOF, keep reading (poll again), like `tail -f`; useful for a growing file")
opt("crlf", B, "APPL", Phase.TRANSFER, "crnl",
    help="convert LF to CR LF when writing to this address, and CR LF to LF when reading from it")
opt("cr", B, "APPL", Phase.TRANSFER, help="convert LF to CR when writing, CR to LF when reading")
opt("escape", OptType.CHAR, "APPL", Phase.TRANSFER,
    help="a byte read from this address that acts as EOF (one character, or its code such as `0x1d`)")
opt("shut-none", B, "APPL", Phase.TRANSFER, help="do not shut down this address when the other one reaches EOF")
opt("shut-down", B, "APPL", Phase.TRANSFER,
    help="on EOF of the other address, shut down the writing side of this one with `shutdown`(2) (`SHUT_WR`)")
opt("shut-close", B, "APPL", Phase.TRANSFER, help="close this address on EOF of the other")
opt("lockfile", S, "APPL", Phase.INIT, help="fail if this file exists; otherwise create it (removed at exit)")
opt("waitlock", S, "APPL", Phase.INIT, help="wait until this file can be created, then create it (removed at exit)")
