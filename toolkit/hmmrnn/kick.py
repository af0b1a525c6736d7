"""Kick neurons: the few units through which the network leaves a slow region.

Torre et al. pick kick neurons by hand. Here they are found automatically, by the causal
property that defines them: *silencing their recurrent input stops the transitions*.

:func:`detect_kick_neurons`
    1. Drive the network with a fixed, seeded batch of noise and measure the expected
       output switch rate s = mean_t [1 − Σ_a p_t(a) p_{t+1}(a)] (exact given the
       output probabilities, so no Gumbel noise enters the comparison).
    2. Score every unit by how much s drops when the gain on its recurrent input is set
       to 0 (one unit at a time).
    3. Greedy forward selection among the best-scoring candidates: add the unit whose
       joint ablation lowers s most, until s falls below ``(1 − reduction)·s₀`` or no
       unit lowers it by at least ``min_step`` (relative), or ``max_neurons`` is reached.
    4. A set is reported only when it is *clear*: the greedy search reached the target
       ``reduction`` within ``max_neurons`` units, and silencing it lowers the rate more
       than every one of ``n_controls`` random sets of as many other units. Otherwise
       ``found`` is False, ``neurons`` is empty and ``reason`` says why (the units the
       search tried stay in ``tried`` and ``path``): many emulators spread the trigger
       over the population, and an arbitrary top-k would look like a finding.
    The result also records each unit's activity around output switches (kick neurons
    fire just before a switch) and splits the kick neurons into groups by the switch
    direction they precede.

:func:`ablation_test` validates a set on fresh noise: switch rates of sampled sequences
with a gain on the set's recurrent (or noise) input, against random sets of as many
units outside it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from .._checks import as_array, in_range, one_of, positive
from .._result import Result
from .compare import switch_rate
from .model import NoiseRNN, check_rnn, noise, sample

__all__ = ["ablate", "kick_neurons", "detect_kick_neurons", "KickNeurons",
           "expected_switch_rate", "ablation_test", "Ablation", "strongest_inputs",
           "switch_triggered_activity"]


def _units(rnn: NoiseRNN, neurons, name="neurons") -> np.ndarray:
    idx = as_array(neurons, name, ndim=1, dtype=None) if np.ndim(neurons) else \
        np.asarray([neurons])
    if idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer unit indices, got dtype {idx.dtype}")
    if idx.min() < 0 or idx.max() >= rnn.n_hidden:
        raise ValueError(f"{name}: unit indices must lie in 0..{rnn.n_hidden - 1}, got "
                         f"{idx.min()}..{idx.max()}")
    return np.unique(idx.astype(np.int64))


def ablate(rnn: NoiseRNN, neurons, gain: float = 0.0, *, target: str = "recurrent") -> NoiseRNN:
    """A copy of ``rnn`` with a gain on the chosen units' input.

    ``target="recurrent"`` multiplies their recurrent input (rows of W_hh) by ``gain``;
    ``"noise"`` their noise input (rows of W_in). Gain 0 silences that input, 1 leaves
    the network unchanged, 2 doubles it.
    """
    check_rnn(rnn)
    idx = _units(rnn, neurons)
    in_range(gain, "gain", 0.0, None)
    one_of(target, "target", ("recurrent", "noise"))
    out = copy.deepcopy(rnn)
    with torch.no_grad():
        W = out.W_hh if target == "recurrent" else out.W_in
        W[torch.as_tensor(idx)] *= float(gain)
    return out


def strongest_inputs(rnn: NoiseRNN, neurons, k: int | None = None) -> np.ndarray:
    """The ``k`` units (outside ``neurons``) with the largest total positive recurrent
    weight onto ``neurons`` (default k = len(neurons)): the units whose noise input
    reaches the chosen units most directly."""
    check_rnn(rnn)
    idx = _units(rnn, neurons)
    k = len(idx) if k is None else positive(k, "k", integer=True)
    W = rnn.W_hh.detach().numpy()
    drive = np.clip(W[idx], 0, None).sum(axis=0)
    drive[idx] = -np.inf
    return np.sort(np.argsort(-drive)[:k])


def expected_switch_rate(rnn: NoiseRNN, x: torch.Tensor) -> float:
    """Mean over paths and steps of P(o_{t+1} ≠ o_t | noise) = 1 − Σ_a p_t(a) p_{t+1}(a)
    for noise ``x`` (B, L, D): the switch rate without Gumbel sampling noise."""
    with torch.no_grad():
        p = torch.softmax(rnn(x)[1], -1)
        return float(1.0 - (p[:, 1:] * p[:, :-1]).sum(-1).mean())


def switch_triggered_activity(rnn: NoiseRNN, length: int = 20_000, seed: int = 0,
                              window: int = 4) -> dict:
    """Activity of every unit around switches of the argmax output, on one long seeded
    trajectory. Returns ``lags`` (−window..window), ``mean`` (lags, N) the average
    activity at each lag from a switch, ``baseline`` (N,) the mean activity at least
    ``2·window`` steps from any switch, ``scale`` (N,) its standard deviation,
    ``directions`` (list of (a, b)) and ``before`` (directions, N) the mean activity in
    the ``window`` steps before switches a → b."""
    from .dissect import orbit

    o = orbit(rnn, length, seed)
    h, out = o.hidden, o.output
    sw = np.flatnonzero(out[1:] != out[:-1]) + 1
    sw = sw[(sw >= window) & (sw < len(out) - window)]
    far = np.ones(len(out), dtype=bool)
    for s in sw:
        far[max(0, s - 2 * window): s + 2 * window] = False
    lags = np.arange(-window, window + 1)
    base = h[far] if far.any() else h
    mean = np.stack([h[sw + k].mean(0) if len(sw) else np.zeros(h.shape[1]) for k in lags])
    directions = sorted({(int(out[s - 1]), int(out[s])) for s in sw})
    before = []
    for a, b in directions:
        ev = sw[(out[sw - 1] == a) & (out[sw] == b)]
        before.append(np.mean([h[ev - k].mean(0) for k in range(1, window + 1)], axis=0))
    return {"lags": lags, "mean": mean, "baseline": base.mean(0), "scale": base.std(0),
            "directions": directions,
            "before": np.array(before) if before else np.zeros((0, h.shape[1])),
            "n_switches": int(len(sw))}


def _batch_switch_activity(rnn: NoiseRNN, x: torch.Tensor, window: int = 4) -> dict:
    """``switch_triggered_activity`` on a batch of short noise paths (B, L, D), for
    networks that are only stable over the sequence length they were trained on."""
    with torch.no_grad():
        h, logits = rnn(x)
    h, out = h.numpy(), logits.argmax(-1).numpy()
    B, L, N = h.shape
    rows, cols = np.nonzero(out[:, 1:] != out[:, :-1])
    cols = cols + 1
    keep = (cols >= window) & (cols < L - window)
    rows, cols = rows[keep], cols[keep]
    far = np.ones((B, L), dtype=bool)
    for r, c in zip(rows, cols):
        far[r, max(0, c - 2 * window): c + 2 * window] = False
    base = h[far] if far.any() else h.reshape(-1, N)
    directions = sorted({(int(out[r, c - 1]), int(out[r, c])) for r, c in zip(rows, cols)})
    before = []
    for a, b in directions:
        sel = (out[rows, cols - 1] == a) & (out[rows, cols] == b)
        r, c = rows[sel], cols[sel]
        before.append(np.mean([h[r, c - k].mean(0) for k in range(1, window + 1)], axis=0))
    return {"baseline": base.mean(0), "scale": base.std(0), "directions": directions,
            "before": np.array(before) if before else np.zeros((0, N)),
            "n_switches": int(len(rows))}


@dataclass(frozen=True)
class KickNeurons(Result):
    """Result of :func:`detect_kick_neurons`.

    ``neurons`` the kick neurons (in order of selection); ``single_drop`` (N,) the
    relative drop of the expected switch rate when each unit alone is silenced;
    ``path`` the expected switch rate after each greedy addition of ``tried`` (relative
    to ``baseline``); ``groups`` (len(neurons),) the index into ``directions`` of the
    switch each kick neuron precedes most; ``pre_switch`` (N,) the activity before
    switches minus the activity far from switches, in units of the latter's standard
    deviation. ``found`` whether there is a clear kick set (else ``neurons`` is empty and
    ``reason`` says why); ``control_path`` (n_controls,) the relative switch rate with
    random sets of ``len(tried)`` units silenced; ``target`` the reduction asked for.
    """

    neurons: np.ndarray
    single_drop: np.ndarray
    path: np.ndarray
    baseline: float
    groups: np.ndarray
    directions: np.ndarray
    pre_switch: np.ndarray
    found: bool = True
    reason: str = ""
    tried: np.ndarray = None
    control_path: np.ndarray = None
    target: float = 0.5

    @property
    def reduction(self) -> float:
        """Relative drop of the expected switch rate with all tried units silenced (the
        kick neurons when ``found``)."""
        return float(1.0 - self.path[-1]) if len(self.path) else 0.0

    def summary(self) -> str:
        """One sentence: the kick set and its effect, or why there is none."""
        if self.found:
            ctrl = "" if self.control_path is None or not len(self.control_path) else \
                (f"; random sets of as many units: median "
                 f"{100 * (np.median(self.control_path) - 1):+.0f}%")
            return (f"{len(self.neurons)} kick neurons {np.sort(self.neurons).tolist()}: "
                    f"silencing them changes the expected switch rate by "
                    f"{-100 * self.reduction:+.0f}%{ctrl}")
        return f"no clear kick set: {self.reason}"

    def to_frame(self):
        import pandas as pd

        df = pd.DataFrame({"single-unit drop": self.single_drop,
                           "pre-switch activity (z)": self.pre_switch,
                           "kick neuron": np.isin(np.arange(len(self.single_drop)),
                                                  self.neurons)})
        df.index.name = "unit"
        return df

    def plot(self):
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        units = np.arange(len(self.single_drop))
        is_kick = np.isin(units, self.neurons)
        pts = hv.Points({"single-unit drop of the switch rate": self.single_drop,
                         "pre-switch activity (z)": self.pre_switch, "unit": units,
                         "kick": np.where(is_kick, "kick neuron", "other")},
                        kdims=["single-unit drop of the switch rate",
                               "pre-switch activity (z)"], vdims=["unit", "kick"]).opts(
            color="kick", cmap={"kick neuron": PALETTE[1], "other": "#bbbbbb"}, size=6,
            title="units: causal effect vs activity before switches", legend_position="top")
        k = np.arange(len(self.path) + 1)
        path = hv.Curve((k, np.concatenate([[1.0], self.path])), "kick neurons silenced",
                        "switch rate / intact").opts(color=PALETTE[0],
                                                     title="greedy selection" if self.found
                                                     else "greedy selection: no clear kick set")
        return pts + path * hv.Scatter((k, np.concatenate([[1.0], self.path]))).opts(
            color=PALETTE[0], size=5)


def detect_kick_neurons(rnn: NoiseRNN, *, reduction: float = 0.5, max_neurons: int | None = None,
                        min_step: float = 0.02, n_candidates: int = 24,
                        n_sequences: int = 256, length: int = 100, seed: int = 0,
                        n_controls: int = 10) -> KickNeurons:
    """Find the kick neurons of ``rnn`` (see the module docstring for the procedure).

    ``reduction``: the target: silencing the set must lower the expected switch rate by
    this fraction. ``max_neurons``: largest set (default: 10% of the units, at least 2).
    ``min_step``: stop when the best next unit lowers the rate by less than this
    fraction of the intact rate. ``n_controls``: random sets the found set must beat (0
    skips that test). When no set is clear, ``found`` is False and ``neurons`` empty
    (``reason`` says why). Deterministic for a given ``seed``.
    """
    check_rnn(rnn)
    in_range(reduction, "reduction", 0.0, 1.0, inclusive=(False, False))
    N = rnn.n_hidden
    max_neurons = max(2, N // 10) if max_neurons is None else positive(
        max_neurons, "max_neurons", integer=True)
    n_candidates = positive(n_candidates, "n_candidates", integer=True)
    n_controls = int(positive(n_controls, "n_controls", integer=True, strict=False))
    x = noise(rnn, n_sequences, length, seed)
    s0 = expected_switch_rate(rnn, x)
    if s0 <= 0:
        raise ValueError("rnn: its output never switches; there is nothing to kick")
    single = np.array([expected_switch_rate(ablate(rnn, [i], 0.0), x) for i in range(N)])
    single_drop = 1.0 - single / s0
    candidates = [int(i) for i in np.argsort(-single_drop)[:n_candidates]]
    chosen: list[int] = []
    path: list[float] = []
    current = 1.0
    while len(chosen) < max_neurons and current > 1.0 - reduction:
        trials = [(expected_switch_rate(ablate(rnn, chosen + [c], 0.0), x) / s0, c)
                  for c in candidates if c not in chosen]
        if not trials:
            break
        value, best = min(trials)
        if current - value < min_step:
            break
        chosen.append(best)
        path.append(value)
        current = value
    controls = np.zeros(0)
    if chosen and n_controls:
        rng = np.random.default_rng(seed + 17)
        others = np.setdiff1d(np.arange(N), chosen)
        k = min(len(chosen), len(others))
        controls = np.array([expected_switch_rate(
            ablate(rnn, rng.choice(others, k, replace=False), 0.0), x) / s0
            for _ in range(n_controls)])
    found, reason = True, ""
    if not chosen:
        found = False
        reason = (f"no single unit lowers the expected switch rate by {100 * min_step:.0f}% "
                  "or more when silenced")
    elif current > 1.0 - reduction:
        found = False
        why = f"the set reached {max_neurons} units (max_neurons)" if \
            len(chosen) >= max_neurons else \
            f"no further unit lowered it by {100 * min_step:.0f}% (min_step)"
        reason = (f"silencing the best {len(chosen)} units found greedily lowers the "
                  f"expected switch rate by {100 * (1 - current):.0f}%, short of the "
                  f"{100 * reduction:.0f}% target ({why}): the transitions are not "
                  "triggered by a small set of units")
    elif len(controls) and current >= controls.min():
        found = False
        reason = (f"silencing the {len(chosen)} units found lowers the expected switch "
                  f"rate by {100 * (1 - current):.0f}%, but a random set of as many units "
                  f"does as much ({100 * (1 - controls.min()):.0f}%)")
    try:
        act = switch_triggered_activity(rnn, seed=seed + 1)
    except ValueError:   # unstable over a long orbit: use the detection batch instead
        act = _batch_switch_activity(rnn, x)
    z = (act["before"] - act["baseline"]) / (act["scale"] + 1e-6) if len(act["before"]) \
        else np.zeros((1, N))
    pre = z.max(axis=0)
    kick = chosen if found else []
    groups = z[:, kick].argmax(axis=0) if len(kick) and len(act["before"]) else \
        np.zeros(len(kick), dtype=int)
    return KickNeurons(neurons=np.asarray(kick, dtype=np.int64), single_drop=single_drop,
                       path=np.asarray(path), baseline=s0, groups=np.asarray(groups),
                       directions=np.asarray(act["directions"]).reshape(-1, 2),
                       pre_switch=pre, found=found, reason=reason,
                       tried=np.asarray(chosen, dtype=np.int64), control_path=controls,
                       target=float(reduction))


def kick_neurons(rnn: NoiseRNN, **kwargs) -> np.ndarray:
    """Unit indices of the kick neurons of ``rnn`` (sorted); keyword arguments go to
    :func:`detect_kick_neurons`, which also returns the evidence. When there is no clear
    kick set this returns an empty array and warns with the reason."""
    import warnings

    k = detect_kick_neurons(rnn, **kwargs)
    if not k.found:
        warnings.warn(f"kick_neurons: no clear kick set: {k.reason}", stacklevel=2)
    return np.sort(k.neurons)


@dataclass(frozen=True)
class Ablation(Result):
    """Switch rates of sampled sequences under ablation: ``gains`` (G,), ``kick`` (G,)
    for the tested set, ``controls`` (C, G) for random sets of as many other units,
    ``intact`` without ablation; ``control_sets`` (C, k)."""

    neurons: np.ndarray
    gains: np.ndarray
    kick: np.ndarray
    controls: np.ndarray
    control_sets: np.ndarray
    intact: float
    target: str

    def relative_change(self, gain: float = 0.0) -> dict:
        """Relative change of the switch rate at ``gain``: the set's and the median of the
        controls' (``median_control_abs`` the median of absolute changes)."""
        i = int(np.argmin(np.abs(self.gains - gain)))
        ctrl = self.controls[:, i] / self.intact - 1.0
        return {"kick": float(self.kick[i] / self.intact - 1.0),
                "median_control": float(np.median(ctrl)),
                "median_control_abs": float(np.median(np.abs(ctrl)))}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"kick set": self.kick,
                             "controls (median)": np.median(self.controls, axis=0),
                             "controls (min)": self.controls.min(axis=0),
                             "controls (max)": self.controls.max(axis=0)},
                            index=pd.Index(self.gains, name="gain"))

    def plot(self):
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        lo, hi = self.controls.min(axis=0), self.controls.max(axis=0)
        band = hv.Area((self.gains, lo, hi), "gain", ["switch rate", "hi"],
                       label="random sets (range)").opts(color="#bbbbbb", alpha=0.5)
        med = hv.Curve((self.gains, np.median(self.controls, axis=0)), "gain", "switch rate",
                       label="random sets (median)").opts(color="#777777")
        kick = hv.Curve((self.gains, self.kick), "gain", "switch rate",
                        label="kick neurons").opts(color=PALETTE[1], line_width=2.5)
        intact = hv.HLine(self.intact).opts(color=PALETTE[0], line_dash="dashed")
        return (band * med * kick * intact).opts(
            title=f"gain on the {self.target} input of {len(self.neurons)} units")


def ablation_test(rnn: NoiseRNN, neurons, *, gains=(0.0, 0.5, 1.0, 1.5, 2.0),
                  n_controls: int = 20, target: str = "recurrent", n_sequences: int = 500,
                  length: int = 100, seed: int = 1) -> Ablation:
    """Switch rates of ``n_sequences`` sampled sequences with a gain on ``neurons``'
    input, against ``n_controls`` random sets of as many units outside ``neurons``. Every
    network is sampled with the same seed (common random numbers)."""
    check_rnn(rnn)
    idx = _units(rnn, neurons)
    if len(idx) == 0:
        raise ValueError("neurons: give at least one unit")
    if len(idx) > rnn.n_hidden // 2:
        raise ValueError(f"neurons: {len(idx)} units leave too few for control sets")
    gains = np.asarray([in_range(float(g), "gains", 0.0, None) for g in gains])
    n_controls = positive(n_controls, "n_controls", integer=True)

    def rate(net):
        return switch_rate(sample(net, n_sequences, length, seed=seed))

    rng = np.random.default_rng(seed)
    others = np.setdiff1d(np.arange(rnn.n_hidden), idx)
    sets = np.stack([np.sort(rng.choice(others, len(idx), replace=False))
                     for _ in range(n_controls)])
    kick = np.array([rate(ablate(rnn, idx, g, target=target)) for g in gains])
    controls = np.array([[rate(ablate(rnn, s, g, target=target)) for g in gains]
                         for s in sets])
    return Ablation(neurons=idx, gains=gains, kick=kick, controls=controls,
                    control_sets=sets, intact=rate(rnn), target=target)
