"""pyHanko's blocking calls run asyncio.run(): they fail in a thread that already runs an
event loop (an async server, or Playwright's sync API in the same test process)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def outside_event_loop(call: Callable[..., T], *args: object, **kwargs: object) -> T:
    """`call(*args, **kwargs)`, in a fresh thread when this one runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call, *args, **kwargs).result()
