"""`pulse.periodic.run_every`: steps repeat, failures are logged and survived, wake-ups run a step early,
cancellation stops the loop. Intervals are either tiny or an hour; nothing asserts on durations."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from pulse.periodic import run_every, wait_event

HOUR = 3600.0
GUARD = 10.0  # only so a broken loop fails the test instead of hanging it


class RecordingLog:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict]] = []

    def warning(self, event: str, **kw) -> None:
        self.records.append(("warning", event, kw))

    def exception(self, event: str, **kw) -> None:
        self.records.append(("exception", event, kw))


class Steps:
    """A step that runs each of `outcomes` in turn (an exception is raised) and signals each call."""

    def __init__(self, *outcomes: BaseException | None) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0
        self.called = asyncio.Event()

    async def __call__(self) -> None:
        self.calls += 1
        self.called.set()
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome

    async def next_call(self) -> None:
        self.called.clear()
        await asyncio.wait_for(self.called.wait(), GUARD)


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_runs_the_step_again_after_each_interval() -> None:
    step = Steps()
    task = asyncio.create_task(run_every(0.001, step, log=RecordingLog(), failure="x failed"))
    for _ in range(3):
        await step.next_call()
    await stop(task)
    assert step.calls >= 3


async def test_a_failing_step_is_logged_and_the_loop_goes_on() -> None:
    log, errors = RecordingLog(), []
    step = Steps(OSError("database away"), ValueError("a bug"))
    task = asyncio.create_task(
        run_every(0.001, step, log=log, failure="sweep failed; will retry", on_error=errors.append)
    )
    while step.calls < 3:
        await step.next_call()
    await stop(task)
    # an expected (outage) error is one warning line; anything else is logged with its traceback
    assert log.records == [
        ("warning", "sweep failed; will retry", {"error": "OSError: database away"}),
        ("exception", "sweep failed; will retry", {}),
    ]
    assert [type(e) for e in errors] == [OSError, ValueError]


async def test_expected_errors_are_the_callers_choice() -> None:
    log = RecordingLog()
    step = Steps(KeyError("k"))
    task = asyncio.create_task(run_every(0.001, step, log=log, failure="f", expected=(Exception,)))
    while step.calls < 2:
        await step.next_call()
    await stop(task)
    assert log.records == [("warning", "f", {"error": "KeyError: 'k'"})]


async def test_wait_first_waits_and_a_wake_runs_the_step_early() -> None:
    wake = asyncio.Event()
    step = Steps()
    task = asyncio.create_task(
        run_every(HOUR, step, log=RecordingLog(), failure="f", wake=wake, wait_first=True)
    )
    for _ in range(5):
        await asyncio.sleep(0)
    assert step.calls == 0  # an hour to go
    wake.set()
    await step.next_call()
    assert step.calls == 1
    wake.set()
    await step.next_call()
    await stop(task)
    assert step.calls == 2


async def test_a_wake_set_by_the_step_itself_runs_it_again_at_once() -> None:
    wake = asyncio.Event()
    calls = 0
    backlog_done = asyncio.Event()

    async def step() -> None:  # a backlog of three passes, like the rollups
        nonlocal calls
        calls += 1
        if calls < 3:
            wake.set()
        else:
            backlog_done.set()

    task = asyncio.create_task(run_every(HOUR, step, log=RecordingLog(), failure="f", wake=wake))
    await asyncio.wait_for(backlog_done.wait(), GUARD)
    await stop(task)
    assert calls == 3


async def test_cancelling_inside_the_step_stops_the_loop() -> None:
    entered, never = asyncio.Event(), asyncio.Event()

    async def step() -> None:
        entered.set()
        await never.wait()

    log = RecordingLog()
    task = asyncio.create_task(run_every(0.001, step, log=log, failure="f", expected=(Exception,)))
    await asyncio.wait_for(entered.wait(), GUARD)
    await stop(task)
    assert log.records == []  # a cancellation is not a failure


@pytest.mark.parametrize("wake", [None, asyncio.Event()])
async def test_cancelling_while_waiting_stops_the_loop(wake) -> None:
    step = Steps()
    task = asyncio.create_task(run_every(HOUR, step, log=RecordingLog(), failure="f", wake=wake))
    await step.next_call()  # the first step runs at once; then an hour's wait
    await stop(task)
    assert step.calls == 1


async def test_wait_event_never_swallows_a_cancellation_that_races_the_event():
    """The event set and the waiter cancelled in the same loop iteration: the cancellation wins (3.11's
    wait_for would return instead, and a service loop around it would never stop)."""
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_event(event, 5.0))
    await asyncio.sleep(0)  # the waiter is parked on the event
    event.set()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter


async def test_wait_event_says_whether_the_event_was_set():
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 5.0) is True
