"""Throttling of failed sign-ins, per account and per source address, checked before any work.

After ``FREE_FAILURES`` failures inside ``WINDOW`` a key is blocked, and every
further failure doubles the block, from ``FIRST_BLOCK`` up to ``MAX_BLOCK``.
A success clears the account's key (not the address's).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from isecom.errors import RateLimited
from isecom.services.ports import ThrottleState, Transaction

WINDOW = timedelta(minutes=15)
FREE_FAILURES = {"account": 5, "address": 20}
FIRST_BLOCK = timedelta(seconds=30)
MAX_BLOCK = timedelta(hours=1)


def account_key(username: str) -> str:
    return f"account:{username.lower()}"


def address_key(address: str) -> str:
    return f"address:{address}"


async def check(tx: Transaction, keys: list[str], now: datetime) -> None:
    for key in keys:
        state = await tx.throttle.get(key)
        if state is not None and state.blocked_until is not None and now < state.blocked_until:
            raise RateLimited()


async def fail(tx: Transaction, key: str, now: datetime) -> ThrottleState:
    state = await tx.throttle.get(key)
    failures = 1 if state is None or now - state.last_failure_at > WINDOW else state.failures + 1
    free = FREE_FAILURES["account" if key.startswith("account:") else "address"]
    blocked_until = None
    if failures > free:
        block = min(MAX_BLOCK, FIRST_BLOCK * (2 ** (failures - free - 1)))
        blocked_until = now + block
    new = ThrottleState(key=key, failures=failures, last_failure_at=now, blocked_until=blocked_until)
    await tx.throttle.put(new)
    return new


async def clear_key(tx: Transaction, key: str) -> None:
    await tx.throttle.clear(key)
