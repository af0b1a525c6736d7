"""Phase diagram of grokking over (train fraction × weight decay), on ``toolkit.sweep``.

    pd = tk.grokking.phase_diagram("add", 59, train_fractions=[0.2, 0.3, 0.5],
                                   weight_decays=[0.1, 0.3, 1, 3], store="runs/phase")
    pd.plot()        # heat map of steps to 99 % test accuracy; "·" marks runs that did not
    pd.to_frame()    # one row per (weight decay, train fraction), seeds summarised

Each point is ``tk.sweep.tasks.grokking_point`` (the recipe, ``run_recipe``), so the sweep
resumes from its store and runs on a Dask client when one is given. Per cell: the median
over seeds of the steps to 99 % train and test accuracy (over the seeds that reached it),
the share of seeds that grokked, and the median final test accuracy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .._checks import as_array
from .._result import Result

__all__ = ["phase_diagram", "PhaseDiagram"]


@dataclass(frozen=True, repr=False)
class PhaseDiagram(Result):
    """Grokking outcome per cell; arrays have shape (len(weight_decays), len(train_fractions)).

    ``steps_to_grok`` / ``steps_to_memorise``: median first step with test / train accuracy
    ≥ 0.99 over the seeds that reached it (NaN if none did); ``grokked_share``: share of
    the seeds that grokked; ``final_test_accuracy``: median over seeds.
    """

    task: str
    p: int
    train_fractions: np.ndarray
    weight_decays: np.ndarray
    steps_to_grok: np.ndarray
    steps_to_memorise: np.ndarray
    grokked_share: np.ndarray
    final_test_accuracy: np.ndarray
    n_seeds: int
    n_steps: int

    def to_frame(self):
        import pandas as pd

        rows = []
        for i, wd in enumerate(self.weight_decays):
            for j, f in enumerate(self.train_fractions):
                rows.append(dict(weight_decay=float(wd), train_fraction=float(f),
                                 steps_to_memorise=self.steps_to_memorise[i, j],
                                 steps_to_grok=self.steps_to_grok[i, j],
                                 grokked_share=self.grokked_share[i, j],
                                 final_test_accuracy=self.final_test_accuracy[i, j]))
        return pd.DataFrame(rows)

    def plot(self, title: str | None = None, *, width: int = 560, height: int = 420):
        """Heat map of log₁₀ steps to grok (colour bar in steps), each cell labelled with
        its step count; cells where no seed grokked within the budget are grey and
        labelled "·"; a partly grokked cell shows the share (e.g. "2/3")."""
        import holoviews as hv
        from bokeh.models import FixedTicker

        from ..viz import _ensure_theme

        _ensure_theme()
        xs = [f"{f:g}" for f in self.train_fractions]
        ys = [f"{w:g}" for w in self.weight_decays]
        cells, labels = [], []
        for i, y in enumerate(ys):
            for j, x in enumerate(xs):
                s = self.steps_to_grok[i, j]
                share = self.grokked_share[i, j]
                value = np.log10(s) if np.isfinite(s) else np.nan
                cells.append((x, y, value))
                if not np.isfinite(s):
                    text = "·"
                elif share < 1:
                    k = int(round(share * self.n_seeds))
                    text = f"{int(s)}\n{k}/{self.n_seeds}"
                else:
                    text = f"{int(s)}"
                labels.append((x, y, text))
        finite = self.steps_to_grok[np.isfinite(self.steps_to_grok)]
        lo, hi = (np.log10(finite.min()), np.log10(finite.max())) if finite.size else (1, 3)
        if hi - lo < 0.3:
            lo, hi = lo - 0.15, hi + 0.15
        ticks = [t for t in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000,
                             50000) if lo - 1e-9 <= np.log10(t) <= hi + 1e-9]
        heat = hv.HeatMap(cells, kdims=["train fraction", "weight decay"],
                          vdims=["log10 steps"]).opts(
            cmap="viridis_r", clim=(lo, hi), clipping_colors={"NaN": "#d9d9d9"},
            colorbar=True, colorbar_opts={
                "title": "steps to 99% test acc.",
                "ticker": FixedTicker(ticks=[float(np.log10(t)) for t in ticks]),
                "major_label_overrides": {float(np.log10(t)): f"{t:,}" for t in ticks}},
            tools=["hover"], line_color="white", line_width=1.5, width=width,
            height=height, xlabel="train fraction", ylabel="weight decay",
            fontsize={"title": 13, "labels": 12, "xticks": 11, "yticks": 11})
        text = hv.Labels(labels, kdims=["train fraction", "weight decay"],
                         vdims=["text"]).opts(text_font_size="10pt", text_color="white")
        seeds = "seed" if self.n_seeds == 1 else f"median of {self.n_seeds} seeds"
        title = title or (f"grokking phase diagram: {self.task} mod {self.p} "
                          f"({seeds}, ≤ {self.n_steps:,} steps; · = did not grok)")
        return (heat * text).opts(title=title)


def _median(values):
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    return float(np.median(v)) if v.size else np.nan


def phase_diagram(task: str = "add", p: int = 59, *, train_fractions=(0.2, 0.3, 0.4, 0.6),
                  weight_decays=(0.1, 0.3, 1.0, 3.0), seeds=(0,), store=None, client=None,
                  n_steps: int = 3000, progress: bool = False, **overrides) -> PhaseDiagram:
    """Run the recipe on every (weight decay, train fraction, seed) and summarise it.

    ``store``: the sweep folder (resumable; a temporary folder if None); ``client``: an
    optional Dask client; ``overrides`` go to :func:`~toolkit.grokking.run_recipe` for
    every point (``lr``, ``hidden``, …). Settings the recipe does not expect to grok still
    run (their warnings are silenced: the diagram is where one looks for that boundary).
    """
    import tempfile
    import warnings

    from .. import sweep
    from .recipes import NotExpectedToGrok, recipe_settings

    fr = as_array(train_fractions, "train_fractions", ndim=1, min_length=1)
    wd = as_array(weight_decays, "weight_decays", ndim=1, min_length=1)
    if np.any((fr <= 0) | (fr >= 1)):
        raise ValueError("train_fractions: each must lie strictly between 0 and 1")
    if np.any(wd < 0):
        raise ValueError("weight_decays: must be non-negative")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds: give at least one seed")
    for bad in ("train_fraction", "weight_decay", "seed", "task", "p"):
        if bad in overrides:
            raise TypeError(f"{bad}: set by the diagram's own arguments, not an override")
    recipe_settings(task, p, n_steps=n_steps, **overrides)   # bad overrides fail here, early
    fn = functools.partial(sweep.tasks.grokking_point, task=task, p=int(p), n_steps=n_steps,
                           **overrides)
    grid = {"weight_decay": [float(w) for w in wd], "train_fraction": [float(f) for f in fr],
            "seed": seeds}
    tmp = None
    if store is None:
        tmp = tempfile.TemporaryDirectory(prefix="phase_diagram_")
        store = tmp.name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotExpectedToGrok)
            df = sweep.run(fn, grid, store, client, progress=progress)
    finally:
        if tmp is not None:
            tmp.cleanup()
    failed = df[df["status"] != "ok"]
    if len(failed):
        raise RuntimeError(f"phase_diagram: {len(failed)} point(s) failed, first: "
                           f"{failed['error'].iloc[0]}")
    shape = (len(wd), len(fr))
    out = {k: np.full(shape, np.nan) for k in ("grok", "mem", "share", "acc")}
    for i, w in enumerate(wd):
        for j, f in enumerate(fr):
            cell = df[np.isclose(df["weight_decay"], w) & np.isclose(df["train_fraction"], f)]
            grok = [None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)
                    for v in cell["steps_to_grok"]]
            mem = [None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)
                   for v in cell["steps_to_memorise"]]
            out["grok"][i, j] = _median(grok)
            out["mem"][i, j] = _median(mem)
            out["share"][i, j] = np.mean([g is not None for g in grok])
            out["acc"][i, j] = float(np.median(cell["final_test_accuracy"]))
    return PhaseDiagram(task, int(p), fr.copy(), wd.copy(), out["grok"], out["mem"],
                        out["share"], out["acc"], len(seeds), int(n_steps))
