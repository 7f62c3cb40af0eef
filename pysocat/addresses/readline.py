"""READLINE: standard input with line editing and history (Python's readline).

As in socat, a line is edited when the terminal has input: the transfer waits
while the user edits it.  Output that does not end in a newline is remembered
as the prompt of the next line (``noprompt`` turns that off, ``prompt=<text>``
sets a fixed prompt).  After a prompt matching ``noecho=<regex>`` the line is
read without echo and kept out of the history.  ``history=<file>`` loads the
history at open and appends every line to it.  While pysocat waits for input
the terminal is in non-canonical mode without echo, so that editing starts at
the first key; the settings are restored at exit.  When standard input is not a
terminal, READLINE falls back to plain STDIO with a W line.
"""

from __future__ import annotations

import os
import re
import termios

from ..core import log
from ..core.endpoint import Conversions, Endpoint
from ..errors import SocatError
from ..options import OptionSet, Phase
from ..options import terminal as termios_opts
from ..registry import OpenContext, register
from .common import fd_endpoint


class ReadlineEndpoint(Endpoint):
    """fd 0 and 1 with GNU readline between the user and the relay."""

    prompt: str = ""
    fixed: str | None = None
    noprompt: bool = False
    noecho: re.Pattern[str] | None = None
    history: str | None = None
    leftover: bytes = b""

    def read_into(self, buf: memoryview) -> int:
        if not self.leftover:
            line = self._read_line()
            if line is None:
                return 0
            self.leftover = line.encode(errors="surrogateescape") + b"\n"
        n = min(len(buf), len(self.leftover))
        buf[:n] = self.leftover[:n]
        self.leftover = self.leftover[n:]
        return n

    def _read_line(self) -> str | None:
        import readline

        prompt = self.fixed if self.fixed is not None else ("" if self.noprompt else self.prompt)
        self.prompt = ""
        if prompt and self.fixed is None:
            _write_all(b"\r")  # readline prints the prompt again over the shown partial line
        if self.noecho is not None and prompt and self.noecho.search(prompt):
            return self._hidden(prompt)
        os.set_blocking(0, True)
        _echo(True)  # GNU readline displays what is typed only if the terminal echoes
        try:
            line = input(prompt)
        except EOFError:
            return None
        finally:
            _echo(False)
        if line:
            readline.add_history(line)
            if self.history:
                try:
                    readline.append_history_file(1, self.history)
                except OSError as exc:
                    log.warn(f'history file "{self.history}": {exc.strerror}')
        return line

    def _hidden(self, prompt: str) -> str | None:
        """A line read with echo off (a password), not added to the history."""
        _write_all(prompt.encode(errors="surrogateescape"))
        old = termios.tcgetattr(0)
        new = termios.tcgetattr(0)
        new[3] = (new[3] | termios.ICANON) & ~termios.ECHO
        termios.tcsetattr(0, termios.TCSADRAIN, new)
        try:
            data = b""
            while not data.endswith(b"\n"):
                chunk = os.read(0, 1024)
                if not chunk:
                    break
                data += chunk
        finally:
            termios.tcsetattr(0, termios.TCSADRAIN, old)
        if not data:
            return None
        return data.rstrip(b"\n").decode(errors="surrogateescape")

    def write(self, data: memoryview | bytes) -> int:
        assert self.wfd is not None
        n = os.write(self.wfd, data)
        if self.fixed is None and not self.noprompt and n:
            text = bytes(data[:n]).decode(errors="surrogateescape")
            cut = text.rfind("\n")
            self.prompt = text[cut + 1:] if cut >= 0 else self.prompt + text
        return n


def _echo(on: bool) -> None:
    """Switch ECHO on the terminal at fd 0 (non-canonical mode stays)."""
    try:
        attrs = termios.tcgetattr(0)
        attrs[3] = (attrs[3] | termios.ECHO) if on else (attrs[3] & ~termios.ECHO)
        termios.tcsetattr(0, termios.TCSANOW, attrs)
    except termios.error:
        pass


def _write_all(data: bytes) -> None:
    while data:
        try:
            data = data[os.write(1, data):]
        except BlockingIOError:
            continue


def open_readline(ctx: OpenContext, params: tuple[str, ...], opts: OptionSet) -> Endpoint:
    """READLINE: line editing on a terminal, else STDIO with a warning."""
    history = opts.take("history-file")
    noprompt = bool(opts.take("noprompt"))
    noecho = opts.take("noecho")
    prompt = opts.take("prompt")
    pattern = None
    if noecho is not None:
        try:
            pattern = re.compile(noecho)
        except re.error as exc:
            raise SocatError(f'option "noecho": invalid regular expression "{noecho}": {exc}') from None
    if not (os.isatty(0) and os.isatty(1)):
        log.warn("READLINE: standard input or output is not a terminal, using STDIO without line editing")
        return fd_endpoint(ctx, opts, 0, 1, keep=(0, 1, 2))
    import readline

    readline.set_auto_history(False)
    if history:
        history = os.path.abspath(history)
        try:
            if os.path.exists(history):
                readline.read_history_file(history)
            else:
                os.close(os.open(history, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
        except OSError as exc:
            raise SocatError(f'history file "{history}": {exc.strerror}') from None
    for phase in (Phase.FD, Phase.LATE):
        opts.apply(phase, 0)
    # wait for input without canonical mode or echo: readline edits from the first key
    termios_opts.modify(0, _waiting_mode)
    ep = ReadlineEndpoint(name=ctx.spec.text, rfd=0, wfd=1, conv=Conversions.from_options(opts), keep_fds=(0, 1, 2))
    ep.zero_copy = False
    ep.history = history
    ep.noprompt = noprompt
    ep.noecho = pattern
    ep.fixed = prompt
    return ep


def _waiting_mode(attrs: list[object]) -> None:
    lflag = attrs[termios_opts.LFLAG]
    assert isinstance(lflag, int)
    attrs[termios_opts.LFLAG] = lflag & ~(termios.ICANON | termios.ECHO)
    cc = attrs[termios_opts.CC]
    assert isinstance(cc, list)
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0


register("READLINE", (), "FD,READLINE,TERMIOS", open_readline, features=("READLINE",),
         help="standard input with line editing and history")
