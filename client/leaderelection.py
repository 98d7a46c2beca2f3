"""Leader election over a coordination.k8s.io/v1 ``Lease``, so only one replica of a controller acts.

Each candidate loops ``try_acquire_or_renew`` every ``retry_period``:

- no Lease yet: create it naming ourselves (AlreadyExists means someone beat us to it);
- a Lease held by another identity that has changed within ``lease_duration``: wait;
- otherwise (ours, free, or expired): write ourselves in with a conditional PUT. Two candidates
  racing for an expired Lease cannot both win, because the loser's PUT carries the old
  resourceVersion and gets ``Conflict``.

Expiry is judged by *our* clock: a Lease counts as expired when its content has not changed for
``lease_duration`` seconds since we first saw that content, as client-go does, so clock skew
between machines does not matter. The leader must renew within ``renew_deadline``
(< ``lease_duration``), or it stops leading *before* anyone else may start: the work function is
cancelled and ``run`` returns. On a clean stop the Lease is released (holder cleared) so a
successor need not wait out the full duration.

State, per candidate::

    FOLLOWING --acquired--> LEADING --renew failed past deadline / lost--> STOPPED
        ^  |                   |
        +--+ (retry_period)    +--work returned / cancelled: release--> STOPPED
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from client.api import ApiClient
from client.errors import AlreadyExists, ClientError, Conflict, NotFound
from client.objects import deep_copy
from client.resources import LEASES

log = logging.getLogger(__name__)


class State(enum.Enum):
    FOLLOWING = "following"
    LEADING = "leading"
    STOPPED = "stopped"


_TRANSITIONS = {
    State.FOLLOWING: {State.LEADING, State.STOPPED},
    State.LEADING: {State.STOPPED},
    State.STOPPED: set(),
}


def _micro_time() -> str:
    """metav1.MicroTime: RFC 3339 with microseconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, api: ApiClient, name: str, namespace: str, identity: str, *,
                 lease_duration: float = 15.0, renew_deadline: float = 10.0, retry_period: float = 2.0,
                 release_on_stop: bool = True) -> None:
        if not 0 < retry_period < renew_deadline < lease_duration:
            raise ValueError("need 0 < retry_period < renew_deadline < lease_duration")
        if not identity:
            raise ValueError("a candidate needs a non-empty identity")
        self.api = api
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_on_stop = release_on_stop
        self.state = State.FOLLOWING
        self._observed: tuple[Any, ...] | None = None  # (holder, renewTime, transitions) last seen
        self._observed_at = 0.0  # loop time at which that content was first seen

    def _move(self, new: State) -> None:
        if new not in _TRANSITIONS[self.state]:
            raise RuntimeError(f"leader election cannot go from {self.state.value} to {new.value}")
        log.info("leader election state", extra={"lease": f"{self.namespace}/{self.name}",
                                                  "identity": self.identity, "state": new.value})
        self.state = new

    @property
    def is_leader(self) -> bool:
        return self.state is State.LEADING

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _observe(self, spec: dict[str, Any]) -> None:
        record = (spec.get("holderIdentity"), spec.get("renewTime"), spec.get("leaseTransitions"))
        if record != self._observed:
            self._observed = record
            self._observed_at = self._now()

    def _spec(self, previous: dict[str, Any] | None) -> dict[str, Any]:
        now = _micro_time()
        prev = previous or {}
        ours = prev.get("holderIdentity") == self.identity
        transitions = int(prev.get("leaseTransitions") or 0)
        if previous is not None and not ours:
            transitions += 1
        return {"holderIdentity": self.identity, "leaseDurationSeconds": max(1, round(self.lease_duration)),
                "acquireTime": prev.get("acquireTime") if ours and prev.get("acquireTime") else now,
                "renewTime": now, "leaseTransitions": transitions}

    async def try_acquire_or_renew(self) -> bool:
        """One attempt; True when we hold the Lease afterwards."""
        try:
            lease = await self.api.get(LEASES, self.name, self.namespace)
        except NotFound:
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace}, "spec": self._spec(None)}
            try:
                created = await self.api.create(LEASES, body, self.namespace)
            except AlreadyExists:
                return False
            self._observe(created.get("spec") or {})
            return True
        spec = lease.get("spec") or {}
        self._observe(spec)
        holder = spec.get("holderIdentity")
        expired = self._now() - self._observed_at >= float(spec.get("leaseDurationSeconds") or self.lease_duration)
        if holder and holder != self.identity and not expired:
            return False
        desired = deep_copy(lease)
        desired["spec"] = {**spec, **self._spec(spec)}
        try:
            updated = await self.api.update(LEASES, desired, self.namespace)
        except Conflict:
            return False
        self._observe(updated.get("spec") or {})
        return True

    async def _sleep_jittered(self) -> None:
        await asyncio.sleep(self.retry_period * random.uniform(1.0, 1.2))

    async def _attempt(self) -> bool:
        try:
            return await self.try_acquire_or_renew()
        except ClientError as e:
            log.warning("leader election attempt failed", extra={"lease": f"{self.namespace}/{self.name}",
                                                                 "error": str(e)})
            return False

    async def run(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Wait to become leader, run ``work`` while leading; return when it ends or leadership is lost."""
        if self.state is not State.FOLLOWING:
            raise RuntimeError("a LeaderElector runs once; make a new one")
        try:
            while not await self._attempt():
                await self._sleep_jittered()
            self._move(State.LEADING)
            task: asyncio.Task[None] = asyncio.create_task(work(), name=f"leader-{self.name}")
            renewer = asyncio.create_task(self._renew_until_lost(), name=f"renew-{self.name}")
            try:
                await asyncio.wait({task, renewer}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for t in (task, renewer):
                    t.cancel()
                for t in (task, renewer):
                    with contextlib.suppress(asyncio.CancelledError):
                        await t
        finally:
            state: State = self.state  # (read afresh: the awaits above may have moved it)
            was_leading = state is State.LEADING
            if state is not State.STOPPED:
                self._move(State.STOPPED)
            if was_leading and self.release_on_stop:
                await asyncio.shield(self._release())

    async def _renew_until_lost(self) -> None:
        """Renew every retry_period; return (= stop leading) once renewals fail for renew_deadline.

        Each attempt is cut off at the deadline, so a hung connection cannot keep us "leading"
        past the point where another candidate may already have taken over.
        """
        last_renew = self._now()
        lease_name = f"{self.namespace}/{self.name}"
        while True:
            await self._sleep_jittered()
            remaining = self.renew_deadline - (self._now() - last_renew)
            renewed = False
            if remaining > 0:
                # asyncio.timeout, not wait_for: 3.11's wait_for loses a cancellation that lands as
                # the attempt completes, and this loop would then outlive the elector that stopped.
                try:
                    async with asyncio.timeout(remaining):
                        renewed = await self._attempt()
                except TimeoutError:
                    renewed = False
            if renewed:
                last_renew = self._now()
                continue
            remaining = self.renew_deadline - (self._now() - last_renew)
            if remaining <= 0:
                log.error("lost leadership: could not renew the lease in time",
                          extra={"lease": lease_name, "identity": self.identity})
                return
            try:
                async with asyncio.timeout(remaining):
                    lease = await self.api.get(LEASES, self.name, self.namespace)
            except (ClientError, TimeoutError):
                continue
            holder = (lease.get("spec") or {}).get("holderIdentity")
            if holder and holder != self.identity:
                log.error("lost leadership: the lease has another holder", extra={"lease": lease_name,
                                                                                   "holder": holder})
                return

    async def _release(self) -> None:
        """Clear the holder if it is still us, so a successor need not wait for expiry."""
        try:
            lease = await self.api.get(LEASES, self.name, self.namespace)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            desired = deep_copy(lease)
            desired["spec"] = {**spec, "holderIdentity": None, "leaseDurationSeconds": 1, "renewTime": _micro_time()}
            await self.api.update(LEASES, desired, self.namespace)
        except ClientError as e:
            log.warning("could not release the lease", extra={"lease": f"{self.namespace}/{self.name}",
                                                              "error": str(e)})
