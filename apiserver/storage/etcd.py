"""The etcd backend: the Store contract over etcd's v3 gRPC API.

etcd already is a revision log, so this is a thin mapping. It speaks gRPC through the stubs
generated from etcd's API protos that ship with the ``aetcd`` client (the PyPI ``etcd3``
client breaks with current protobuf), and uses its own small wrappers for what aetcd's
high-level calls leave out (reads pinned to a revision, limits, count-only ranges, compare
results, watch cancel reasons).

- Keys map 1:1 to etcd keys; a prefix is the range [prefix, prefix_end).
- create: Txn(create_revision(key) == 0) put; update: Txn(mod_revision(key) == expected, or
  create_revision > 0 when unconditional) put with prev_kv; delete the same with delete_range.
  A failed compare reads the key in the same Txn to tell KeyNotFound from RevisionConflict.
- Reads pinned to a revision use Range(revision=...); etcd refuses revisions below its
  compacted revision ("required revision has been compacted") -> Compacted.
- watch opens one Watch stream per call with prev_kv, so DELETE events carry the last value.
  etcd refuses a watch that starts *below* the compacted revision, while the contract refuses
  one that starts *at or below* it (a delete at the compacted revision itself is gone), so a
  watch into history is opened one revision early and that revision's events are dropped.
- etcd does not report its compacted revision directly; ``compacted_revision`` finds it by
  bisection with Range calls pinned to revisions, which fail below it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

import grpc
from aetcd import rpc

from apiserver.storage.interface import (
    Compacted,
    Event,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionConflict,
    StorageError,
    Store,
    Unavailable,
)
from apiserver.storage.keys import prefix_end, range_start

log = logging.getLogger(__name__)

T = TypeVar("T")

_PROBE_KEY = b"\x00kyb-probe"
_ALL = b"\x00"


class _RevisionCompacted(Exception):
    """etcd said the pinned revision is compacted; the caller builds the full Compacted."""


def grpc_target(endpoints: list[tuple[str, int]]) -> str:
    """One gRPC target naming every endpoint, so the channel fails over between members."""
    v4: list[str] = []
    v6: list[str] = []
    for host, port in endpoints:
        try:
            ip = ipaddress.ip_address(host)
            addrs = [str(ip)]
        except ValueError:
            addrs = sorted(
                {str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
            )
        for addr in addrs:
            if ipaddress.ip_address(addr).version == 4:
                v4.append(f"{addr}:{port}")
            else:
                v6.append(f"[{addr}]:{port}")
    if v4:
        return "ipv4:" + ",".join(v4)
    if v6:
        return "ipv6:" + ",".join(v6)
    raise Unavailable(f"no address for etcd endpoints {endpoints}")


def _map_rpc_error(e: grpc.aio.AioRpcError) -> Exception:
    details = e.details() or ""
    if "required revision has been compacted" in details:
        return _RevisionCompacted(details)
    if "future revision" in details:
        return FutureRevision(0, 0)
    if e.code() in (
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
    ):
        return Unavailable(f"etcd unavailable: {e.code().name}: {details}")
    return StorageError(f"etcd error: {e.code().name}: {details}")


def _kv(pb: rpc.KeyValue) -> KeyValue:
    return KeyValue(pb.key.decode(), bytes(pb.value), pb.create_revision, pb.mod_revision)


def _event(pb: rpc.Event) -> Event:
    prev = _kv(pb.prev_kv) if pb.HasField("prev_kv") and pb.prev_kv.key else None
    if pb.type == rpc.Event.DELETE:
        value = prev.value if prev else b""
        create_rev = prev.create_revision if prev else 0
        return Event("DELETE", KeyValue(pb.kv.key.decode(), value, create_rev, pb.kv.mod_revision), prev)
    return Event("PUT", _kv(pb.kv), prev)


def _key_range(prefix: str, start_key: str = "") -> tuple[bytes, bytes]:
    start = range_start(prefix, start_key).encode() or _ALL
    return start, prefix_end(prefix.encode()) or _ALL


class EtcdStore(Store):
    def __init__(self, endpoints: list[tuple[str, int]], timeout: float = 10.0) -> None:
        self._endpoints = endpoints
        self._timeout = timeout
        self._channel: grpc.aio.Channel | None = None
        self._kv_stub: rpc.KVStub | None = None
        self._watch_stub: rpc.WatchStub | None = None
        self._watch_calls: set[grpc.aio.StreamStreamCall] = set()
        self._compacted_hint = 0
        self._closed = False

    async def start(self) -> None:
        self._channel = grpc.aio.insecure_channel(
            grpc_target(self._endpoints),
            options=[("grpc.max_receive_message_length", 256 * 1024 * 1024)],
        )
        self._kv_stub = rpc.KVStub(self._channel)
        self._watch_stub = rpc.WatchStub(self._channel)
        try:
            await asyncio.wait_for(self._channel.channel_ready(), self._timeout)
        except TimeoutError as e:
            await self._channel.close()
            raise Unavailable(f"cannot reach etcd at {self._endpoints} within {self._timeout}s") from e
        await self.current_revision()

    async def close(self) -> None:
        self._closed = True
        for call in list(self._watch_calls):
            call.cancel()
        if self._channel is not None:
            await self._channel.close()

    @property
    def _kv(self) -> rpc.KVStub:
        if self._kv_stub is None or self._closed:
            raise Unavailable("etcd store is not started or closed")
        return self._kv_stub

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except grpc.aio.AioRpcError as e:
            raise _map_rpc_error(e) from e

    async def _range(self, req: rpc.RangeRequest) -> rpc.RangeResponse:
        try:
            return await self._call(self._kv.Range(req, timeout=self._timeout))
        except _RevisionCompacted as e:
            raise Compacted(
                req.revision, await self.compacted_revision(), await self.current_revision()
            ) from e
        except FutureRevision as e:
            raise FutureRevision(req.revision, await self.current_revision()) from e

    # ---- reads ----

    async def current_revision(self) -> int:
        resp = await self._call(
            self._kv.Range(rpc.RangeRequest(key=_PROBE_KEY, keys_only=True), timeout=self._timeout)
        )
        return resp.header.revision

    async def _readable(self, revision: int) -> bool:
        try:
            await self._call(
                self._kv.Range(
                    rpc.RangeRequest(key=_PROBE_KEY, revision=revision, keys_only=True), timeout=self._timeout
                )
            )
        except _RevisionCompacted:
            return False
        return True

    async def compacted_revision(self) -> int:
        """The lowest revision still readable, if reads below it fail; 0 if nothing is compacted.

        The last answer is remembered: compaction only moves forward, so if a read at the
        remembered revision still works, it is still the answer (one Range call). Otherwise the
        answer is found by bisection between it and the current revision.
        """
        known = self._compacted_hint
        if await self._readable(known or 1):
            return known
        refused = known or 1  # reads here fail
        readable = await self.current_revision()  # a read here always works
        while readable - refused > 1:
            mid = (readable + refused) // 2
            if await self._readable(mid):
                readable = mid
            else:
                refused = mid
        self._compacted_hint = max(self._compacted_hint, readable)
        return readable

    async def get(self, key: str, revision: int = 0) -> tuple[KeyValue | None, int]:
        resp = await self._range(rpc.RangeRequest(key=key.encode(), revision=revision))
        return (_kv(resp.kvs[0]) if resp.kvs else None), revision or resp.header.revision

    async def list(
        self, prefix: str, revision: int = 0, start_key: str = "", limit: int = 0
    ) -> tuple[list[KeyValue], int, bool]:
        key, end = _key_range(prefix, start_key)
        resp = await self._range(rpc.RangeRequest(key=key, range_end=end, revision=revision, limit=limit))
        return [_kv(kv) for kv in resp.kvs], revision or resp.header.revision, bool(resp.more)

    async def count(self, prefix: str) -> int:
        key, end = _key_range(prefix)
        resp = await self._range(rpc.RangeRequest(key=key, range_end=end, count_only=True))
        return int(resp.count)

    # ---- writes ----

    async def _txn(self, req: rpc.TxnRequest) -> rpc.TxnResponse:
        return await self._call(self._kv.Txn(req, timeout=self._timeout))

    @staticmethod
    def _guard(key: bytes, expected_mod_revision: int) -> rpc.Compare:
        if expected_mod_revision:
            return rpc.Compare(
                key=key, target=rpc.Compare.MOD, result=rpc.Compare.EQUAL, mod_revision=expected_mod_revision
            )
        return rpc.Compare(key=key, target=rpc.Compare.CREATE, result=rpc.Compare.GREATER, create_revision=0)

    @staticmethod
    def _failed_write(key: str, expected: int, resp: rpc.TxnResponse) -> StorageError:
        kvs = resp.responses[0].response_range.kvs
        if not kvs:
            return KeyNotFound(key)
        return RevisionConflict(key, expected, _kv(kvs[0]))

    async def create(self, key: str, value: bytes) -> KeyValue:
        k = key.encode()
        resp = await self._txn(
            rpc.TxnRequest(
                compare=[
                    rpc.Compare(key=k, target=rpc.Compare.CREATE, result=rpc.Compare.EQUAL, create_revision=0)
                ],
                success=[rpc.RequestOp(request_put=rpc.PutRequest(key=k, value=value))],
            )
        )
        if not resp.succeeded:
            raise KeyExists(key)
        rev = resp.header.revision
        return KeyValue(key, value, rev, rev)

    async def update(self, key: str, value: bytes, expected_mod_revision: int) -> KeyValue:
        k = key.encode()
        resp = await self._txn(
            rpc.TxnRequest(
                compare=[self._guard(k, expected_mod_revision)],
                success=[rpc.RequestOp(request_put=rpc.PutRequest(key=k, value=value, prev_kv=True))],
                failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=k))],
            )
        )
        if not resp.succeeded:
            raise self._failed_write(key, expected_mod_revision, resp)
        prev = resp.responses[0].response_put.prev_kv
        return KeyValue(key, value, prev.create_revision, resp.header.revision)

    async def delete(self, key: str, expected_mod_revision: int = 0) -> KeyValue:
        k = key.encode()
        resp = await self._txn(
            rpc.TxnRequest(
                compare=[self._guard(k, expected_mod_revision)],
                success=[rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=k, prev_kv=True))],
                failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=k))],
            )
        )
        if not resp.succeeded:
            raise self._failed_write(key, expected_mod_revision, resp)
        prev = resp.responses[0].response_delete_range.prev_kvs[0]
        return KeyValue(key, bytes(prev.value), prev.create_revision, resp.header.revision)

    # ---- compaction ----

    async def compact(self, revision: int) -> None:
        try:
            await self._call(
                self._kv.Compact(
                    rpc.CompactionRequest(revision=revision, physical=True), timeout=self._timeout
                )
            )
        except _RevisionCompacted:
            return  # already compacted at or past it
        except FutureRevision as e:
            raise FutureRevision(revision, await self.current_revision()) from e
        self._compacted_hint = max(self._compacted_hint, revision)

    # ---- watch ----

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[Event]:
        return self._watch(prefix, start_revision)

    async def _watch(self, prefix: str, start_revision: int) -> AsyncIterator[Event]:
        if self._closed or self._watch_stub is None:
            raise Unavailable("etcd store is not started or closed")
        key, end = _key_range(prefix)
        etcd_start = start_revision
        if start_revision > 1 and start_revision <= await self.current_revision():
            # History is asked for: open one revision early so a start at the compacted revision
            # is refused. A start in the future needs no check, and etcd then counts the watcher
            # as caught up at once instead of syncing it in the background.
            etcd_start = start_revision - 1
        call = self._watch_stub.Watch()
        self._watch_calls.add(call)
        try:
            await call.write(
                rpc.WatchRequest(
                    create_request=rpc.WatchCreateRequest(
                        key=key, range_end=end, start_revision=etcd_start, prev_kv=True
                    )
                )
            )
            while True:
                resp = await call.read()
                if resp is grpc.aio.EOF:
                    raise Unavailable("etcd closed the watch stream")
                if resp.compact_revision:
                    current = resp.header.revision or await self.current_revision()
                    raise Compacted(start_revision, resp.compact_revision, current)
                if resp.canceled:
                    raise Unavailable(f"etcd cancelled the watch: {resp.cancel_reason or 'no reason given'}")
                for pb in resp.events:
                    if pb.kv.mod_revision >= start_revision:
                        yield _event(pb)
        except grpc.aio.AioRpcError as e:
            err = _map_rpc_error(e)
            if isinstance(err, _RevisionCompacted):
                raise Compacted(
                    start_revision, await self.compacted_revision(), await self.current_revision()
                ) from e
            raise err from e
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._closed and task is not None and not task.cancelling():
                return  # the store was closed: end the watch quietly
            raise
        finally:
            self._watch_calls.discard(call)
            call.cancel()
