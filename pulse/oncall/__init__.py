"""On-call schedules: pure functions over plain data ("who is on call at T", the resolved timeline,
its gaps, iCalendar feeds) and one loader from the database (`store.load_schedules`)."""

from pulse.oncall.resolve import Gap, OnCallAnswer, Slot, gaps, timeline, who_is_on_call
from pulse.oncall.schedule import Layer, Override, Restriction, Schedule

__all__ = [
    "Gap",
    "Layer",
    "OnCallAnswer",
    "Override",
    "Restriction",
    "Schedule",
    "Slot",
    "gaps",
    "timeline",
    "who_is_on_call",
]
