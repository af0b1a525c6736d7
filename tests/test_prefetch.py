import threading
import time

import pytest

from toolkit._prefetch import Prefetch


def test_a_key_is_computed_once_when_two_threads_ask_together():
    cache, calls, started = Prefetch(), [], threading.Event()

    def slow():
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return 42

    cache.ahead([lambda: cache.get("k", slow)])
    started.wait(5)
    assert cache.get("k", slow) == 42   # waits for the background thread's value
    assert cache.wait(5) and len(calls) == 1 and "k" in cache


def test_a_failed_background_job_raises_when_the_user_asks():
    cache = Prefetch()

    def bad():
        raise ValueError("size: too small")

    cache.ahead([lambda: cache.get("k", bad)])
    assert cache.wait(5)
    assert "k" not in cache
    with pytest.raises(ValueError, match="size"):
        cache.get("k", bad)


def test_new_jobs_replace_the_queued_ones_and_disabled_runs_nothing():
    cache, done, gate = Prefetch(), [], threading.Event()
    cache.ahead([lambda: gate.wait(5), lambda: done.append("old")])
    cache.ahead([lambda: done.append("new")])   # the first job is still in hand
    gate.set()
    assert cache.wait(5) and done == ["new"]
    off = Prefetch(enabled=False)
    off.ahead([lambda: done.append("off")])
    assert off.wait(0) and done == ["new"]
    assert off.get("x", lambda: 3) == 3 and off.keys() == ["x"]


def test_warm_jobs_stay_queued_behind_the_near_ones():
    cache, done, gate = Prefetch(idle_s=0.0), [], threading.Event()
    cache.ahead([gate.wait])
    cache.warm([lambda: done.append("warm 1"), lambda: done.append("warm 2")])
    cache.ahead([lambda: done.append("near")])   # replaces the near queue only
    gate.set()
    assert cache.wait(5) and done == ["near", "warm 1", "warm 2"]
    cache.warm([lambda: time.sleep(5), lambda: done.append("never")])
    time.sleep(0.1)
    cache.stop(timeout=0.1)                      # queued warm jobs are dropped
    time.sleep(0.1)
    assert "never" not in done


def test_peek_computes_nothing():
    cache = Prefetch(enabled=False)
    assert cache.peek("k") is None and cache.peek("k", 7) == 7
    cache.get("k", lambda: 3)
    assert cache.peek("k") == 3


def test_limits_keep_the_values_used_last_of_a_kind():
    cache = Prefetch(False, limits={"orbit": 2})
    calls = []

    def value(k):
        return cache.get(("orbit", k), lambda: calls.append(k) or k)

    for k in (1, 2, 3):
        value(k)
    cache.get(("rates", 1), lambda: "kept")           # other kinds are not capped
    assert sorted(k for k in cache.keys() if k[0] == "orbit") == [("orbit", 2), ("orbit", 3)]
    value(2)                                          # 2 is now the most recent
    value(4)
    assert sorted(cache.keys()) == [("orbit", 2), ("orbit", 4), ("rates", 1)]
    value(1)                                          # forgotten: computed again
    assert calls == [1, 2, 3, 4, 1]
    with pytest.raises(ValueError, match="limits"):
        Prefetch(limits={"orbit": 0})
