"""The one LRU keeps the most recently used entries up to its capacity, and is safe to share."""

from __future__ import annotations

import threading

from textloop.lru import LRU


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the oldest
    cache.put("c", 3)
    assert "b" not in cache
    assert (cache.get("a"), cache.get("c"), len(cache)) == (1, 3, 2)


def test_a_batch_is_read_and_written_at_once() -> None:
    cache: LRU[str, int] = LRU(3)
    cache.put_many([("a", 1), ("b", 2), ("c", 3)])
    assert cache.get_many(["c", "x", "a"]) == {"c": 3, "a": 1}  # "b" is now the oldest
    cache.put_many([("d", 4)])
    assert cache.get_many(["a", "b", "c", "d"]) == {"a": 1, "c": 3, "d": 4}


def test_writing_a_held_key_refreshes_it() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    cache.put("c", 3)
    assert cache.get_many(["a", "b", "c"]) == {"a": 10, "c": 3}


def test_asking_whether_a_key_is_held_does_not_count_as_a_use() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put_many([("a", 1), ("b", 2)])
    assert "a" in cache
    cache.put("c", 3)
    assert "a" not in cache


def test_a_capacity_of_zero_keeps_nothing() -> None:
    cache: LRU[str, int] = LRU(0)
    cache.put("a", 1)
    assert cache.get("a") is None and len(cache) == 0


def test_threads_sharing_one_cache_never_leave_it_over_capacity() -> None:
    cache: LRU[int, int] = LRU(50)

    def churn(offset: int) -> None:
        for i in range(2000):
            cache.put_many([(offset + i, i), (offset + i + 1, i)])
            cache.get_many(range(offset + i - 10, offset + i))

    threads = [threading.Thread(target=churn, args=(n * 10_000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50


def test_the_values_held_are_listed_oldest_first_without_counting_as_uses() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put_many([("a", 1), ("b", 2)])
    assert cache.values() == [1, 2]
    cache.put("c", 3)
    assert cache.values() == [2, 3]
