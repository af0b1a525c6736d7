"""Benchmark: AL-RNN training speed, and wall time to the Lorenz-63 must-bars from scratch.

    python benchmarks/alrnn_training.py [--threads 2] [--budget 600] [--seed 0]
                                        [--baseline-batches 20] [--skip-train]
                                        [--recipe calibrated|calibrated-whole|sparse_tf]
                                        [--base first|whole]

1. Throughput, measured in this run: a straightforward per-step PyTorch teacher-forcing
   loop with the reference settings (M = 20, P = 2, batch 16 × 200 steps, τ = 16, RAdam,
   autograd through every step: about 2.45 s per 50-batch epoch on these machines)
   against the toolkit's hand-written BPTT at the same batch and at the recipe's batch.
   An "epoch" is the reference's 50 batches × 16 sequences × 200 steps.
2. From scratch, ``--recipe calibrated`` (default): the two stages of the shipped model
   (``CALIBRATED`` in ``scripts/make_alrnn_pretrained.py``), stopped as soon as the bars
   are met on the five validation trajectories (1000–1004): one training run (seed 24) to
   its first state meeting 4 of the 5 bars pooled over them (``--base whole``: to its best
   validated state, as for the shipped file), then ``--threads`` CMA-ES calibration
   searches side by side (one thread each), each stopping when its distribution mean meets
   every bar with a margin (``STOP_AT``: D_stsp 2.25, D_H 0.18, λ_max 10%, C± 0.19); the
   search that met them at the earliest generation wins (ties: the lower seed), so timing
   does not change the result. Reported: wall time from the start (data simulation,
   training, validation and calibration included) and the figures on a fresh test
   trajectory (seed 2024). ``--recipe calibrated-whole``: the make-script's two stages run
   whole (250 generations per search), as for the shipped file.
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
from pathlib import Path

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
    parser.add_argument("--save", type=Path, default=None,
                        help="also save the model that met the bars here (.safetensors; an "
                             "existing file is not overwritten)")
    parser.add_argument("--base", choices=("first", "whole"), default="first",
                        help="calibrated recipe: the base training run stopped at its first "
                             "state meeting 4 bars on validation, or run whole (its best "
                             "validated state, as for the shipped file)")
    parser.add_argument("--recipe", choices=("calibrated", "calibrated-whole", "sparse_tf"),
                        default="calibrated",
                        help="the two-stage recipe (training, then calibration) stopped as "
                             "soon as the bars are met on validation, or run whole as for "
                             "the shipped file; or sparse TF alone")
    args = parser.parse_args()
    if args.save is not None and args.save.exists():
        parser.error(f"--save: {args.save} exists; choose a new path")

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    import sys

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
        _calibrated_to_bars(args.threads, args.budget, args.base == "first", args.save)
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
    met = _race(procs, results, done)
    wall = time.time() - t_start
    print(f"all runs stopped after {wall:.1f} s wall")
    if not met:
        print("must-bars NOT met on validation within the budget")
        return
    seed, step, seconds, path = met[0]  # the first to meet them
    print(f"must-bars met on validation by seed {seed} at batch {step}: {seconds:.1f} s "
          "from scratch (data simulation and validation checks included)")
    model = tk.io.load(path)
    report_on_test(model)


def _calibrated(threads: int):
    """The shipped recipe from scratch: the base training run, then the calibration
    searches (``threads`` at a time), exactly as ``make_alrnn_pretrained.py`` does."""
    import tempfile

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


#: where a calibration search stops: inside every must-bar, because a mean that only just
#: meets them on the validation trajectories can miss them elsewhere. Measured on one
#: stopped mean: held-out D_stsp spread by ±0.15 around its validation figure, D_H by
#: ±0.01, λ_max by ±0.06; and a mean stopped at the bars' own 15% (when the mean ran one
#: orbit) had λ_max 0.98 on validation but 1.13 on the test trajectory.
STOP_AT = {"D_stsp": 2.25, "D_H": 0.18, "lyapunov_max": 0.10, "fixed_points": 0.19}


def _bars_on_validation(measures) -> bool:
    """The search mean's figures on the validation trajectories within ``STOP_AT``."""
    return (measures["D_stsp"] <= STOP_AT["D_stsp"] and measures["D_H"] <= STOP_AT["D_H"]
            and abs(measures["lyapunov_max"] - LAMBDA) <= STOP_AT["lyapunov_max"] * LAMBDA
            and measures["fixed_points"] <= STOP_AT["fixed_points"]
            and measures["n_regions"] == 3)


def _calibrated_to_bars(threads: int, budget: float, first_base: bool = True,
                        save: Path | None = None):
    """The two-stage recipe stopped early: the training run (with ``first_base`` stopped at
    its first state meeting 4 bars pooled over the five validation trajectories, else
    whole); then ``threads`` calibration searches side by side, each stopping when its
    distribution mean meets every bar on them with the margins of ``STOP_AT`` (pooled, as
    the search measures them). The winner is the search that met them at the
    earliest generation (ties: the lower seed), so the result does not depend on which
    process happens to run faster: a search goes on until it is past the best generation
    met so far."""
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
    trained = train_seed(spec["base"], spec["base_seed"], stop_when_confirmed=first_base,
                         return_trajectories=True)
    print(f"base state: batch {trained['step']}, {time.time() - t_start:.1f} s from scratch "
          f"(validation: {trained['validation']})", flush=True)
    ctx = mp.get_context("spawn")
    best_generation = ctx.Value("i", 1 << 30)
    results = ctx.Queue()
    folder = tempfile.mkdtemp()
    seeds = list(spec["search_seeds"])[:max(1, threads)]
    procs = [ctx.Process(target=_calibration_worker,
                         args=(s, trained["state"], trained["trajectories"], budget, t_start,
                               best_generation, results, folder))
             for s in seeds]
    met = _race(procs, results)
    print(f"all searches stopped after {time.time() - t_start:.1f} s wall")
    if not met:
        print("must-bars NOT met on validation within the budget")
        return
    seed, generation, seconds, path = min(met, key=lambda m: (m[1], m[0]))
    print(f"must-bars met on validation by calibration seed {seed} at generation "
          f"{generation} ({seconds:.1f} s from scratch: data, training, validation and "
          f"calibration included); the race was settled at {time.time() - t_start:.1f} s")
    model = tk.io.load(path)
    report_on_test(model)
    if save is not None:
        tk.io.save(model, save, metadata={"benchmark": "alrnn_training --recipe calibrated",
                                          "calibration_seed": seed, "generation": generation})
        print(f"saved {save}")


def _calibration_worker(seed, state, known, budget, t_start, best_generation, results,
                        folder):
    """One calibration search (one thread) that stops at the bars, the budget, or once it
    is past the earliest generation at which any search met them."""
    import torch

    torch.set_num_threads(1)

    from make_alrnn_pretrained import CALIBRATED, validation_trajectories
    from threadpoolctl import threadpool_limits

    import toolkit as tk
    from toolkit.alrnn import ALRNN, calibrate

    spec = CALIBRATED["lorenz63"]
    system = tk.systems.make("lorenz63")
    valid = validation_trajectories("lorenz63", known)  # made once, by the training run
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
        if _bars_on_validation(measures):
            with best_generation.get_lock():
                best_generation.value = min(best_generation.value, generation)
            met.append(generation)
            return True
        return generation >= best_generation.value or time.time() - t_start > budget

    try:
        with threadpool_limits(1):
            calibrated, history = calibrate(
                model, valid, true_fixed_points=system.fixed_points()[1:], seed=seed,
                progress=False, should_stop=stop, **spec["calibrate"])
        if met:
            path = Path(folder) / f"calibrated{seed}.safetensors"
            tk.io.save(calibrated, path, overwrite=True)
            results.put(("met", (seed, met[0], time.time() - t_start, str(path))))
    finally:
        results.put(("end", seed))


def _race(procs, results, done=None):
    """Start the processes, print their logs until all have ended, and return every
    success reported; the first sets ``done`` (if given) so that the others stop."""
    for p in procs:
        p.start()
    met, finished = [], 0
    while finished < len(procs):
        kind, payload = results.get()
        if kind == "log":
            print(payload, flush=True)
        elif kind == "met":
            met.append(payload)
            if done is not None:
                done.set()
        elif kind == "end":
            finished += 1
    for p in procs:
        p.join()
    return met


def _worker(seed, budget, t_start, done, results, folder):
    """One training run (one thread): validates promising checkpoints, reports success."""
    import torch

    torch.set_num_threads(1)
    import sys

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
