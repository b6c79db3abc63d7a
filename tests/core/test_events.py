"""The event bus never blocks a publisher; a slow subscriber is dropped."""

from __future__ import annotations

from jobwerk.core.events import EventBus, run_status


async def test_a_slow_subscriber_is_dropped_and_others_keep_receiving() -> None:
    bus = EventBus()
    slow = bus.subscribe(maxsize=5)
    fast = bus.subscribe(maxsize=100)
    for number in range(20):
        bus.publish(run_status(f"run-{number}", None, status="running"))
    assert slow.dropped
    assert bus.subscriber_count == 1
    received = []
    for _ in range(20):
        event = await fast.get()
        assert event is not None
        received.append(event.run_id)
    assert received == [f"run-{number}" for number in range(20)]


async def test_a_filtered_subscription_only_sees_what_it_accepts() -> None:
    bus = EventBus()
    mine = bus.subscribe(accept=lambda event: event.run_id == "mine")
    bus.publish(run_status("other", None, status="running"))
    bus.publish(run_status("mine", None, status="completed"))
    mine.close()
    assert [event.run_id async for event in mine] == ["mine"]
