"""The gateway WebSocket protocol's receive queue: in order, waits when empty, loses nothing when a wait is cut."""

from __future__ import annotations

import asyncio

import pytest

from license_distributor.gateway_session import _Inbox


async def test_messages_come_out_in_the_order_they_went_in() -> None:
    inbox = _Inbox()
    assert inbox.empty()
    for n in range(3):
        inbox.put_nowait({"n": n})
    assert not inbox.empty()
    assert [await inbox.get() for _ in range(3)] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert inbox.empty()


async def test_a_receiver_waits_for_the_next_message() -> None:
    inbox = _Inbox()
    waiting = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    inbox.put_nowait("connect")
    assert await waiting == "connect"


async def test_a_wait_cut_short_loses_no_message() -> None:
    inbox = _Inbox()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(inbox.get(), timeout=0.01)
    inbox.put_nowait("identify")
    assert await asyncio.wait_for(inbox.get(), timeout=1) == "identify"


async def test_two_receivers_at_once_are_refused() -> None:
    inbox = _Inbox()
    first = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await inbox.get()
    inbox.put_nowait("x")
    assert await first == "x"
