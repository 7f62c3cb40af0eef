"""socat-style log lines: ``YYYY/MM/DD HH:MM:SS name[pid] L message``."""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import TextIO

LEVELS = "DINWEF"  # index = severity: D=0 .. F=5
_LEVEL_FOR_D = {0: "E", 1: "N", 2: "N", 3: "I", 4: "D"}


class Logger:
    """Process-wide logger with socat's level letters and destinations."""

    def __init__(self) -> None:
        self.progname = "pysocat"
        self.threshold = LEVELS.index("W")
        self.micro = False
        self.hostname: str | None = None
        self.stream: TextIO | None = sys.stderr
        self.syslog_facility: str | None = None
        self._syslog_ready = False
        self.mixed_facility: str | None = None

    def configure(
        self,
        *,
        verbosity: int | None,
        progname: str | None = None,
        micro: bool = False,
        with_host: bool = False,
        logfile: str | None = None,
        syslog_facility: str | None = None,
        mixed_facility: str | None = None,
    ) -> None:
        """Set level (-d count), name (-lp), timestamp style and destination.

        socat 1.8 levels: none given -> F E W; -d0 -> F E; -d and -dd add N;
        -ddd adds I; -dddd adds D.
        """
        self.threshold = LEVELS.index(_LEVEL_FOR_D[min(verbosity, 4)] if verbosity is not None else "W")
        if progname:
            self.progname = progname
        self.micro = micro
        self.hostname = socket.gethostname().split(".")[0] if with_host else None
        if logfile is not None:
            self.stream = open(logfile, "a", buffering=1, encoding="utf-8", errors="replace")
        if syslog_facility is not None:
            self.syslog_facility = syslog_facility or "daemon"
            self.stream = None
        self.mixed_facility = mixed_facility

    def transfer_started(self) -> None:
        """-lm: stderr while starting, syslog from the transfer phase on."""
        if self.mixed_facility is not None:
            self.syslog_facility = self.mixed_facility or "daemon"
            self.stream = None

    def enabled(self, level: str) -> bool:
        """Whether a message at ``level`` would be printed."""
        return LEVELS.index(level) >= self.threshold

    def format(self, level: str, message: str) -> str:
        """Render one log line without its trailing newline."""
        now = time.time()
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(now))
        if self.micro:
            stamp += ".%06d" % int((now % 1) * 1_000_000)
        host = f" {self.hostname}" if self.hostname else ""
        return f"{stamp}{host} {self.progname}[{os.getpid()}] {level} {message}"

    def log(self, level: str, message: str) -> None:
        """Emit ``message`` at ``level`` when the threshold allows it."""
        if not self.enabled(level):
            return
        if self.syslog_facility is not None:
            self._syslog(level, message)
            return
        if self.stream is None:
            return
        try:
            self.stream.write(self.format(level, message) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def _syslog(self, level: str, message: str) -> None:
        import syslog

        if not self._syslog_ready:
            fac = getattr(syslog, "LOG_" + (self.syslog_facility or "daemon").upper(), syslog.LOG_DAEMON)
            syslog.openlog(self.progname, syslog.LOG_PID, fac)
            self._syslog_ready = True
        prio = {
            "D": syslog.LOG_DEBUG,
            "I": syslog.LOG_INFO,
            "N": syslog.LOG_NOTICE,
            "W": syslog.LOG_WARNING,
            "E": syslog.LOG_ERR,
            "F": syslog.LOG_CRIT,
        }[level]
        syslog.syslog(prio, f"{level} {message}")


LOG = Logger()


def debug(msg: str) -> None:
    """Log at D level."""
    LOG.log("D", msg)


def info(msg: str) -> None:
    """Log at I level."""
    LOG.log("I", msg)


def notice(msg: str) -> None:
    """Log at N level."""
    LOG.log("N", msg)


def warn(msg: str) -> None:
    """Log at W level."""
    LOG.log("W", msg)


def error(msg: str) -> None:
    """Log at E level."""
    LOG.log("E", msg)
