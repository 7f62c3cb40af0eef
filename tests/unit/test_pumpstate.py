"""The pump's state table (pysocat.core.pumpstate): complete, closed, and always able to end.

The table is pure data, so every (state, event) pair is checked: a pair is
either a transition to a State or PumpStateError naming both.  A mover that
reports an event its state does not allow is a bug the table must refuse.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pysocat.core.pumpstate import ENDED, TRANSITIONS, Event, PumpStateError, State, advance

pytestmark = pytest.mark.timeout(30)

ALL_PAIRS = list(itertools.product(State, Event))

#: the transitions socat's semantics ask for, written out independently of the table
EXPECTED = {
    # nothing held: a read either moves everything, holds some, finds the destination full, or ends
    (State.READING, Event.MOVED): State.READING,
    (State.READING, Event.HELD): State.WRITING,
    (State.READING, Event.FULL): State.WRITING,
    (State.READING, Event.EMPTY): State.POLLING,
    (State.READING, Event.EOF): State.DONE,
    (State.READING, Event.DROPPED): State.DONE,
    # ignoreeof: reading again behaves like READING
    (State.POLLING, Event.MOVED): State.READING,
    (State.POLLING, Event.HELD): State.WRITING,
    (State.POLLING, Event.FULL): State.WRITING,
    (State.POLLING, Event.EMPTY): State.POLLING,
    (State.POLLING, Event.EOF): State.DONE,
    (State.POLLING, Event.DROPPED): State.DONE,
    # bytes held: an EOF must wait for them (FLUSHING), never skip to DONE
    (State.WRITING, Event.MOVED): State.READING,
    (State.WRITING, Event.HELD): State.WRITING,
    (State.WRITING, Event.FULL): State.WRITING,
    (State.WRITING, Event.SENT): State.READING,
    (State.WRITING, Event.EMPTY): State.POLLING,
    (State.WRITING, Event.EOF): State.FLUSHING,
    (State.WRITING, Event.DROPPED): State.DONE,
    # the source ended: only the held bytes may still go out
    (State.FLUSHING, Event.HELD): State.FLUSHING,
    (State.FLUSHING, Event.SENT): State.DONE,
    (State.FLUSHING, Event.EOF): State.FLUSHING,
    (State.FLUSHING, Event.DROPPED): State.DONE,
}


@pytest.mark.parametrize(("state", "event"), ALL_PAIRS, ids=lambda x: x.value)
def test_every_pair_is_a_transition_or_refused(state: State, event: Event) -> None:
    if (state, event) in EXPECTED:
        assert advance(state, event) is EXPECTED[(state, event)]
    else:
        with pytest.raises(PumpStateError) as info:
            advance(state, event)
        assert str(info.value) == f"pump in state {state.value} cannot take event {event.value}"


def test_the_table_has_exactly_the_expected_transitions() -> None:
    assert TRANSITIONS == EXPECTED


def test_every_transition_lands_in_the_state_enum() -> None:
    for (state, event), new in TRANSITIONS.items():
        assert isinstance(state, State) and isinstance(event, Event) and isinstance(new, State)


@pytest.mark.parametrize("event", list(Event), ids=lambda e: e.value)
def test_done_is_terminal(event: Event) -> None:
    with pytest.raises(PumpStateError, match="pump in state done cannot take event"):
        advance(State.DONE, event)


def _reachable(start: State) -> set[State]:
    seen = {start}
    todo = [start]
    while todo:
        here = todo.pop()
        for (state, _event), new in TRANSITIONS.items():
            if state is here and new not in seen:
                seen.add(new)
                todo.append(new)
    return seen


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_done_is_reachable_from_every_state(state: State) -> None:
    assert State.DONE in _reachable(state)


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_a_dropped_destination_ends_every_live_state_at_once(state: State) -> None:
    """cool-write: the destination is gone, nothing is left to wait for."""
    if state is State.DONE:
        return
    assert advance(state, Event.DROPPED) is State.DONE


def test_eof_while_writing_goes_through_flushing() -> None:
    state = advance(State.WRITING, Event.EOF)
    assert state is State.FLUSHING
    assert advance(state, Event.HELD) is State.FLUSHING  # a partial write: still flushing
    assert advance(state, Event.SENT) is State.DONE


@pytest.mark.parametrize("state", [State.READING, State.POLLING], ids=lambda s: s.value)
def test_eof_with_nothing_held_is_done_at_once(state: State) -> None:
    assert advance(state, Event.EOF) is State.DONE


@pytest.mark.parametrize("event", [Event.MOVED, Event.EMPTY, Event.FULL], ids=lambda e: e.value)
def test_an_ended_source_is_never_read_again(event: Event) -> None:
    with pytest.raises(PumpStateError):
        advance(State.FLUSHING, event)


def test_ended_is_the_set_of_states_after_eof() -> None:
    """ENDED (the pump's ``eof``) holds exactly the states an EOF can lead to, and their closure."""
    after_eof = {advance(s, Event.EOF) for s in State if (s, Event.EOF) in TRANSITIONS}
    closure: set[State] = set()
    for s in after_eof:
        closure |= _reachable(s)
    assert ENDED == frozenset(closure) == frozenset({State.FLUSHING, State.DONE})


def test_an_ended_state_never_leads_back_to_reading() -> None:
    for (state, _event), new in TRANSITIONS.items():
        if state in ENDED:
            assert new in ENDED, (state, new)


def test_sent_only_where_bytes_can_be_held() -> None:
    """SENT means "the held bytes went out": not a READING/POLLING event (nothing is held there)."""
    for state in (State.READING, State.POLLING):
        with pytest.raises(PumpStateError):
            advance(state, Event.SENT)


@settings(max_examples=300, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(State)), st.lists(st.sampled_from(list(Event)), max_size=40))
def test_random_event_sequences_stay_in_the_table(start: State, events: list[Event]) -> None:
    """Any sequence of events: each is a table transition or refused; once DONE, every event is refused."""
    state = start
    for event in events:
        try:
            new = advance(state, event)
        except PumpStateError:
            assert (state, event) not in TRANSITIONS
            continue
        assert isinstance(new, State)
        assert TRANSITIONS[(state, event)] is new
        if state in ENDED:
            assert new in ENDED
        state = new
        if state is State.DONE:
            for later in Event:
                with pytest.raises(PumpStateError):
                    advance(state, later)
