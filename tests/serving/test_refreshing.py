"""The one refreshing cache behind keys and deployments: an entry is answered while it is young,
a refresh keeps exactly what it found again, and a change forgotten during a refresh stays
forgotten."""

from collections.abc import Sequence

from textloop.serving.refreshing import RefreshingCache


def test_an_entry_is_answered_only_while_younger_than_its_max_age() -> None:
    cache = RefreshingCache[str, int](max_age=3600)
    assert cache.cached("a") is None
    cache.remember("a", 1)
    assert cache.cached("a") == 1
    stale = RefreshingCache[str, int](max_age=0)
    stale.remember("a", 1)
    assert stale.cached("a") is None


def test_a_refresh_keeps_what_it_finds_again_and_what_a_request_remembered_meanwhile() -> None:
    cache = RefreshingCache[str, int](max_age=3600)
    cache.remember("kept", 1)
    cache.remember("gone", 2)

    def reread(keys: Sequence[str]) -> dict[str, int]:
        assert sorted(keys) == ["gone", "kept"]
        cache.remember("new", 3)  # a request looked it up while the refresh read
        return {"kept": 10}

    cache.refresh(reread, cache.remembered())
    assert (cache.cached("kept"), cache.cached("gone"), cache.cached("new")) == (10, None, 3)


def test_a_refresh_under_way_when_the_cache_is_forgotten_installs_nothing() -> None:
    cache = RefreshingCache[str, int](max_age=3600)
    cache.remember("deployment", 1)

    def reread(keys: Sequence[str]) -> dict[str, int]:
        cache.forget()  # a deploy through this server, while the refresh read the old version
        return {"deployment": 1}

    cache.refresh(reread, cache.remembered())
    assert cache.cached("deployment") is None
