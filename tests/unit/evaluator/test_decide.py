"""The per-(rule, device) state machine: duration held continuously, quiet period, re-trigger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pulse.evaluator.decide import Action, RuleState, close_due, step

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(samples, *, duration=0, clear_after=0, alert_open=False):
    """samples: (second, breached, cleared). Returns the actions; the alert follows OPEN/CLOSE."""
    state, actions = RuleState(), []
    for second, breached, cleared in samples:
        state, action = step(
            state,
            breached=breached,
            cleared=cleared,
            alert_open=alert_open,
            at=T0 + timedelta(seconds=second),
            duration_seconds=duration,
            clear_after_seconds=clear_after,
        )
        actions.append(action)
        if action is Action.OPEN:
            alert_open = True
        elif action is Action.CLOSE:
            alert_open = False
    return actions, state


def test_no_duration_opens_at_once_and_closes_at_once():
    actions, _ = run([(0, True, False), (1, True, False), (2, False, True)])
    assert actions == [Action.OPEN, Action.NONE, Action.CLOSE]


def test_single_breaching_sample_in_window_does_not_fire():
    actions, state = run([(0, False, True), (55, True, False), (61, False, True)], duration=60)
    assert Action.OPEN not in actions and state == RuleState()


def test_duration_counts_from_the_first_sample_of_an_unbroken_run():
    actions, _ = run([(0, True, False), (59, True, False), (60, True, False)], duration=60)
    assert actions == [Action.NONE, Action.NONE, Action.OPEN]
    actions, _ = run(
        [(0, True, False), (30, False, True), (31, True, False), (90, True, False), (91, True, False)],
        duration=60,
    )
    assert actions[-1] is Action.OPEN and Action.OPEN not in actions[:-1]


def test_quiet_period_and_band():
    samples = [
        (0, True, False),
        (10, False, True),
        (20, False, False),
        (30, False, True),
        (59, False, True),
        (60, False, True),
    ]
    actions, _ = run(samples, clear_after=30)
    assert actions == [Action.OPEN, Action.NONE, Action.NONE, Action.NONE, Action.NONE, Action.CLOSE]


def test_closed_by_hand_while_breaching_reopens():
    state = RuleState(breach_since=T0)
    _, action = step(
        state,
        breached=True,
        cleared=False,
        alert_open=False,
        at=T0 + timedelta(seconds=5),
        duration_seconds=0,
        clear_after_seconds=0,
    )
    assert action is Action.OPEN


def test_close_due():
    state = RuleState(clear_since=T0)
    assert not close_due(state, now=T0 + timedelta(seconds=29), clear_after_seconds=30)
    assert close_due(state, now=T0 + timedelta(seconds=30), clear_after_seconds=30)
    assert not close_due(RuleState(), now=T0, clear_after_seconds=0)
