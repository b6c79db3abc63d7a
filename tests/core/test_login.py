"""Login back-off per address and user name, and the gate that bounds concurrent hashing."""

from __future__ import annotations

import asyncio
import time

import pytest

from jobwerk.core.login import HashGate, LoginBusy, LoginThrottle, TooManyAttempts


def refused_for(throttle: LoginThrottle, address: str, user: str, now: float) -> int | None:
    try:
        throttle.attempt(address, user, now)
    except TooManyAttempts as refused:
        wait: int = refused.details["retry_after"]
        return wait
    return None


def test_a_user_name_backs_off_exponentially_after_its_free_attempts() -> None:
    throttle = LoginThrottle(free_per_user=3, free_per_address=100, max_wait=10)
    assert [refused_for(throttle, "10.0.0.1", "ann", 0) for _ in range(3)] == [None] * 3
    assert refused_for(throttle, "10.0.0.2", "ANN", 0) == 1  # another address, same name
    waits = []
    now = 0.0
    for _ in range(6):
        now += 100
        assert refused_for(throttle, "10.0.0.1", "ann", now) is None
        waits.append(refused_for(throttle, "10.0.0.1", "ann", now))
    assert waits == [2, 4, 8, 10, 10, 10]
    assert refused_for(throttle, "10.0.0.1", "bob", now) is None  # other names are free


def test_an_address_is_throttled_across_user_names() -> None:
    throttle = LoginThrottle(free_per_user=100, free_per_address=4)
    assert all(refused_for(throttle, "10.0.0.9", f"user{n}", 0) is None for n in range(4))
    assert refused_for(throttle, "10.0.0.9", "user5", 0) == 1
    assert refused_for(throttle, "10.0.0.8", "user5", 0) is None


def test_success_clears_the_name_and_counts_are_forgotten() -> None:
    throttle = LoginThrottle(free_per_user=2, free_per_address=2, forget_after=60)
    for _ in range(2):
        throttle.attempt("a", "ann", 0)
    throttle.succeeded("a", "ann")
    assert refused_for(throttle, "b", "ann", 0) is None
    assert refused_for(throttle, "a", "ann", 0) is None  # the address kept one failure
    assert refused_for(throttle, "a", "ann", 0) == 1
    assert refused_for(throttle, "a", "ann", 61) is None


async def test_the_gate_runs_few_hashes_at_once_and_refuses_a_long_queue() -> None:
    gate = HashGate(concurrency=1, queue=3)
    running = 0
    most = 0

    def work() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        time.sleep(0.02)
        running -= 1

    outcomes = await asyncio.gather(*(gate.run(work) for _ in range(8)), return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, LoginBusy)]
    assert most == 1
    assert len(refused) == 4  # one runs, three wait, four are turned away
    assert refused[0].details["retry_after"] == 1
    assert await gate.run(lambda: 42) == 42
    with pytest.raises(ZeroDivisionError):
        await gate.run(lambda: 1 / 0)


def test_a_long_attack_keeps_the_wait_at_its_ceiling() -> None:
    throttle = LoginThrottle(free_per_user=1, max_wait=10)
    now = 0.0
    for _ in range(1100):
        now += 11
        assert refused_for(throttle, "10.0.0.1", "ann", now) is None
    assert refused_for(throttle, "10.0.0.1", "ann", now) == 10
