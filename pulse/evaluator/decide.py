"""The per-(rule, device) state machine, pure: one evaluation in, the new state and what to do out.

`breach_since` is when the condition started holding at every evaluation since; any evaluation where
it does not hold resets it, so a duration rule fires only after the condition held for the whole
duration (the reference fired on one breaching sample inside the window — a defect). The duration
applies to the whole expression of a multi-condition rule, not to its first condition.
`clear_since` is when an open alert's condition came back past the clear threshold; it closes once
that has lasted `clear_after_seconds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Action(StrEnum):
    NONE = "none"
    OPEN = "open"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class RuleState:
    breach_since: datetime | None = None
    clear_since: datetime | None = None


def step(
    state: RuleState,
    *,
    breached: bool,
    cleared: bool,
    alert_open: bool,
    at: datetime,
    duration_seconds: int,
    clear_after_seconds: int,
) -> tuple[RuleState, Action]:
    if breached:
        since = state.breach_since or at
        due = at - since >= timedelta(seconds=duration_seconds)
        return RuleState(breach_since=since), Action.OPEN if due and not alert_open else Action.NONE
    if not alert_open:
        return RuleState(), Action.NONE
    if not cleared:  # inside the hysteresis band: stays open, and the quiet period starts over
        return RuleState(), Action.NONE
    since = state.clear_since or at
    if at - since >= timedelta(seconds=clear_after_seconds):
        return RuleState(), Action.CLOSE
    return RuleState(clear_since=since), Action.NONE


def close_due(state: RuleState, *, now: datetime, clear_after_seconds: int) -> bool:
    """For the sweep: an open alert whose quiet period ran out without a new sample to notice it."""
    return state.clear_since is not None and now - state.clear_since >= timedelta(seconds=clear_after_seconds)
