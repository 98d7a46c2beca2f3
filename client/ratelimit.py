"""Rate limiters for work queues: how long an item should wait before it is worked on again.

They follow client-go's ``workqueue`` limiters:

- ``ItemExponentialBackoff``: per item, ``base * 2**failures`` capped at ``max_delay``, so one
  broken object backs off alone while the rest keep flowing; ``forget`` resets it after success.
- ``TokenBucket``: an overall ``qps`` with ``burst``, so a storm of failures cannot hammer the
  apiserver however many distinct items fail.
- ``MaxOf``: the longest delay any of its limiters asks for; ``default_controller_limiter`` is
  the usual pair (5 ms .. 1000 s per item, 10 qps / burst 100 overall).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from client.clock import Clock, LoopClock


class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float:
        """Seconds ``item`` should wait now (this counts as one more failure for it)."""
        ...

    def forget(self, item: Hashable) -> None: ...

    def num_requeues(self, item: Hashable) -> int: ...


class ItemExponentialBackoff:
    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        if base_delay <= 0 or max_delay < base_delay:
            raise ValueError("need 0 < base_delay <= max_delay")
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        n = self._failures.get(item, 0)
        self._failures[item] = n + 1
        if n >= 64:  # 2**64 overflows any sensible cap anyway
            return self.max_delay
        return float(min(self.max_delay, self.base_delay * (2 ** n)))

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class TokenBucket:
    """``qps`` tokens a second, at most ``burst`` saved up; each ``when`` reserves one token."""

    def __init__(self, qps: float = 10.0, burst: int = 100, clock: Clock | None = None) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError("need qps > 0 and burst >= 1")
        self.qps = qps
        self.burst = burst
        self.clock: Clock = clock or LoopClock()
        self._tokens = float(burst)
        self._last: float | None = None

    def when(self, item: Hashable) -> float:
        now = self.clock.now()
        if self._last is not None:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1.0  # reserve: a negative balance is a queue of future tokens
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOf:
    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOf needs at least one limiter")
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_controller_limiter(clock: Clock | None = None) -> MaxOf:
    return MaxOf(ItemExponentialBackoff(0.005, 1000.0), TokenBucket(10.0, 100, clock))
