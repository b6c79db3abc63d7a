"""Live events across processes: PostgreSQL LISTEN/NOTIFY and Unix datagrams beside SQLite."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jobwerk.core import events
from jobwerk.core.events import EventBus, Subscription
from jobwerk.core.relay import NOTIFY_LIMIT, Relay, UnixRelay, decode, encode, relay_for


async def next_event(subscription: Subscription) -> events.Event | None:
    return await asyncio.wait_for(subscription.get(), 10)


@pytest.fixture
async def pair(database_url: str) -> AsyncIterator[tuple[EventBus, Relay, EventBus, Relay]]:
    """Two processes' buses on one database, each with its relay started."""
    buses = (EventBus(), EventBus())
    relays = [relay for bus in buses if (relay := relay_for(bus, database_url))]
    assert len(relays) == 2
    for relay in relays:
        await relay.start()
    yield buses[0], relays[0], buses[1], relays[1]
    for relay in relays:
        await relay.stop()


def test_events_survive_the_trip_and_oversized_values_are_left_out() -> None:
    event = events.run_status("r1", "job", status="failed", error="boom", result={"n": 1})
    origin, back = decode(encode("me", event, NOTIFY_LIMIT))
    assert (origin, back) == ("me", dataclasses.replace(event, relayed=True))
    huge = events.run_status("r1", None, status="completed", result={"rows": "x" * 20_000})
    raw = encode("me", huge, NOTIFY_LIMIT)
    assert len(raw) <= NOTIFY_LIMIT
    assert decode(raw)[1].data == {"status": "completed", "trimmed": ["result"]}
    with pytest.raises(ValueError, match="not a relayed event"):
        decode(b'{"kind": "log"}')


async def test_an_event_published_in_one_process_reaches_the_other_once(
    pair: tuple[EventBus, Relay, EventBus, Relay],
) -> None:
    bus_a, _, bus_b, _ = pair
    mine, theirs = bus_a.subscribe(), bus_b.subscribe()
    sent = events.step_progress("r1", "sync_orders", progress=42.5, step="json_to_db")
    bus_a.publish(sent)
    assert await next_event(theirs) == dataclasses.replace(sent, relayed=True)
    assert await next_event(mine) == sent
    answer = events.job_changed("sync_orders", enabled=False)
    bus_b.publish(answer)
    assert await next_event(theirs) == answer
    assert await next_event(mine) == dataclasses.replace(answer, relayed=True)  # no echo
    # Each side's marker travels behind everything above: an echo would arrive before it.
    marker_a, marker_b = events.job_changed("marker_a"), events.job_changed("marker_b")
    bus_a.publish(marker_a)
    bus_b.publish(marker_b)
    assert [await next_event(mine), await next_event(mine)] == [
        marker_a,
        dataclasses.replace(marker_b, relayed=True),
    ]
    assert [await next_event(theirs), await next_event(theirs)] == [
        marker_b,
        dataclasses.replace(marker_a, relayed=True),
    ]


async def test_what_a_process_published_just_before_it_stopped_still_arrives(
    pair: tuple[EventBus, Relay, EventBus, Relay],
) -> None:
    bus_a, relay_a, bus_b, _ = pair
    theirs = bus_b.subscribe()
    last = events.run_status("r1", None, status="completed")
    bus_a.publish(last)
    await relay_a.stop()
    assert await next_event(theirs) == dataclasses.replace(last, relayed=True)


async def test_malformed_datagrams_are_ignored(tmp_path: Path) -> None:
    bus = EventBus()
    relay = UnixRelay(bus, tmp_path / "jobwerk.db")
    await relay.start()
    seen = bus.subscribe()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"not json", str(relay.path))
            payload = json.loads(encode("elsewhere", events.log_line("r", None, message="hi"), 999))
            sender.sendto(json.dumps(payload).encode(), str(relay.path))
        event = await next_event(seen)
        assert event is not None and event.data == {"message": "hi"}
    finally:
        await relay.stop()
    assert not relay.path.exists()


async def test_the_socket_of_a_dead_process_is_removed(tmp_path: Path) -> None:
    bus = EventBus()
    relay = UnixRelay(bus, tmp_path / "jobwerk.db")
    await relay.start()
    try:
        dead = relay.folder / "0123456789abcdef.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as gone:
            gone.bind(str(dead))  # closed without unlinking, as when a process is killed
        bus.publish(events.run_status("r", None, status="running"))
        assert not dead.exists()
    finally:
        await relay.stop()


def test_only_databases_other_processes_can_share_get_a_relay(tmp_path: Path) -> None:
    bus = EventBus()
    assert relay_for(bus, "sqlite+aiosqlite:///:memory:") is None
    assert isinstance(relay_for(bus, f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"), UnixRelay)
