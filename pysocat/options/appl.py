"""APPL rows: options every address takes, read by the engine while data moves.

None of them has an applier; the engine and the lock-file code ask for them by name.
"""

from __future__ import annotations

from .core import SIZE_MAX, OptType, Phase, opt

B, S = OptType.BOOL, OptType.STRING


# Application-level options, valid for every address (socat's APPL group).
opt("readbytes", OptType.SIZE, "APPL", Phase.TRANSFER, "bytes", lo=0, hi=SIZE_MAX,
    help="read at most this many bytes from the address, then treat it as EOF")
opt("ignoreeof", B, "APPL", Phase.TRANSFER, help="on EOF keep reading (like tail -f)")
opt("crlf", B, "APPL", Phase.TRANSFER, "crnl", help="convert LF to CRLF when writing, CRLF to LF when reading")
opt("cr", B, "APPL", Phase.TRANSFER, help="convert LF to CR when writing, CR to LF when reading")
opt("escape", OptType.CHAR, "APPL", Phase.TRANSFER, help="a byte read from this address that acts as EOF")
opt("shut-none", B, "APPL", Phase.TRANSFER, help="do not shut down this address on EOF of the other")
opt("shut-down", B, "APPL", Phase.TRANSFER, help="shutdown(SHUT_WR) this address on EOF of the other")
opt("shut-close", B, "APPL", Phase.TRANSFER, help="close this address on EOF of the other")
opt("lockfile", S, "APPL", Phase.INIT, help="fail when this lock file exists, else create it")
opt("waitlock", S, "APPL", Phase.INIT, help="wait until this lock file can be created")
