"""socat-style log lines: ``YYYY/MM/DD HH:MM:SS name[pid] L message``.

Each relay has its own :class:`Logger` (its runtime's).  The module functions
(``log.info(...)``) write to the logger of the relay running in this thread or
context (:func:`use`), so openers and the engine need not pass it around; a
library relay's logger hands records to the standard ``logging`` module.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from contextvars import ContextVar, Token
from typing import TextIO

LEVELS = "DINWEF"  # index = severity: D=0 .. F=5
_LEVEL_FOR_D = {0: "E", 1: "N", 2: "N", 3: "I", 4: "D"}


class Logger:
    """One relay's logger with socat's level letters and destinations."""

    def __init__(self) -> None:
        self.progname = "pysocat"
        self.threshold = LEVELS.index("W")
        self.micro = False
        self.hostname: str | None = None
        self.stream: TextIO | None = sys.stderr
        self.syslog_facility: str | None = None
        self._syslog_ready = False
        self.mixed_facility: str | None = None
        self.owned: TextIO | None = None  # a -lf file this logger opened (closed by close())

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
            self.owned = self.stream
        if syslog_facility is not None:
            self.syslog_facility = syslog_facility or "daemon"
            self.stream = None
        self.mixed_facility = mixed_facility

    def close(self) -> None:
        """Close a log file this logger opened (-lf); later lines are dropped."""
        if self.owned is not None:
            try:
                self.owned.close()
            except OSError:
                pass
            if self.stream is self.owned:
                self.stream = None
            self.owned = None
        if self._syslog_ready:
            import syslog

            syslog.closelog()
            self._syslog_ready = False

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



class StdlibLogger(Logger):
    """A library relay's logger: records go to ``logging.getLogger("pysocat")`` with socat's text."""

    _LEVELS = {"D": 10, "I": 20, "N": 20, "W": 30, "E": 40, "F": 50}

    def __init__(self, name: str = "pysocat") -> None:
        super().__init__()
        import logging

        self.target = logging.getLogger(name)
        self.threshold = 0  # the logging module decides what is shown

    def enabled(self, level: str) -> bool:
        return self.target.isEnabledFor(self._LEVELS[level])

    def log(self, level: str, message: str) -> None:
        self.target.log(self._LEVELS[level], message)


_CURRENT: ContextVar[Logger | None] = ContextVar("pysocat_logger", default=None)


def current() -> Logger:
    """The logger of the relay running in this thread (a new stderr logger otherwise)."""
    logger = _CURRENT.get()
    if logger is None:
        logger = Logger()
        _CURRENT.set(logger)
    return logger


def use(logger: Logger) -> Token[Logger | None]:
    """Make ``logger`` the current one in this context; returns the token for :func:`restore`."""
    return _CURRENT.set(logger)


def restore(token: Token[Logger | None]) -> None:
    """Undo :func:`use`."""
    _CURRENT.reset(token)


def debug(msg: str) -> None:
    """Log at D level."""
    current().log("D", msg)


def info(msg: str) -> None:
    """Log at I level."""
    current().log("I", msg)


def notice(msg: str) -> None:
    """Log at N level."""
    current().log("N", msg)


def warn(msg: str) -> None:
    """Log at W level."""
    current().log("W", msg)


def error(msg: str) -> None:
    """Log at E level."""
    current().log("E", msg)
