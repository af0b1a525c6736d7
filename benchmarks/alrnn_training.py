"""Benchmark: AL-RNN training speed, and wall time to the Lorenz-63 must-bars from scratch.

    python benchmarks/alrnn_training.py [--threads 2] [--budget 600] [--seed 0]
                                        [--baseline-batches 20] [--skip-train]
                                        [--recipe calibrated|sparse_tf]

1. Throughput, measured in this run: a straightforward per-step PyTorch teacher-forcing
   loop with the reference settings (M = 20, P = 2, batch 16 × 200 steps, τ = 16, RAdam,
   autograd through every step: about 2.45 s per 50-batch epoch on these machines)
   against the toolkit's hand-written BPTT at the same batch and at the recipe's batch.
   An "epoch" is the reference's 50 batches × 16 sequences × 200 steps.
2. From scratch, ``--recipe calibrated`` (default): the shipped two-stage recipe of
   ``scripts/make_alrnn_pretrained.py`` run whole (one training run to its best validated
   state, then CMA-ES calibration searches side by side), its wall time, and the model's
   figures on the test trajectory (seed 2024).
   ``--recipe sparse_tf``: ``--threads`` independent training runs (one per core, seeds
   seed, seed + 1, ...; each single-threaded) simulate the training data, build
   ``ALRNN(20, 2, 3)`` and train with the recipe of ``scripts/make_alrnn_pretrained.py``.
   Whenever a run's own free-running score is promising (and, as in the script, at every
   log from the recipe's ``validate_from`` batch on), its current weights are checked
   against the must-bars with the full protocol on a validation trajectory (seed 1000);
   the first run to meet them all stops every run (the checks' time counts). That model
   is then measured on a fresh test trajectory (seed 2024). Reported: wall time from the
   start (data simulation included) to the bars, and the test figures.

Bars (issue 6): D_stsp ≤ 2.5, D_H ≤ 0.2, λ_max within 15% of 0.906, two real fixed points
within 0.2 attractor standard deviations (per coordinate) of C±, exactly 3 of 4 regions.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

LAMBDA = 0.906


def bars_met(ev) -> dict:
    return {"D_stsp <= 2.5": ev.dstsp <= 2.5, "D_H <= 0.2": ev.dh <= 0.2,
            "lambda_max within 15%": abs(ev.lyapunov_max - LAMBDA) <= 0.15 * LAMBDA,
            "fixed points within 0.2 sd of C+-": bool(np.all(ev.fixed_point_errors[1:] <= 0.2)),
            "3 of 4 regions": ev.n_regions == 3}


def describe(ev) -> str:
    return (f"D_stsp {ev.dstsp:.3f}, D_H {ev.dh:.3f}, λ_max {ev.lyapunov_max:.3f} "
            f"({100 * (ev.lyapunov_max / LAMBDA - 1):+.1f}%), fixed-point errors C± "
            f"{np.round(ev.fixed_point_errors[1:], 3).tolist()}, regions {ev.n_regions}")


def report_on_test(model) -> None:
    """The model's figures and bars on the fresh test trajectory (seed 2024)."""
    import toolkit as tk
    from toolkit.alrnn import evaluate

    test = tk.systems.trajectory("lorenz63", 100_000, dt=0.01, seed=2024)
    ev = evaluate(model, test, true_fixed_points=tk.systems.Lorenz63().fixed_points())
    print(f"fresh test trajectory (seed 2024): {describe(ev)}")
    for name, ok in bars_met(ev).items():
        print(f"  {'✓' if ok else '✗'} {name}")


def baseline_seconds_per_batch(n_batches: int, seed: int = 0) -> float:
    """The reference loop: per-step autograd, batch 16 × 200, τ = 16, RAdam."""
    import torch

    M, P, N, T, B, tau = 20, 2, 3, 200, 16, 16
    g = torch.Generator().manual_seed(seed)
    A = torch.nn.Parameter(torch.rand(M, generator=g) * 0.5 + 0.3)
    W = torch.nn.Parameter(0.01 * torch.randn(M, M, generator=g))
    h = torch.nn.Parameter(torch.zeros(M))
    L = torch.nn.Parameter(0.1 * torch.randn(M - N, N, generator=g))
    opt = torch.optim.RAdam([A, W, h, L], lr=1e-3)
    data = torch.randn(n_batches + 1, T, B, N, generator=g)

    def batch(X):
        z = torch.cat([X[0], X[0] @ L.T], 1)
        errors = []
        for t in range(1, T):
            phi = torch.cat([z[:, :M - P], torch.relu(z[:, M - P:])], 1)
            z = A * z + phi @ W.T + h
            errors.append(z[:, :N] - X[t])
            if t % tau == 0:
                z = torch.cat([X[t], z[:, N:]], 1)
        loss = (torch.stack(errors) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    batch(data[-1])  # warm-up (allocator, optimiser state)
    t0 = time.perf_counter()
    for i in range(n_batches):
        batch(data[i])
    return (time.perf_counter() - t0) / n_batches


def ours_seconds_per_batch(batch_size: int, n_batches: int, seed: int = 0) -> float:
    from toolkit.alrnn._bptt import forward_backward
    from toolkit.alrnn.model import ALRNN
    from toolkit.alrnn.train import _RAdam

    model = ALRNN(20, 2, 3, seed=seed)
    arrays = [p.detach().numpy() for p in (model.A, model.W, model.h, model.L)]
    opt = _RAdam(arrays)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((200, 3, batch_size))
    forward_backward(*arrays, X, 2, 16, 1.0)
    t0 = time.perf_counter()
    for _ in range(n_batches):
        X = rng.standard_normal((200, 3, batch_size))
        _, grads, _ = forward_backward(*arrays, X, 2, 16, 1.0)
        opt.step(grads, 1e-4)
    return (time.perf_counter() - t0) / n_batches


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2,
                        help="cores: parallel training runs, and torch threads of the baseline")
    parser.add_argument("--budget", type=float, default=600.0, help="training seconds at most")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-batches", type=int, default=20)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--base", choices=("whole", "first"), default="whole",
                        help="calibrated recipe: the base training run whole (its best "
                             "validated state, as shipped) or stopped at its first state "
                             "meeting 4 bars on validation")
    parser.add_argument("--recipe", choices=("calibrated", "calibrated-whole", "sparse_tf"),
                        default="calibrated",
                        help="the two-stage recipe (training, then calibration) stopped as "
                             "soon as the bars are met on validation, or run whole as for "
                             "the shipped file; or sparse TF alone")
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from make_alrnn_pretrained import RECIPES

    recipe = RECIPES["lorenz63"]
    B = recipe["train"]["batch_size"]
    print("== throughput ==")
    # the baseline at its best thread count (tiny matrices: one thread usually wins)
    times = {}
    for n in sorted({1, args.threads}):
        torch.set_num_threads(n)
        times[n] = baseline_seconds_per_batch(args.baseline_batches, args.seed)
        print(f"per-step autograd loop, {n} torch thread(s): {times[n] * 1e3:.1f} ms/batch")
    base = min(times.values())
    with threadpool_limits(1, user_api="blas"):
        ours16 = ours_seconds_per_batch(16, 5 * args.baseline_batches, args.seed)
        oursB = ours_seconds_per_batch(B, 5 * args.baseline_batches, args.seed)
    epoch = 50  # reference batches of 16 per epoch
    print(f"per-step autograd loop (reference): {base * 1e3:.1f} ms/batch of 16 → "
          f"{base * epoch:.2f} s/epoch, {1 / (base * epoch):.3f} epochs/s")
    print(f"hand-written BPTT, batch 16:        {ours16 * 1e3:.1f} ms/batch → "
          f"{1 / (ours16 * epoch):.3f} epochs/s ({base / ours16:.1f}× the baseline)")
    seq_rate = B / oursB / (16 / base)
    print(f"hand-written BPTT, batch {B}:        {oursB * 1e3:.1f} ms/batch → "
          f"{(B / 16) / (oursB * epoch):.3f} epochs/s ({seq_rate:.1f}× the baseline's "
          "sequences per second)")
    if args.skip_train:
        return

    import toolkit as tk

    if args.recipe == "calibrated-whole":
        _calibrated(args.threads)
        return
    if args.recipe == "calibrated":
        _calibrated_to_bars(args.threads, args.budget, args.base == "first")
        return
    workers = max(1, args.threads)
    print(f"\n== from scratch to the Lorenz must-bars: {workers} training run(s) in parallel, "
          f"seeds {list(range(args.seed, args.seed + workers))}, budget {args.budget:.0f} s ==")
    import multiprocessing as mp
    import tempfile

    ctx = mp.get_context("spawn")
    done = ctx.Event()
    results = ctx.Queue()
    folder = tempfile.mkdtemp()
    t_start = time.time()
    procs = [ctx.Process(target=_worker, args=(args.seed + i, args.budget, t_start, done,
                                                results, folder)) for i in range(workers)]
    winner = _race(procs, results, done)
    wall = time.time() - t_start
    print(f"all runs stopped after {wall:.1f} s wall")
    if winner is None:
        print("must-bars NOT met on validation within the budget")
        return
    seed, step, seconds, path = winner
    print(f"must-bars met on validation by seed {seed} at batch {step}: {seconds:.1f} s "
          "from scratch (data simulation and validation checks included)")
    model = tk.io.load(path)
    report_on_test(model)


def _calibrated(threads: int):
    """The shipped recipe from scratch: the base training run, then the calibration
    searches (``threads`` at a time), exactly as ``make_alrnn_pretrained.py`` does."""
    import tempfile
    from pathlib import Path

    from make_alrnn_pretrained import CALIBRATED, make_calibrated

    import toolkit as tk

    spec = CALIBRATED["lorenz63"]
    print(f"\n== from scratch, two stages: {spec['base']} (seed {spec['base_seed']}), then "
          f"calibration with seeds {list(spec['search_seeds'])}, {threads} at a time ==")
    folder = Path(tempfile.mkdtemp())
    t0 = time.time()
    make_calibrated("lorenz63", folder, jobs=threads)
    wall = time.time() - t0
    model = tk.io.load(folder / "lorenz63.safetensors")
    meta = tk.io.read_header(folder / "lorenz63.safetensors")["metadata"]
    print(f"wall time from scratch: {wall:.1f} s (training to the base state and its "
          f"validation, then calibration: {meta['calibration']['seconds']:.1f} s for the "
          "chosen search)")
    report_on_test(model)


def _bars_on_validation(measures, tolerances) -> bool:
    """The must-bars, with the search's tighter tolerances where it has them (D_H 0.18,
    λ_max 10%): a mean that only just meets the bars on validation can miss them elsewhere
    (one did: λ_max 0.98 on validation, 1.13 on the test trajectory)."""
    return (measures["D_stsp"] <= min(2.5, tolerances.get("D_stsp", 2.5))
            and measures["D_H"] <= min(0.2, tolerances.get("D_H", 0.2))
            and abs(measures["lyapunov_max"] - LAMBDA)
            <= min(0.15, tolerances.get("lyapunov_max", 0.15)) * LAMBDA
            and measures["fixed_points"] <= 0.2 and measures["n_regions"] == 3)


def _calibrated_to_bars(threads: int, budget: float, first_base: bool = False):
    """The two-stage recipe stopped early: the training run (whole, or with ``first_base``
    stopped at its first state meeting 4 bars pooled over the five validation
    trajectories); then ``threads`` calibration searches
    run side by side, and the first whose distribution mean meets every bar on them
    (pooled, as the search measures them; D_H and λ_max with the search's tolerances)
    stops both."""
    import multiprocessing as mp
    import tempfile

    from make_alrnn_pretrained import CALIBRATED, train_seed

    import toolkit as tk

    spec = CALIBRATED["lorenz63"]
    print(f"\n== from scratch to the Lorenz must-bars, two stages: {spec['base']} "
          f"(seed {spec['base_seed']}, {'to its first confirmed state' if first_base else 'whole'}"
          "), then calibration "
          f"seeds {list(spec['search_seeds'])[:threads]} side by side; budget {budget:.0f} s ==")
    t_start = time.time()
    trained = train_seed(spec["base"], spec["base_seed"], stop_when_confirmed=first_base)
    print(f"base state: batch {trained['step']}, {time.time() - t_start:.1f} s from scratch "
          f"(validation: {trained['validation']})", flush=True)
    ctx = mp.get_context("spawn")
    done = ctx.Event()
    results = ctx.Queue()
    folder = tempfile.mkdtemp()
    seeds = list(spec["search_seeds"])[:max(1, threads)]
    procs = [ctx.Process(target=_calibration_worker,
                         args=(s, trained["state"], budget, t_start, done, results, folder))
             for s in seeds]
    winner = _race(procs, results, done)
    print(f"all searches stopped after {time.time() - t_start:.1f} s wall")
    if winner is None:
        print("must-bars NOT met on validation within the budget")
        return
    seed, generation, seconds, path = winner
    print(f"must-bars met on validation by calibration seed {seed} at generation "
          f"{generation}: {seconds:.1f} s from scratch (data, training, validation and "
          "calibration included)")
    model = tk.io.load(path)
    report_on_test(model)


def _calibration_worker(seed, state, budget, t_start, done, results, folder):
    """One calibration search (one thread) that stops at the bars, the budget, or the
    other search's success."""
    import torch

    torch.set_num_threads(1)
    from pathlib import Path

    from make_alrnn_pretrained import CALIBRATED
    from threadpoolctl import threadpool_limits

    import toolkit as tk
    from toolkit.alrnn import ALRNN, calibrate

    spec = CALIBRATED["lorenz63"]
    system = tk.systems.make("lorenz63")
    valid = [tk.systems.trajectory(system, 100_000, dt=0.01, seed=s) for s in spec["validation"]]
    model = ALRNN(20, 2, 3, dt=0.01)
    model.load_state_dict(state)
    met = []

    def stop(generation, measures):
        if generation % 10 == 9:
            results.put(("log", f"  calibration seed {seed}, generation {generation}, "
                                f"{time.time() - t_start:6.1f} s: mean D_stsp "
                                f"{measures['D_stsp']:.3f}, D_H {measures['D_H']:.3f}, λ "
                                f"{measures['lyapunov_max']:.3f}, C± "
                                f"{measures['fixed_points']:.3f}"))
        if _bars_on_validation(measures, spec["calibrate"].get("tolerances", {})):
            met.append(generation)
            return True
        return done.is_set() or time.time() - t_start > budget

    try:
        with threadpool_limits(1):
            calibrated, history = calibrate(
                model, valid, true_fixed_points=system.fixed_points()[1:], seed=seed,
                progress=False, should_stop=stop, **spec["calibrate"])
        if met and not done.is_set():
            path = Path(folder) / f"calibrated{seed}.safetensors"
            tk.io.save(calibrated, path, overwrite=True)
            results.put(("met", (seed, met[0], time.time() - t_start, str(path))))
    finally:
        results.put(("end", seed))


def _race(procs, results, done):
    """Start the processes, print their logs, and return the first success (None if none):
    it sets ``done`` so that the others stop."""
    for p in procs:
        p.start()
    winner, finished = None, 0
    while finished < len(procs):
        kind, payload = results.get()
        if kind == "log":
            print(payload, flush=True)
        elif kind == "met" and winner is None:
            winner = payload
            done.set()
        elif kind == "end":
            finished += 1
    for p in procs:
        p.join()
    return winner


def _worker(seed, budget, t_start, done, results, folder):
    """One training run (one thread): validates promising checkpoints, reports success."""
    import torch

    torch.set_num_threads(1)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from make_alrnn_pretrained import RECIPES

    import toolkit as tk
    from toolkit.alrnn import ALRNN, evaluate, train

    recipe = RECIPES["lorenz63"]
    data = tk.systems.trajectory("lorenz63", 100_000, dt=0.01, seed=0)
    valid = tk.systems.trajectory("lorenz63", 100_000, dt=0.01, seed=1000)
    true_fp = tk.systems.Lorenz63().fixed_points()
    model = ALRNN(20, 2, 3, seed=seed)
    state = {"met": False}

    def on_log(step, values):
        if values.get("score", np.inf) > recipe["promising"] \
                and step < recipe.get("validate_from", np.inf):
            return
        try:
            # screening: λ_max from 20,000 steps, as the make-script validates
            ev = evaluate(model, valid, true_fixed_points=true_fp, lyapunov_steps=20_000)
        except RuntimeError:
            return
        met = bars_met(ev)
        results.put(("log", f"  seed {seed}, batch {step:6d}, {time.time() - t_start:6.1f} s: "
                            f"validation {describe(ev)} → {sum(met.values())}/5 bars"))
        if all(met.values()):
            path = Path(folder) / f"seed{seed}.safetensors"
            tk.io.save(model, path, overwrite=True)
            state["met"] = True
            results.put(("met", (seed, step, time.time() - t_start, str(path))))

    kwargs = dict(recipe["train"])
    kwargs.update(max_seconds=budget - (time.time() - t_start), seed=seed)
    try:
        hist = train(model, data, dt=0.01, progress=False, on_log=on_log,
                     should_stop=lambda: state["met"] or done.is_set(), **kwargs)
        results.put(("log", f"  seed {seed}: stopped ({hist.meta['stop_reason']}) after "
                            f"{hist.meta['steps_run']} batches, {time.time() - t_start:.1f} s"))
    finally:
        results.put(("end", seed))


if __name__ == "__main__":
    main()
