"""Overhead of tk.sweep.run: a 200-point sweep of a 10 ms function, in-process and on Dask.

The bar (issue 5): on a 2-worker local cluster the sweep finishes within 2x the ideal
1 s of work per worker (200 points x 10 ms / 2 workers). The in-process run of the same
sweep, measured in the same process, is the baseline (ideal 2 s).

Two kinds of 10 ms function are timed:
  sleep  time.sleep(0.01): pure overhead, unaffected by other jobs on the machine;
  busy   a 10 ms busy loop on the CPU: what a real computation sees, including the
         contention between the two workers, the scheduler and this process when they
         share few cores.

Every sweep writes its 200 JSON records to a fresh store (a temporary folder), as in real
use. The cluster is started and warmed up (workers import the toolkit) before timing.

    python benchmarks/sweep_overhead.py [--points 200] [--ms 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def sleep_point(i, ms):
    time.sleep(ms / 1000)
    return {"twice": 2 * i}


def busy_point(i, ms):
    end = time.perf_counter() + ms / 1000
    n = 0
    while time.perf_counter() < end:
        n += 1
    return {"spins": n}


def timed(fn, grid, client, root):
    import toolkit as tk

    store = tempfile.mkdtemp(dir=root)
    t0 = time.perf_counter()
    df = tk.sweep.run(fn, grid, os.path.join(store, "s"), client=client, progress=False)
    seconds = time.perf_counter() - t0
    assert len(df) == len(next(iter(grid.values()))) and (df.status == "ok").all()
    return seconds


def main():
    import functools

    from dask.distributed import Client, LocalCluster

    import toolkit as tk

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--ms", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n_workers = 2
    work = args.points * args.ms / 1000
    ideal = work / n_workers

    root = tempfile.mkdtemp(prefix="sweep_bench_")
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    client = Client(cluster)
    client.wait_for_workers(n_workers)
    startup = time.perf_counter() - t0
    # warm-up: workers import the toolkit, this process imports io/safetensors
    tk.sweep.run(functools.partial(sleep_point, ms=1), {"i": list(range(8))},
                 os.path.join(root, "warm_dask"), client=client, progress=False)
    tk.sweep.run(functools.partial(sleep_point, ms=1), {"i": list(range(8))},
                 os.path.join(root, "warm_here"), progress=False)

    print(f"{args.points} points x {args.ms:g} ms; {os.cpu_count()} CPU cores, load average "
          f"{os.getloadavg()[0]:.1f} (other jobs slow the busy loop); cluster start-up "
          f"{startup:.1f} s (not counted)")
    print(f"ideal: in-process {work:.2f} s, on {n_workers} workers {ideal:.2f} s per worker; "
          f"bar: Dask <= {2 * ideal:.2f} s\n")
    print(f"{'function':8s} {'run':>3s} {'in-process':>11s} {'overhead/pt':>12s} "
          f"{'Dask 2 workers':>15s} {'/ ideal':>8s} {'speed-up':>9s}")
    best = {}
    grid = {"i": list(range(args.points))}
    for kind, f in (("sleep", sleep_point), ("busy", busy_point)):
        fn = functools.partial(f, ms=args.ms)
        for r in range(args.repeat):
            here = timed(fn, grid, None, root)
            there = timed(fn, grid, client, root)
            per_point = (here - work) / args.points * 1000
            print(f"{kind:8s} {r + 1:3d} {here:10.2f}s {per_point:10.2f}ms {there:14.2f}s "
                  f"{there / ideal:7.2f}x {here / there:8.2f}x")
            best.setdefault(kind, []).append((there, here))
    print()
    for kind, rows in best.items():
        there = min(t for t, _ in rows)
        median = sorted(t for t, _ in rows)[len(rows) // 2]
        ok = "meets" if median <= 2 * ideal else "MISSES"
        print(f"{kind}: Dask best {there:.2f} s, median {median:.2f} s = "
              f"{median / ideal:.2f}x the ideal {ideal:.2f} s -> {ok} the 2x bar")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
