"""Traffic dumps: ``-v`` text, ``-x`` hex (socat's layouts) and ``-r/-R`` raw files."""

from __future__ import annotations

import os
import time
from typing import BinaryIO


def _stamp() -> str:
    now = time.time()
    # socat prints microseconds zero-padded to nine digits; keep its layout.
    return time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(now)) + ".%09d" % int((now % 1) * 1_000_000)


_ESCAPES = {0x07: "\\a", 0x08: "\\b", 0x0B: "\\v", 0x0C: "\\f", 0x0D: "\\r", 0x5C: "\\\\"}


def _text(data: bytes) -> str:
    """socat's -v rendering: C escapes for a few controls, '.' for the rest."""
    out = []
    for b in data:
        if b in _ESCAPES:
            out.append(_ESCAPES[b])
        elif b in (0x09, 0x0A) or 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(".")
    return "".join(out)


def _printable(data: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in data)


def _hex_lines(data: bytes) -> list[bytes]:
    lines: list[bytes] = []
    start = 0
    for i, b in enumerate(data):
        if b == 0x0A or i - start == 15:
            lines.append(data[start : i + 1])
            start = i + 1
    if start < len(data):
        lines.append(data[start:])
    return lines


class Dumper:
    """Writes one record per transfer chunk to stderr and/or raw sniff files."""

    def __init__(self, verbose: bool, hexdump: bool, raw_lr: str | None, raw_rl: str | None) -> None:
        self.verbose = verbose
        self.hexdump = hexdump
        self.raw: dict[str, BinaryIO | None] = {
            ">": open(raw_lr, "ab") if raw_lr else None,
            "<": open(raw_rl, "ab") if raw_rl else None,
        }

    def close(self) -> None:
        """Close the raw dump files (-r/-R)."""
        for tag, raw in self.raw.items():
            if raw is not None:
                try:
                    raw.close()
                except OSError:
                    pass
                self.raw[tag] = None

    @property
    def active(self) -> bool:
        """True when anything needs to see the bytes."""
        return self.verbose or self.hexdump or any(self.raw.values())

    def record(self, tag: str, data: bytes, offset: int) -> None:
        """Dump ``data`` moved in direction ``tag`` ('>' or '<') at ``offset``."""
        raw = self.raw[tag]
        if raw is not None:
            raw.write(data)
            raw.flush()
        if not (self.verbose or self.hexdump):
            return
        head = f"{tag} {_stamp()}  length={len(data)} from={offset} to={offset + len(data) - 1}\n"
        if self.hexdump and self.verbose:
            body = "".join(
                f" {' '.join('%02x' % b for b in line):<47}  {_printable(line)}\n" for line in _hex_lines(data)
            ) + "--\n"
        elif self.hexdump:
            body = " " + " ".join("%02x" % b for b in data) + "\n"
        else:
            body = _text(data)
        try:
            os.write(2, (head + body).encode("utf-8", "replace"))
        except OSError:
            pass
