"""How the mechanism appears during training, read from saved checkpoints.

For each checkpoint :func:`training_evolution` drives the network with the same noise
(sequences as long as in training, from h_0 = 0) and measures the output switch rate,
the mean number of critical complex eigenvalue pairs of the per-step Jacobians, and the
fraction of expanding steps (any |λ| > 1).
The "bifurcation step" is where these change most sharply: the split that best explains
all (range-normalised) curves as two constant pieces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._checks import as_array, positive
from .._result import Result
from .compare import switch_rate
from .dissect import jacobian_spectra
from .hmm import HMM
from .model import NoiseRNN, check_rnn

__all__ = ["load_checkpoints", "training_evolution", "TrainingEvolution", "change_point"]

_STEP = re.compile(r"step_(\d+)\.safetensors$")


def load_checkpoints(folder) -> list[tuple[int, NoiseRNN]]:
    """All ``step_*.safetensors`` checkpoints in ``folder`` (as written by ``train``), as
    (step, network) pairs sorted by step."""
    from .. import io

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder: {folder} is not a folder")
    found = sorted((int(m.group(1)), p) for p in folder.iterdir()
                   if (m := _STEP.search(p.name)))
    if not found:
        raise ValueError(f"folder: no step_*.safetensors checkpoints in {folder}")
    return [(step, io.load(p)) for step, p in found]


def change_point(curves) -> int:
    """Index k (1 ≤ k < n) of the best split of curves (n,) or (m, n) into two constant
    pieces [0, k) and [k, n), each curve normalised to its range (least squares)."""
    y = as_array(curves, "curves", ndim=(1, 2))
    if y.ndim == 1:
        y = y[None]
    if y.shape[1] < 2:
        raise ValueError(f"curves: need at least 2 points, got {y.shape[1]}")
    span = np.ptp(y, axis=1, keepdims=True)
    y = (y - y.min(axis=1, keepdims=True)) / np.where(span > 0, span, 1.0)
    n = y.shape[1]
    best, best_k = np.inf, 1
    for k in range(1, n):
        sse = ((y[:, :k] - y[:, :k].mean(1, keepdims=True)) ** 2).sum() + \
              ((y[:, k:] - y[:, k:].mean(1, keepdims=True)) ** 2).sum()
        if sse < best - 1e-12:
            best, best_k = sse, k
    return best_k


@dataclass(frozen=True)
class TrainingEvolution(Result):
    """Measures per checkpoint: ``steps``, ``switch_rate`` (sampled symbols),
    ``argmax_switch_rate`` (changes of the most likely output), ``critical_pairs`` (mean
    count per step), ``expanding_fraction``, ``log_likelihood`` (per step under the HMM,
    NaN without one), and ``bifurcation_step``."""

    steps: np.ndarray
    switch_rate: np.ndarray
    argmax_switch_rate: np.ndarray
    critical_pairs: np.ndarray
    expanding_fraction: np.ndarray
    log_likelihood: np.ndarray
    bifurcation_step: int

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"switch rate": self.switch_rate,
                             "argmax switch rate": self.argmax_switch_rate,
                             "critical pairs": self.critical_pairs,
                             "expanding fraction": self.expanding_fraction,
                             "log-likelihood / step": self.log_likelihood},
                            index=pd.Index(self.steps, name="step"))

    def plot(self):
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        panels = []
        series = [("switch rate", self.switch_rate), ("critical pairs", self.critical_pairs),
                  ("expanding fraction", self.expanding_fraction)]
        if np.isfinite(self.log_likelihood).any():
            series.append(("log-likelihood / step", self.log_likelihood))
        for i, (name, y) in enumerate(series):
            curve = hv.Curve((self.steps, y), "training step", name).opts(
                color=PALETTE[i], title=name, width=300, height=240)
            line = hv.VLine(self.bifurcation_step).opts(color="#999999", line_dash="dashed")
            panels.append(curve * hv.Scatter((self.steps, y)).opts(color=PALETTE[i], size=4)
                          * line)
        return hv.Layout(panels).cols(len(panels)).opts(
            title=f"over training (dashed: bifurcation step {self.bifurcation_step})")


def training_evolution(checkpoints, hmm: HMM | None = None, *, n_sequences: int = 200,
                       length: int | None = None, n_jacobians: int = 400,
                       seed: int = 0) -> TrainingEvolution:
    """Measure every checkpoint (a folder, or a list of (step, NoiseRNN) pairs) on the same
    noise: ``n_sequences`` sequences of ``length`` steps from h_0 = 0 (default: the HMM's
    training length, else 100), as in training, so that checkpoints whose activity would
    diverge over long runs are still measured where they were trained. Jacobian spectra
    at ``n_jacobians`` steps drawn evenly from all sequences. With ``hmm``, also the
    per-step log-likelihood of the generated symbols under it."""
    from .model import run
    from .train import default_length

    if isinstance(checkpoints, str | Path):
        checkpoints = load_checkpoints(checkpoints)
    checkpoints = list(checkpoints)
    if len(checkpoints) < 2:
        raise ValueError(f"checkpoints: need at least 2, got {len(checkpoints)}")
    for i, item in enumerate(checkpoints):
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"checkpoints: entry {i} is not a (step, network) pair")
        check_rnn(item[1], name=f"checkpoints[{i}]")
    if hmm is not None:
        from .hmm import as_hmm

        if isinstance(hmm, str):
            raise TypeError(f"hmm: expected a toolkit.hmmrnn.HMM, got the string {hmm!r}")
        hmm = as_hmm(hmm)   # also a fitted hmmlearn CategoricalHMM, or matrices
    if length is None:
        length = default_length(hmm) if hmm is not None else 100
    length = positive(length, "length", integer=True)
    if length < 2:
        raise ValueError(f"length: need at least 2 steps, got {length}")
    n_sequences = positive(n_sequences, "n_sequences", integer=True)
    n_jacobians = positive(n_jacobians, "n_jacobians", integer=True)
    rows = []
    for _, rnn in checkpoints:
        out = run(rnn, n_sequences, length, seed)
        symbols, argmax = out["symbols"], out["probs"].argmax(-1)
        h = out["hidden"]
        before = h[:, :-1].reshape(-1, rnn.n_hidden)
        after = h[:, 1:].reshape(-1, rnn.n_hidden)
        pick = np.linspace(0, len(before) - 1, min(n_jacobians, len(before))).astype(int)
        finite = np.isfinite(before[pick]).all(1) & np.isfinite(after[pick]).all(1)
        if finite.any():
            spectra = jacobian_spectra(rnn, before[pick][finite], after[pick][finite])
            crit, expanding = spectra.mean_critical, spectra.expanding_fraction
        else:
            crit = expanding = np.nan
        ll = (hmm.log_likelihood(symbols).mean() / length) if hmm is not None else np.nan
        rows.append((switch_rate(symbols), switch_rate(argmax), crit, expanding, ll))
    data = np.array(rows, dtype=float)
    steps = np.array([s for s, _ in checkpoints])
    curves = data[:, :4].T
    curves = curves[np.isfinite(curves).all(axis=1)]
    k = change_point(curves)
    return TrainingEvolution(steps=steps, switch_rate=data[:, 0],
                             argmax_switch_rate=data[:, 1], critical_pairs=data[:, 2],
                             expanding_fraction=data[:, 3], log_likelihood=data[:, 4],
                             bifurcation_step=int(steps[k]))
