"""AL-RNN panel: ``tk.alrnn.reconstruct`` on systems nobody tuned it for.

Rows: ten three-dimensional chaotic flows of the dysts catalogue (Gilpin, NeurIPS 2021;
transcribed in ``toolkit.systems``), Lorenz-63 from scratch, and one real recording, the
PPG signal that heartpy ships (van Gent et al. 2019; ``heartpy/data/data2.csv``, read as
CSV, delay-embedded). Each row trains through ``reconstruct`` for ``--budget`` seconds
and, in the same run, the straightforward per-step sparse-TF PyTorch loop of the authors'
tutorial (M 20, P 2, τ 16, sequences of 200, batch 16, RAdam lr 1e-3, teacher noise 0.05,
last state kept) for the same wall time; both are judged on a fresh trajectory
(simulated: a new initial condition, 1e5 steps; recording: its held-out last 20%):

- D_stsp (30 bins) against a Gaussian surrogate with the data's mean and covariance
  (same run), bar D_stsp ≤ surrogate / 3; D_H ≤ 0.2; no collapse (the generated orbit's
  last tenth keeps ≥ 10% of the data's spread); λ_max within 30% of the reference (λ_max
  computed from the equations, ``System.lyapunov_max``; dysts' estimate alongside);
- regions visited (Chua is piecewise linear with 3 pieces: minimal P = 2 should visit 3).

Development systems (defaults chosen on them): halvorsen, genesio_tesi. Judged: the rest.
Results go to one JSON per row (``--out``); rerunning skips finished rows (resumable);
``--only a,b`` picks rows; ``--table`` prints the table of what is there.

    python benchmarks/alrnn_panel.py --budget 300            # the issue's protocol
    python benchmarks/alrnn_panel.py --only chen,chua --budget 60
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import numpy as np

DEV = ("halvorsen", "genesio_tesi")
N_TRAIN = 20_000
N_TEST = 100_000


def _rows():
    import toolkit as tk

    rows = [c.name for c in tk.systems.PANEL] + ["lorenz63", "ppg"]
    return rows


def _data(name):
    """(training data, fresh test trajectory, dt, reference λ, dysts λ, true pieces)."""
    import toolkit as tk

    if name == "ppg":
        import pandas as pd

        path = importlib.util.find_spec("heartpy").submodule_search_locations[0]
        frame = pd.read_csv(Path(path) / "data" / "data2.csv")
        x = frame["hr"].to_numpy(dtype=float)
        dt = float(np.median(np.diff(frame["timer"].to_numpy()))) / 1000.0
        return x, None, dt, float("nan"), float("nan"), 0
    system = tk.systems.make(name)
    dt = system.default_dt
    x = tk.systems.trajectory(system, N_TRAIN, dt=dt, seed=0)
    test = tk.systems.trajectory(system, N_TEST, dt=dt, seed=1)
    if name == "lorenz63":
        return x, test, dt, 0.9056, 0.9056, 0
    return (x, test, dt, system.lyapunov_max, system.reference_lyapunov,
            system.linear_pieces)


def tutorial_loop(data, dt, seconds, seed=0):
    """The straightforward per-step sparse-TF loop (torch autograd), for ``seconds``."""
    import torch

    import toolkit as tk

    torch.manual_seed(seed)
    mean, std = data.mean(0), data.std(0)
    z = torch.from_numpy((data - mean) / std)
    N = z.shape[1]
    model = tk.alrnn.ALRNN(20, 2, N, mean=mean, std=std, dt=dt, init="reference", seed=seed)
    opt = torch.optim.RAdam([model.A, model.W, model.h, model.L], lr=1e-3)
    t0, n = time.perf_counter(), 0
    g = torch.Generator().manual_seed(seed)
    while time.perf_counter() - t0 < seconds:
        starts = torch.randint(0, len(z) - 201, (16,), generator=g)
        X = torch.stack([z[s:s + 200] for s in starts], 1)       # (T, B, N)
        X = X + 0.05 * torch.randn(X.shape, generator=g, dtype=X.dtype)
        state = torch.cat([X[0], X[0] @ model.L.T], 1)
        loss = 0.0
        for t in range(1, 200):
            state = model(state)
            loss = loss + ((state[:, :N] - X[t]) ** 2).mean()
            if t % 16 == 0:
                state = torch.cat([X[t], state[:, N:]], 1)
        opt.zero_grad()
        (loss / 199).backward()
        opt.step()
        n += 1
        if not all(torch.isfinite(p).all() for p in model.parameters()):
            break
    return model, n


def judge(model, test, ref_lyap, surrogate_dstsp):
    """Measures of ``model`` on the fresh trajectory, with verdicts (``tk.alrnn.judge``)."""
    import toolkit as tk

    out = tk.alrnn.judge(model, test, lyapunov_ref=ref_lyap, surrogate=surrogate_dstsp)
    return {k: out[k] for k in ("D_stsp", "D_H", "lyapunov_max", "regions", "collapsed",
                                "diverged", "verdict")}


def run_row(name, budget, out):
    import toolkit as tk

    x, test, dt, ref, dysts_ref, pieces = _data(name)
    t0 = time.perf_counter()
    rep = tk.alrnn.reconstruct(x, dt, P=2, M=20, budget_s=budget, progress=False)
    wall = time.perf_counter() - t0
    model = rep.model
    if test is None:   # the recording: judge on its held-out part, embedded as trained
        test = rep.held_out[0]
    sur = tk.alrnn.surrogate_dstsp(test)
    ours = judge(model, test, ref, sur)
    t1 = time.perf_counter()
    train_x = x if rep.embedding["embedded"] is False else tk.alrnn.delay_embed(
        x, rep.embedding["embed_dim"], rep.embedding["lag"])
    base_model, n_batches = tutorial_loop(train_x[: int(0.8 * len(train_x))], dt, wall)
    base = judge(base_model, test, ref, sur)
    row = dict(system=name, dev=name in DEV, budget_s=budget, wall_s=wall,
               baseline_wall_s=time.perf_counter() - t1, baseline_batches=n_batches,
               surrogate_D_stsp=sur, lyapunov_ref=ref, lyapunov_dysts=dysts_ref,
               true_pieces=pieces, ours=ours, baseline=base,
               winner=rep.to_frame().loc[rep.winner, ["seed", "stage"]].tolist(),
               stages=rep.stages, embedding=rep.embedding, notes=list(rep.notes),
               held_out_box_excursion=rep.measures.get("max_excursion"))
    (out / f"{name}.json").write_text(json.dumps(row, indent=1, default=float))
    return row


def table(out):
    rows = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    head = (f"{'system':13s} {'D_stsp':>7s} {'sur/3':>6s} {'D_H':>6s} {'λ_max':>6s} "
            f"{'λ_ref':>6s} {'reg':>3s} {'wall':>5s}  {'verdict':22s}| tutorial loop, "
            f"same wall: {'D_stsp':>7s} {'D_H':>6s} {'λ_max':>6s} verdict")
    print(head)
    print("-" * len(head))
    for r in rows:
        o, b = r["ours"], r["baseline"]
        name = r["system"] + ("*" if r["dev"] else "")
        reg = f"{o['regions']}" + (f"/{r['true_pieces']}" if r["true_pieces"] else "")
        print(f"{name:13s} {o['D_stsp']:7.2f} {r['surrogate_D_stsp'] / 3:6.2f} "
              f"{o['D_H']:6.3f} {o['lyapunov_max']:6.3f} {r['lyapunov_ref']:6.3f} "
              f"{reg:>3s} {r['wall_s']:5.0f}  {o['verdict']:22s}| "
              f"{'':22s}{b['D_stsp']:7.2f} {b['D_H']:6.3f} {b['lyapunov_max']:6.3f} "
              f"{b['verdict']}")
    print("* development system (defaults chosen on it); reg: regions visited "
          "(/true linear pieces); λ in 1/time unit")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=300.0)
    parser.add_argument("--only", default="")
    parser.add_argument("--out", default="build/alrnn_panel")
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--redo", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.table:
        names = [n for n in args.only.split(",") if n] or _rows()
        for name in names:
            if (out / f"{name}.json").exists() and not args.redo:
                continue
            t = time.perf_counter()
            row = run_row(name, args.budget, out)
            print(f"{name}: {row['ours']['verdict']} (tutorial loop: "
                  f"{row['baseline']['verdict']}), {time.perf_counter() - t:.0f} s", flush=True)
    table(out)


if __name__ == "__main__":
    main()
