"""A pump's life as a table: its states, the events of one step, and the legal transitions.

Pure data and one function, no I/O (h11's ``_state`` is the model): every
mover (userspace copy, splice through a private pipe, direct splice) reports
what a step did as an :class:`Event`, and :func:`advance` names the next
:class:`State`, or refuses a transition the table does not have.
"""

from __future__ import annotations

from enum import Enum


class State(Enum):
    """Where a pump is."""

    READING = "reading"  # nothing held: waiting for the source
    POLLING = "polling"  # ignoreeof: the source read empty; read again when the poll timer is due
    WRITING = "writing"  # waiting for the destination (bytes held, or it was full)
    FLUSHING = "flushing"  # the source ended; bytes still held for the destination
    DONE = "done"  # EOF passed on to the destination (half-close)


class Event(Enum):
    """What one step of a pump did."""

    MOVED = "moved"  # bytes read and all written
    HELD = "held"  # bytes read, some still held (the destination took only part)
    FULL = "full"  # the destination took nothing: wait for it (direct splice)
    SENT = "sent"  # the destination took everything held (or is writable again)
    EMPTY = "empty"  # the source read nothing but may have more later (ignoreeof)
    EOF = "eof"  # the source ended (EOF, readbytes reached, escape character)
    DROPPED = "dropped"  # the destination is gone and cool-write drops what is held


class PumpStateError(Exception):
    """A step reported an event its state does not allow (a bug in a mover)."""


S, E = State, Event
TRANSITIONS: dict[tuple[State, Event], State] = {
    (S.READING, E.MOVED): S.READING,
    (S.READING, E.HELD): S.WRITING,
    (S.READING, E.FULL): S.WRITING,
    (S.READING, E.EMPTY): S.POLLING,
    (S.READING, E.EOF): S.DONE,
    (S.READING, E.DROPPED): S.DONE,
    (S.POLLING, E.MOVED): S.READING,
    (S.POLLING, E.HELD): S.WRITING,
    (S.POLLING, E.FULL): S.WRITING,
    (S.POLLING, E.EMPTY): S.POLLING,
    (S.POLLING, E.EOF): S.DONE,
    (S.POLLING, E.DROPPED): S.DONE,
    (S.WRITING, E.MOVED): S.READING,
    (S.WRITING, E.HELD): S.WRITING,
    (S.WRITING, E.FULL): S.WRITING,
    (S.WRITING, E.SENT): S.READING,
    (S.WRITING, E.EMPTY): S.POLLING,
    (S.WRITING, E.EOF): S.FLUSHING,
    (S.WRITING, E.DROPPED): S.DONE,
    (S.FLUSHING, E.HELD): S.FLUSHING,
    (S.FLUSHING, E.SENT): S.DONE,
    (S.FLUSHING, E.EOF): S.FLUSHING,
    (S.FLUSHING, E.DROPPED): S.DONE,
}

#: states whose source has ended
ENDED = frozenset({S.FLUSHING, S.DONE})


def advance(state: State, event: Event) -> State:
    """The state after ``event``; PumpStateError if the table has no such transition."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise PumpStateError(f"pump in state {state.value} cannot take event {event.value}") from None
