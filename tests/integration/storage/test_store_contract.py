"""The Store contract, specified once and run against every backend (SQLite and etcd)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from apiserver.storage.interface import (
    Compacted,
    Event,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    RevisionConflict,
    Store,
)

WATCH_SETTLE = 0.5  # time for a watch from "now" to be registered before the test writes


async def take(events: AsyncIterator[Event], n: int, timeout: float = 10.0) -> list[Event]:
    out: list[Event] = []
    async with asyncio.timeout(timeout):
        async for ev in events:
            out.append(ev)
            if len(out) == n:
                break
    return out


async def nothing_more(events: AsyncIterator[Event], wait: float = 0.5) -> bool:
    try:
        async with asyncio.timeout(wait):
            await anext(events)
    except TimeoutError:
        return True
    return False


def summary(events: list[Event]) -> list[tuple[str, str, bytes]]:
    return [(e.type, e.kv.key, e.kv.value) for e in events]


# ---- create / get / update / delete ----


def test_create_returns_a_new_revision_that_get_reads_back(backend):
    async def scenario(store: Store) -> None:
        before = await store.current_revision()
        kv = await store.create(backend.key("a"), b'{"n":1}')
        assert kv.mod_revision == kv.create_revision > before
        assert await store.current_revision() == kv.mod_revision
        got, rev = await store.get(backend.key("a"))
        assert got == kv
        assert rev == kv.mod_revision

    backend.run(scenario)


def test_create_of_an_existing_key_raises_key_exists(backend):
    async def scenario(store: Store) -> None:
        await store.create(backend.key("a"), b"1")
        with pytest.raises(KeyExists):
            await store.create(backend.key("a"), b"2")
        got, _ = await store.get(backend.key("a"))
        assert got is not None and got.value == b"1"

    backend.run(scenario)


def test_create_after_delete_starts_a_new_life_with_a_new_create_revision(backend):
    async def scenario(store: Store) -> None:
        first = await store.create(backend.key("a"), b"1")
        await store.delete(backend.key("a"))
        second = await store.create(backend.key("a"), b"2")
        assert second.create_revision > first.create_revision
        assert (await store.get(backend.key("a")))[0] == second

    backend.run(scenario)


def test_get_of_a_missing_key_returns_none_and_the_current_revision(backend):
    async def scenario(store: Store) -> None:
        await store.create(backend.key("other"), b"x")
        got, rev = await store.get(backend.key("missing"))
        assert got is None
        assert rev == await store.current_revision()

    backend.run(scenario)


def test_update_with_the_current_revision_replaces_the_value_and_keeps_create_revision(backend):
    async def scenario(store: Store) -> None:
        created = await store.create(backend.key("a"), b"1")
        updated = await store.update(backend.key("a"), b"2", created.mod_revision)
        assert updated.value == b"2"
        assert updated.create_revision == created.create_revision
        assert updated.mod_revision > created.mod_revision
        assert (await store.get(backend.key("a")))[0] == updated

    backend.run(scenario)


def test_update_with_a_stale_revision_raises_conflict_carrying_the_current_value(backend):
    async def scenario(store: Store) -> None:
        created = await store.create(backend.key("a"), b"1")
        updated = await store.update(backend.key("a"), b"2", created.mod_revision)
        with pytest.raises(RevisionConflict) as info:
            await store.update(backend.key("a"), b"3", created.mod_revision)
        assert info.value.current == updated
        assert (await store.get(backend.key("a")))[0] == updated

    backend.run(scenario)


def test_update_with_expected_revision_zero_is_unconditional(backend):
    async def scenario(store: Store) -> None:
        await store.create(backend.key("a"), b"1")
        await store.update(backend.key("a"), b"2", 0)
        updated = await store.update(backend.key("a"), b"3", 0)
        assert (await store.get(backend.key("a")))[0] == updated

    backend.run(scenario)


def test_update_of_a_missing_key_raises_not_found(backend):
    async def scenario(store: Store) -> None:
        with pytest.raises(KeyNotFound):
            await store.update(backend.key("missing"), b"1", 0)
        with pytest.raises(KeyNotFound):
            await store.update(backend.key("missing"), b"1", 5)

    backend.run(scenario)


def test_delete_returns_the_last_value_at_the_delete_revision(backend):
    async def scenario(store: Store) -> None:
        created = await store.create(backend.key("a"), b"1")
        deleted = await store.delete(backend.key("a"), created.mod_revision)
        assert deleted.key == backend.key("a")
        assert deleted.value == b"1"
        assert deleted.create_revision == created.create_revision
        assert deleted.mod_revision > created.mod_revision
        assert await store.current_revision() == deleted.mod_revision
        assert (await store.get(backend.key("a")))[0] is None

    backend.run(scenario)


def test_delete_with_a_stale_revision_conflicts_and_keeps_the_key(backend):
    async def scenario(store: Store) -> None:
        created = await store.create(backend.key("a"), b"1")
        updated = await store.update(backend.key("a"), b"2", created.mod_revision)
        with pytest.raises(RevisionConflict) as info:
            await store.delete(backend.key("a"), created.mod_revision)
        assert info.value.current == updated
        assert (await store.get(backend.key("a")))[0] == updated

    backend.run(scenario)


def test_delete_of_a_missing_key_raises_not_found(backend):
    async def scenario(store: Store) -> None:
        with pytest.raises(KeyNotFound):
            await store.delete(backend.key("missing"))
        await store.create(backend.key("a"), b"1")
        await store.delete(backend.key("a"))
        with pytest.raises(KeyNotFound):
            await store.delete(backend.key("a"))

    backend.run(scenario)


def test_get_at_an_old_revision_returns_the_value_then(backend):
    async def scenario(store: Store) -> None:
        v1 = await store.create(backend.key("a"), b"1")
        v2 = await store.update(backend.key("a"), b"2", v1.mod_revision)
        gone = await store.delete(backend.key("a"))
        assert await store.get(backend.key("a"), v1.mod_revision) == (v1, v1.mod_revision)
        assert await store.get(backend.key("a"), v2.mod_revision) == (v2, v2.mod_revision)
        assert await store.get(backend.key("a"), gone.mod_revision) == (None, gone.mod_revision)

    backend.run(scenario)


def test_reads_at_a_future_revision_are_refused(backend):
    async def scenario(store: Store) -> None:
        await store.create(backend.key("a"), b"1")
        future = await store.current_revision() + 1000
        with pytest.raises(FutureRevision):
            await store.get(backend.key("a"), future)
        with pytest.raises(FutureRevision):
            await store.list(backend.prefix, future)

    backend.run(scenario)


# ---- list / count ----


def test_list_returns_live_keys_under_the_prefix_sorted_by_key(backend):
    async def scenario(store: Store) -> None:
        for name in ["c", "a", "b", "gone"]:
            await store.create(backend.key("pods", name), name.encode())
        await store.delete(backend.key("pods", "gone"))
        await store.create(backend.key("podsx", "z"), b"not under pods/")
        items, rev, more = await store.list(backend.key("pods", ""))
        assert [kv.key for kv in items] == [backend.key("pods", n) for n in ["a", "b", "c"]]
        assert [kv.value for kv in items] == [b"a", b"b", b"c"]
        assert rev == await store.current_revision()
        assert more is False

    backend.run(scenario)


def test_list_with_limit_and_start_key_pages_through_one_revision(backend):
    async def scenario(store: Store) -> None:
        names = [f"p{i:02d}" for i in range(7)]
        for name in names:
            await store.create(backend.key(name), b"v")
        page, rev, more = await store.list(backend.prefix, limit=3)
        seen = [kv.key for kv in page]
        assert more is True
        # writes after the first page must not show up in later pages read at its revision
        await store.create(backend.key("p03a"), b"late")
        await store.delete(backend.key("p05"))
        while more:
            page, page_rev, more = await store.list(backend.prefix, rev, start_key=seen[-1] + "\x00", limit=3)
            assert page_rev == rev
            seen += [kv.key for kv in page]
        assert seen == [backend.key(n) for n in names]

    backend.run(scenario)


def test_list_at_a_revision_shows_the_state_then(backend):
    async def scenario(store: Store) -> None:
        a = await store.create(backend.key("a"), b"1")
        b = await store.create(backend.key("b"), b"1")
        await store.update(backend.key("a"), b"2", a.mod_revision)
        await store.delete(backend.key("b"))
        await store.create(backend.key("c"), b"1")
        items, rev, _ = await store.list(backend.prefix, b.mod_revision)
        assert rev == b.mod_revision
        assert items == [a, b]

    backend.run(scenario)


def test_count_counts_live_keys_under_the_prefix(backend):
    async def scenario(store: Store) -> None:
        assert await store.count(backend.prefix) == 0
        for i in range(5):
            await store.create(backend.key(f"k{i}"), b"v")
        await store.delete(backend.key("k0"))
        await store.create(backend.prefix.rstrip("/") + "x/other", b"v")
        assert await store.count(backend.prefix) == 4

    backend.run(scenario)


# ---- revisions under concurrency ----


def test_every_write_gets_a_strictly_greater_revision(backend):
    async def scenario(store: Store) -> None:
        revs = [(await store.create(backend.key("a"), b"0")).mod_revision]
        for i in range(5):
            revs.append((await store.update(backend.key("a"), str(i).encode(), revs[-1])).mod_revision)
        revs.append((await store.delete(backend.key("a"))).mod_revision)
        revs.append((await store.create(backend.key("a"), b"again")).mod_revision)
        assert revs == sorted(set(revs))

    backend.run(scenario)


def test_concurrent_writers_get_distinct_revisions_and_lose_no_write(backend):
    async def scenario(store: Store) -> None:
        start = await store.current_revision() + 1
        watch = store.watch(backend.prefix, start)
        n = 200
        created = await asyncio.gather(
            *(store.create(backend.key(f"k{i:03d}"), str(i).encode()) for i in range(n))
        )
        revs = sorted(kv.mod_revision for kv in created)
        assert revs == list(range(start, start + n))  # no duplicates, no holes
        items, _, _ = await store.list(backend.prefix)
        assert len(items) == n
        events = await take(watch, n)
        assert [e.revision for e in events] == revs
        assert {e.kv.key for e in events} == {kv.key for kv in created}

    backend.run(scenario)


def test_concurrent_updates_from_one_revision_let_exactly_one_win(backend):
    async def scenario(store: Store) -> None:
        base = await store.create(backend.key("a"), b"0")
        results = await asyncio.gather(
            *(store.update(backend.key("a"), str(i).encode(), base.mod_revision) for i in range(20)),
            return_exceptions=True,
        )
        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, BaseException)]
        assert len(winners) == 1
        assert all(isinstance(e, RevisionConflict) for e in losers)
        assert (await store.get(backend.key("a")))[0] == winners[0]

    backend.run(scenario)


# ---- watch ----


def test_watch_from_a_revision_replays_history_then_follows_live_writes(backend):
    async def scenario(store: Store) -> None:
        a = await store.create(backend.key("a"), b"1")
        await store.update(backend.key("a"), b"2", a.mod_revision)
        watch = store.watch(backend.prefix, a.mod_revision)
        history = await take(watch, 2)
        assert summary(history) == [("PUT", backend.key("a"), b"1"), ("PUT", backend.key("a"), b"2")]
        live = await store.create(backend.key("b"), b"3")
        (event,) = await take(watch, 1)
        assert event.kv == live
        assert event.prev_kv is None

    backend.run(scenario)


def test_watch_from_zero_sees_only_writes_made_after_it_started(backend):
    async def scenario(store: Store) -> None:
        await store.create(backend.key("before"), b"old")
        watch = store.watch(backend.prefix, 0)
        first = asyncio.ensure_future(anext(watch))
        await asyncio.sleep(WATCH_SETTLE)
        after = await store.create(backend.key("after"), b"new")
        event = await asyncio.wait_for(first, 10)
        assert event.kv == after
        await watch.aclose()

    backend.run(scenario)


def test_watch_events_are_in_revision_order_and_carry_the_previous_value(backend):
    async def scenario(store: Store) -> None:
        start = await store.current_revision() + 1
        watch = store.watch(backend.prefix, start)
        v1 = await store.create(backend.key("a"), b"1")
        v2 = await store.update(backend.key("a"), b"2", v1.mod_revision)
        events = await take(watch, 2)
        assert [e.revision for e in events] == [v1.mod_revision, v2.mod_revision]
        assert events[0].prev_kv is None
        assert events[1].kv == v2
        assert events[1].prev_kv == v1

    backend.run(scenario)


def test_watch_reports_a_delete_with_the_last_value_at_the_delete_revision(backend):
    async def scenario(store: Store) -> None:
        start = await store.current_revision() + 1
        watch = store.watch(backend.prefix, start)
        created = await store.create(backend.key("a"), b"last")
        deleted = await store.delete(backend.key("a"))
        put, delete = await take(watch, 2)
        assert put.type == "PUT"
        assert delete.type == "DELETE"
        assert delete.kv == deleted
        assert delete.kv.value == b"last"
        assert delete.revision == deleted.mod_revision
        assert delete.prev_kv is not None and delete.prev_kv.mod_revision == created.mod_revision

    backend.run(scenario)


def test_watch_sees_only_its_prefix(backend):
    async def scenario(store: Store) -> None:
        start = await store.current_revision() + 1
        watch = store.watch(backend.key("pods", ""), start)
        await store.create(backend.key("podsx", "a"), b"no")
        await store.create(backend.key("services", "a"), b"no")
        mine = await store.create(backend.key("pods", "a"), b"yes")
        (event,) = await take(watch, 1)
        assert event.kv == mine
        assert await nothing_more(watch)

    backend.run(scenario)


def test_closing_the_store_ends_its_watches(backend):
    async def scenario(store: Store) -> None:
        watch = store.watch(backend.prefix, 0)
        pending = asyncio.ensure_future(anext(watch, None))
        await asyncio.sleep(WATCH_SETTLE)
        await store.close()
        assert await asyncio.wait_for(pending, 10) is None

    backend.run(scenario)


def test_two_store_instances_see_each_others_writes_in_their_watches(backend):
    async def scenario(one: Store, two: Store) -> None:
        start = await one.current_revision() + 1
        watch_one = one.watch(backend.prefix, start)
        watch_two = two.watch(backend.prefix, start)
        a = await one.create(backend.key("from-one"), b"1")
        b = await two.create(backend.key("from-two"), b"2")
        assert [e.kv for e in await take(watch_one, 2)] == [a, b]
        assert [e.kv for e in await take(watch_two, 2)] == [a, b]
        assert (await two.get(backend.key("from-one")))[0] == a

    backend.run(scenario, stores=2)


# ---- compaction ----


def test_compaction_makes_reads_below_the_compacted_revision_raise_compacted(backend):
    async def scenario(store: Store) -> None:
        v1 = await store.create(backend.key("a"), b"1")
        v2 = await store.update(backend.key("a"), b"2", v1.mod_revision)
        await store.create(backend.key("b"), b"1")
        target = await store.current_revision()
        await store.compact(target)
        assert await store.compacted_revision() == target
        with pytest.raises(Compacted) as info:
            await store.get(backend.key("a"), v1.mod_revision)
        assert info.value.compact_revision == target
        assert info.value.current_revision >= target
        with pytest.raises(Compacted):
            await store.list(backend.prefix, v2.mod_revision)
        # the state at the compacted revision itself stays readable
        assert (await store.get(backend.key("a"), target))[0] == v2
        items, _, _ = await store.list(backend.prefix, target)
        assert [kv.key for kv in items] == [backend.key("a"), backend.key("b")]

    backend.run(scenario)


def test_compaction_keeps_latest_values_and_deleted_keys_stay_deleted(backend):
    async def scenario(store: Store) -> None:
        keep = await store.create(backend.key("keep"), b"1")
        keep = await store.update(backend.key("keep"), b"2", keep.mod_revision)
        await store.create(backend.key("drop"), b"1")
        await store.delete(backend.key("drop"))
        await store.compact(await store.current_revision())
        items, _, _ = await store.list(backend.prefix)
        assert items == [keep]
        recreated = await store.create(backend.key("drop"), b"again")
        assert (await store.get(backend.key("drop")))[0] == recreated
        assert (await store.update(backend.key("keep"), b"3", keep.mod_revision)).value == b"3"

    backend.run(scenario)


def test_watch_from_at_or_below_the_compacted_revision_raises_compacted(backend):
    async def scenario(store: Store) -> None:
        first = await store.create(backend.key("a"), b"1")
        await store.update(backend.key("a"), b"2", first.mod_revision)
        target = await store.current_revision()
        await store.compact(target)
        for start in (first.mod_revision, target):
            with pytest.raises(Compacted) as info:
                await anext(store.watch(backend.prefix, start))
            assert info.value.compact_revision == target

    backend.run(scenario)


def test_watch_from_just_after_the_compacted_revision_works(backend):
    async def scenario(store: Store) -> None:
        await store.create(backend.key("a"), b"1")
        target = await store.current_revision()
        await store.compact(target)
        watch = store.watch(backend.prefix, target + 1)
        later = await store.create(backend.key("b"), b"2")
        (event,) = await take(watch, 1)
        assert event.kv == later

    backend.run(scenario)


def test_compacting_an_older_revision_again_is_a_no_op(backend):
    async def scenario(store: Store) -> None:
        await store.create(backend.key("a"), b"1")
        first = await store.current_revision()
        await store.compact(first)
        await store.create(backend.key("b"), b"1")
        await store.compact(first - 1)
        await store.compact(first)
        assert await store.compacted_revision() == first

    backend.run(scenario)


def test_a_compaction_through_one_store_instance_is_seen_by_another(backend):
    async def scenario(one: Store, two: Store) -> None:
        for round_ in range(2):
            await one.create(backend.key(f"k{round_}"), b"v")
            target = await one.current_revision()
            await one.compact(target)
            assert await two.compacted_revision() == target
            with pytest.raises(Compacted):
                await anext(two.watch(backend.prefix, target))

    backend.run(scenario, stores=2)


def test_a_live_watcher_misses_nothing_while_compaction_runs_behind_it(backend):
    async def scenario(store: Store) -> None:
        start = await store.current_revision() + 1
        watch = store.watch(backend.prefix, start)
        received: list[Event] = []

        async def consume() -> None:
            async for ev in watch:
                received.append(ev)
                if len(received) == 200:
                    return

        consumer = asyncio.ensure_future(consume())
        revs = {0: (await store.create(backend.key("k0"), b"0")).mod_revision}
        async with asyncio.timeout(10):  # the watcher has caught up with the log
            while not received:
                await asyncio.sleep(0.01)
        for i in range(1, 10):
            revs[i] = (await store.create(backend.key(f"k{i}"), b"0")).mod_revision
        for n in range(190):
            i = n % 10
            revs[i] = (await store.update(backend.key(f"k{i}"), str(n).encode(), revs[i])).mod_revision
            if n % 40 == 39:
                await store.compact(await store.current_revision())
        await asyncio.wait_for(consumer, 20)
        assert [e.revision for e in received] == list(range(start, start + 200))

    backend.run(scenario)
