"""A compute-once cache that the explorers fill ahead of the user.

An explorer asks ``cache.get(key, compute)`` for what a control shows; after each
change it hands ``cache.ahead(jobs)`` the settings one step away, which one background
thread computes while the user looks. A key is computed once, by whichever thread asks
first; the other waits for it. New jobs replace the queued ones (the user moved on),
the job in hand finishes.
"""

from __future__ import annotations

import threading
from collections import deque


class Prefetch:
    def __init__(self, enabled: bool = True, name: str = "prefetch"):
        self.enabled = bool(enabled)
        self.name = name
        self._values: dict = {}
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._jobs: deque = deque()
        self._idle = threading.Event()
        self._idle.set()
        self._worker: threading.Thread | None = None

    def __contains__(self, key):
        with self._lock:
            return key in self._values

    def keys(self):
        with self._lock:
            return list(self._values)

    def get(self, key, compute):
        """The value for ``key``, computed with ``compute()`` the first time."""
        with self._lock:
            if key in self._values:
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
            return value
        finally:
            with self._lock:
                self._pending.pop(key).set()

    def ahead(self, jobs):
        """Run the callables ``jobs`` in the background, in order, instead of any still
        queued. Their errors are dropped: the user sees them on picking that setting."""
        if not self.enabled:
            return
        with self._lock:
            self._jobs.clear()
            self._jobs.extend(jobs)
            if not self._jobs:
                return
            self._idle.clear()
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, daemon=True, name=self.name)
                self._worker.start()

    def _run(self):
        while True:
            with self._lock:
                if not self._jobs:
                    self._idle.set()
                    self._worker = None
                    return
                job = self._jobs.popleft()
            try:
                job()
            except Exception:   # noqa: BLE001 - see ahead()
                pass

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background jobs are done; False if ``timeout`` ran out."""
        return self._idle.wait(timeout)
