"""Sweep-ready functions: one toolkit analysis run, summarised as a dict of results.

Each takes the settings as keyword arguments (so any of them can be a grid parameter)
and a ``seed``, and returns numbers plus a few small arrays. They live in the package so
that Dask workers can import them; fix the settings you do not sweep with
``functools.partial``::

    fn = functools.partial(tk.sweep.tasks.grokking_point, p=59, n_steps=1500)
    df = tk.sweep.run(fn, {"weight_decay": [0.3, 1, 3], "train_fraction": [0.3, 0.5]},
                      "runs/phase_diagram", client=client)
"""

from __future__ import annotations

import numpy as np

__all__ = ["grokking_point", "alrnn_point"]


def grokking_point(task: str = "add", p: int = 97, seed: int = 0, **overrides) -> dict:
    """Train the default grokking recipe (``tk.grokking.run_recipe(task, p, seed,
    **overrides)``, e.g. ``weight_decay``, ``train_fraction``, ``n_steps``) and summarise it.

    Returns ``steps_to_memorise`` and ``steps_to_grok`` (first logged steps with train /
    test accuracy ≥ 0.99, None if never), ``grokked``, ``final_train_accuracy``,
    ``final_test_accuracy``, ``steps_run``; arrays ``step``, ``train_accuracy`` and
    ``test_accuracy`` (the logged curves).
    """
    from .. import grokking

    history = grokking.run_recipe(task, p, seed, progress=False, **overrides)
    steps = grokking.steps_to_grok(history)
    train_acc, test_acc = history["train/accuracy"], history["test/accuracy"]
    return {
        "steps_to_memorise": steps.train,
        "steps_to_grok": steps.test,
        "grokked": steps.test is not None,
        "final_train_accuracy": float(train_acc.iloc[-1]),
        "final_test_accuracy": float(test_acc.iloc[-1]),
        "steps_run": int(history.steps[-1]) if len(history) else 0,
        "step": np.asarray(test_acc.index, dtype=np.int64),
        "train_accuracy": train_acc.reindex(test_acc.index).to_numpy(),
        "test_accuracy": test_acc.to_numpy(),
    }


def alrnn_point(P: int, M: int = 20, *, system: str = "lorenz63", n_train: int = 20_000,
                n_test: int = 20_000, dt: float | None = None, data_seed: int = 0,
                n_epochs: int = 50, batches_per_epoch: int = 50, seed: int = 0,
                **train_kwargs) -> dict:
    """Train an AL-RNN with M latent units, P of them ReLU, on a simulated system and
    measure its reconstruction.

    The training trajectory (``n_train`` steps of ``system`` at ``dt``, its default if
    None) and the test trajectory are the same for every point (``data_seed`` and
    ``data_seed + 1``); ``seed`` sets the model's initialisation and the batch sampling.
    ``train_kwargs`` go to ``tk.alrnn.train`` (``method``, ``tau``, ``lr``, ...).

    Returns, from ``tk.alrnn.evaluate`` on the test trajectory: ``D_stsp``, ``D_H``,
    ``n_regions`` (linear subregions the freely generated orbit visits), ``lyapunov_max``;
    also ``diverged`` (training stopped early; the last good state is measured),
    ``train_seconds``, and arrays ``regions`` (visited region ids), ``step`` and
    ``D_stsp_during_training`` (the trainer's periodic evaluation).
    """
    import time

    from .. import alrnn, systems
    from ..training import TrainingDiverged

    x_train = systems.trajectory(system, n_train, dt=dt, seed=data_seed)
    x_test = systems.trajectory(system, n_test, dt=dt, seed=data_seed + 1)
    model = alrnn.ALRNN(M, P, x_train.shape[1], seed=seed)
    t0 = time.perf_counter()
    try:
        history = alrnn.train(model, x_train, n_epochs=n_epochs,
                              batches_per_epoch=batches_per_epoch,
                              dt=systems.make(system).default_dt if dt is None else dt,
                              progress=False, seed=seed, **train_kwargs)
        diverged = False
    except TrainingDiverged as exc:  # the model holds its last good state: measure that
        history, diverged = exc.history, True
    seconds = time.perf_counter() - t0
    ev = alrnn.evaluate(model, x_test)
    curve = history["D_stsp"] if "D_stsp" in history else None
    return {
        "D_stsp": ev.dstsp,
        "D_H": ev.dh,
        "n_regions": int(ev.n_regions),
        "lyapunov_max": ev.lyapunov_max,
        "diverged": diverged,
        "train_seconds": seconds,
        "regions": np.asarray(ev.regions, dtype=np.int64),
        "step": np.asarray([] if curve is None else curve.index, dtype=np.int64),
        "D_stsp_during_training": np.asarray([] if curve is None else curve, dtype=float),
    }
