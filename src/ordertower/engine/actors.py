"""Who is acting: every event (so every state change and operator action) records its actor.

The API sets it for a request (the API key's name; ``local`` without access control), a
callback for its reply (``callback:<system>``); everything else the engine does on its own is
``engine``. It travels in a context variable, so threads started with ``asyncio.to_thread``
and tasks started by a request inherit it; the workers, started outside any request, act as
the engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

ENGINE = "engine"
LOCAL = "local"  # the caller when access control is off (serve --no-auth, loopback only)

_actor: ContextVar[str] = ContextVar("ordertower_actor", default=ENGINE)


def current_actor() -> str:
    return _actor.get()


def set_actor(name: str) -> Token:
    return _actor.set(name)


def reset_actor(token: Token) -> None:
    _actor.reset(token)


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    token = _actor.set(name)
    try:
        yield
    finally:
        _actor.reset(token)


def callback_actor(system: str | None) -> str:
    return f"callback:{system or 'unknown'}"
