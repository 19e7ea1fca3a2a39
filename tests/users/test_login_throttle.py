"""The login throttle on its own clock: the limit within the window, the wait it names, what a success clears."""

from __future__ import annotations

import pytest

from ara.errors import RateLimited
from ara.users.login_throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refused_for(throttle: LoginThrottle, username: str) -> int | None:
    """The seconds the throttle asks ``username`` to wait, None if it lets the password be checked."""
    try:
        throttle.check(username)
    except RateLimited as refused:
        return int(refused.detail["retry_after"])
    return None


def test_the_limit_holds_within_the_window_and_lifts_as_the_oldest_failure_leaves_it() -> None:
    clock = Clock()
    throttle = LoginThrottle(3, 60, clock)
    for _ in range(2):
        throttle.failed("alice")
        clock.now += 10
    assert refused_for(throttle, "alice") is None  # two failures: still checked
    throttle.failed("alice")  # the third, at t+20
    assert refused_for(throttle, "alice") == 40  # now t+20; the first (t+0) leaves the window at t+60
    assert refused_for(throttle, "bob") is None  # per username
    clock.now += 39.5
    assert refused_for(throttle, "alice") == 1
    clock.now += 0.5  # t+60: the first failure is out; two remain within the window
    assert refused_for(throttle, "alice") is None
    throttle.failed("alice")  # three within the window again (t+10, t+20, t+60)
    assert refused_for(throttle, "alice") == 10


def test_a_success_clears_the_name_and_old_names_are_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(2, 30, clock)
    throttle.failed("alice")
    throttle.succeeded("alice")
    throttle.failed("alice")
    assert refused_for(throttle, "alice") is None  # the failure before the success no longer counts
    throttle.MAX_NAMES = 3
    for name in ("a", "b", "c"):
        throttle.failed(name)
    clock.now += 31
    throttle.failed("d")  # past MAX_NAMES: the names without a failure in the window are swept
    assert set(throttle._failures) == {"d"}


@pytest.mark.parametrize("limit", [1, 5])
def test_exactly_limit_failures_close_the_name(limit: int) -> None:
    throttle = LoginThrottle(limit, 60, Clock())
    for _ in range(limit - 1):
        throttle.failed("alice")
    assert refused_for(throttle, "alice") is None
    throttle.failed("alice")
    assert refused_for(throttle, "alice") == 60
