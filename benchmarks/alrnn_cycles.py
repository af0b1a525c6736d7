"""Benchmark: all fixed points and cycles up to period 8 of M = 20 AL-RNNs, P = 1..4.

    python benchmarks/alrnn_cycles.py [--max-period 8] [--threads 1] [--train-seconds 60]

Models, all with M = 20:
- the Lozi map x' = 1 − a|x| + y, y' = b x (a = 1.7, b = 0.5) written as an AL-RNN with
  P = 1..4 (one ReLU unit carries |x|, the others switch at other thresholds and feed
  nothing back, the remaining linear units decay to 0): the same cycles for every P,
  many of them, while the search space grows as (2^P)^k;
- the shipped Rössler (P = 1) and Lorenz-63 (P = 2) models, and Lorenz-63 models with
  P = 3 and 4 trained here for ``--train-seconds`` each (training is not timed). At
  Δt = 0.01 their periodic orbits are long, so below period 8 they have fixed points only.
For each model it times ``find_cycles(model, max_period)`` and reports per period the
number of cycles, the linear solves and whether the search was exhaustive (then "all"
is a guarantee) or SCYFI (verified cycles, no completeness guarantee). Baseline in the
same run: the naive exhaustive search the SCYFI paper describes for small P, one
M × M solve per region sequence of each period (every sequence, no necklace
reduction), counted and timed on a sample. A recall check reruns the exhaustive search with
a budget of 2.5 million words on the SCYFI periods where that suffices, and counts what
SCYFI missed (slow; skip with ``--no-recall``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def lozi(P: int, M: int = 20, a: float = 1.7, b: float = 0.5, thresholds=(0.5, -0.5, 1.0)):
    """The Lozi map as an M-unit AL-RNN with P ReLU units (see the module docstring)."""
    from toolkit.alrnn import ALRNN

    k0 = M - P
    A = np.zeros(M)
    A[2:k0] = 0.5
    W = np.zeros((M, M))
    h = np.zeros(M)
    W[0, 1] = b                                   # y' = b x (x's linear copy, unit 1)
    for j, row in enumerate([1, k0] + list(range(k0 + 1, M))):
        W[row, 0], W[row, 1], W[row, k0] = 1.0, a, -2.0 * a   # 1 + y + a x − 2a relu(x)
        h[row] = 1.0 - (thresholds[j - 2] if j >= 2 else 0.0)
    return ALRNN.from_params(A, W, h, P=P, N=2)


def naive_seconds_per_solve(model, n=2000, k=4, seed=0):
    """Time the textbook candidate: product of k region matrices and one M × M solve."""
    A, W, h, _ = model.numpy_params()
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**model.P, (n, k))
    M = model.M
    t0 = time.perf_counter()
    for w in words:
        mats = model.region_matrix(w)
        prod, acc = np.eye(M), np.zeros(M)
        for t in range(k):
            prod = mats[t] @ prod
            acc = mats[t] @ acc + h
        np.linalg.solve(np.eye(M) - prod, acc)
    return (time.perf_counter() - t0) / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-period", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--train-seconds", type=float, default=60.0)
    parser.add_argument("--no-recall", action="store_true")
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    import toolkit as tk
    from toolkit.alrnn import ALRNN, find_cycles, load_pretrained, train

    torch.set_num_threads(args.threads)
    models = [(P, f"Lozi map, P = {P}", lozi(P)) for P in (1, 2, 3, 4)]
    models += [(1, "Rössler (shipped)", load_pretrained("rossler")),
               (2, "Lorenz-63 (shipped)", load_pretrained("lorenz63"))]
    data = tk.systems.trajectory("lorenz63", 100_000, dt=0.01, seed=0)
    for P in (3, 4):
        model = ALRNN(20, P, 3, seed=0)
        train(model, data, max_seconds=args.train_seconds, n_epochs=480, dt=0.01,
              progress=False)
        models.append((P, f"Lorenz-63, P = {P} (trained {args.train_seconds:.0f} s)", model))

    print(f"find_cycles on M = 20 AL-RNNs, periods 1..{args.max_period}, "
          f"{args.threads} thread(s)\n")
    worst = 0.0
    with threadpool_limits(args.threads):
        for P, name, model in models:
            find_cycles(model, 2)  # warm caches (Lyndon words of small periods)
            result = find_cycles(model, args.max_period)
            worst = max(worst, result.seconds)
            naive = naive_seconds_per_solve(model)
            n_naive = sum((2**P) ** k for k in range(1, args.max_period + 1))
            counts = np.bincount(result.periods, minlength=args.max_period + 1)[1:] \
                if len(result) else np.zeros(args.max_period, int)
            print(name)
            print(f"  find_cycles: {result.seconds:.3f} s, {len(result)} cycles, "
                  f"{int(result.n_candidates.sum())} solves")
            print(f"  naive exhaustive (every sequence, M × M solve): {n_naive:,} solves "
                  f"≈ {n_naive * naive:.1f} s at {naive * 1e6:.0f} µs/solve")
            for k in range(1, args.max_period + 1):
                how = "exhaustive" if result.exhaustive[k - 1] else "SCYFI"
                print(f"    period {k}: {counts[k - 1]:4d} cycles, "
                      f"{int(result.n_candidates[k - 1]):7d} solves, {how}")
            worst_err = max((c.closure_error for c in result), default=0.0)
            print(f"  largest one-step residual of a returned cycle: {worst_err:.1e}")
            if not args.no_recall and not result.complete:
                t0 = time.perf_counter()
                full = find_cycles(model, args.max_period, max_candidates=2_500_000)
                checked = [k for k in range(1, args.max_period + 1)
                           if full.exhaustive[k - 1] and not result.exhaustive[k - 1]]
                found = {(c.period, c.word) for c in result}
                truth = [(c.period, c.word) for c in full if c.period in checked]
                missed = [t for t in truth if t not in found]
                print(f"  recall check on SCYFI periods {checked} (exhaustive with 2.5M "
                      f"candidates, {time.perf_counter() - t0:.1f} s): {len(truth)} cycles, "
                      f"SCYFI found {len(truth) - len(missed)}"
                      + (f", missed e.g. {missed[:3]}" if missed else ""))
            print()
    print(f"slowest find_cycles call: {worst:.3f} s (bar: all cycles in under 1 s)")


if __name__ == "__main__":
    main()
