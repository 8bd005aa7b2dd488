"""Pure parts of subscription limits: the error the API turns into a response."""

from __future__ import annotations

from pulse.subscriptions.limits import CapacityError


def test_capacity_error_names_the_error_and_detail():
    error = CapacityError(409, "device_limit_reached", "subscription sub-1 is full (2/2)")
    assert str(error) == "device_limit_reached: subscription sub-1 is full (2/2)"
    assert error.status == 409 and isinstance(error, Exception)
