"""A compute-once cache that the explorers fill ahead of the user.

An explorer asks ``cache.get(key, compute)`` for what a control shows; after each
change it hands ``cache.ahead(jobs)`` the settings one step away, which one background
thread computes while the user looks. A key is computed once, by whichever thread asks
first; the other waits for it. New jobs replace the queued ones (the user moved on),
the job in hand finishes; ``cache.warm(jobs)`` queues work that stays queued (everything
the explorer may show, filled in while the user looks) and runs when nothing nearer is
waiting. The worker starts a job only once the widget thread has asked
for nothing for ``idle_s``: Python threads share one interpreter lock, and a job running
beside a redraw would slow the redraw down.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections import deque

_LIVE: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _drain():
    # drop queued jobs and let the one in hand finish before the interpreter goes:
    # a daemon thread killed inside torch aborts the process
    for cache in list(_LIVE):
        cache.stop()


class Prefetch:
    """``limits`` caps how many values of a kind are kept (the kind of a tuple key is its
    first item): ``{"orbit": 6}`` keeps the six orbits used last and forgets older ones,
    which are computed again if asked for."""

    def __init__(self, enabled: bool = True, name: str = "prefetch", idle_s: float = 0.4,
                 limits: dict | None = None):
        self.enabled = bool(enabled)
        self.name = name
        self.idle_s = float(idle_s)
        self.limits = dict(limits or {})
        for kind, n in self.limits.items():
            if int(n) < 1:
                raise ValueError(f"limits: keep at least 1 value of {kind!r}, got {n}")
        self._last_use = time.monotonic()
        self._values: dict = {}
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._jobs: deque = deque()
        self._warm: deque = deque()
        self._idle = threading.Event()
        self._idle.set()
        self._worker: threading.Thread | None = None
        _LIVE.add(self)

    def __contains__(self, key):
        with self._lock:
            return key in self._values

    def keys(self):
        with self._lock:
            return list(self._values)

    def peek(self, key, default=None):
        """The value for ``key`` if it is computed, else ``default`` (computes nothing)."""
        with self._lock:
            return self._values.get(key, default)

    def get(self, key, compute):
        """The value for ``key``, computed with ``compute()`` the first time."""
        if threading.current_thread() is not self._worker:
            self._last_use = time.monotonic()
        with self._lock:
            if key in self._values:
                self._values[key] = self._values.pop(key)   # most recently used last
                return self._values[key]
            done = self._pending.get(key)
            owner = done is None
            if owner:
                done = self._pending[key] = threading.Event()
        if not owner:
            done.wait()
            with self._lock:
                if key in self._values:
                    return self._values[key]
            return compute()   # the other thread failed: raise its error here
        try:
            value = compute()
            with self._lock:
                self._values[key] = value
                self._evict(key)
            return value
        finally:
            with self._lock:
                self._pending.pop(key).set()

    def _evict(self, key):
        # under self._lock: drop the least recently used values of key's kind
        kind = key[0] if isinstance(key, tuple) and key else None
        limit = self.limits.get(kind)
        if limit is None:
            return
        same = [k for k in self._values if isinstance(k, tuple) and k and k[0] == kind]
        for k in same[:max(0, len(same) - int(limit))]:
            del self._values[k]

    def ahead(self, jobs):
        """Run the callables ``jobs`` in the background, in order, instead of any still
        queued. Their errors are dropped: the user sees them on picking that setting."""
        if not self.enabled:
            return
        self._last_use = time.monotonic()
        with self._lock:
            self._jobs.clear()
            self._jobs.extend(jobs)
            self._start()

    def warm(self, jobs):
        """Queue ``jobs`` behind everything :meth:`ahead` asks for; they stay queued."""
        if not self.enabled:
            return
        with self._lock:
            self._warm.extend(jobs)
            self._start()

    def _start(self):
        # under self._lock
        if not (self._jobs or self._warm):
            return
        self._idle.clear()
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, daemon=True, name=self.name)
            self._worker.start()

    def _run(self):
        while True:
            quiet = time.monotonic() - self._last_use
            if quiet < self.idle_s:
                time.sleep(self.idle_s - quiet)
                continue
            with self._lock:
                if not (self._jobs or self._warm):
                    self._idle.set()
                    self._worker = None
                    return
                job = (self._jobs or self._warm).popleft()
            try:
                job()
            except Exception:   # noqa: BLE001 - see ahead()
                pass

    def stop(self, timeout: float = 30.0):
        """Drop the queued jobs and wait for the one in hand."""
        with self._lock:
            self._jobs.clear()
            self._warm.clear()
            worker = self._worker
        if worker is not None:
            worker.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background jobs are done; False if ``timeout`` ran out."""
        return self._idle.wait(timeout)
