"""Taking a noise-driven RNN apart (Torre et al., NeurIPS 2025, section 4).

* :func:`fixed_point`: without input, where does activity go? (bias-free ReLU networks
  always have h = 0 as a fixed point; trained emulators collapse onto it.)
* :func:`orbit`: a long noise-driven trajectory and its PCA projection, with outputs.
* :func:`residency`: from each state, fresh-noise rollouts count the steps until the
  argmax output changes: slow regions (clusters), kick zones and fast transitions.
* :func:`jacobian_spectra`: eigenvalues of the per-step Jacobians along a trajectory,
  Cayley-mapped, with the count of critical complex pairs and the expanding steps.
* :func:`noise_sensitivity`: how much trajectories from one state spread when part of
  the noise is redrawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._checks import as_array, in_range, positive
from .._result import Result
from .model import NoiseRNN, check_rnn, noise

__all__ = ["fixed_point", "FixedPoint", "orbit", "Orbit", "residency", "Residency",
           "RESIDENCY_CLASSES", "jacobian_spectra", "JacobianSpectra", "noise_sensitivity",
           "NoiseSensitivity", "cayley"]

#: residency classes, in the order of their integer codes
RESIDENCY_CLASSES = ("cluster", "kick zone", "transition", "slow, uncertain")


def _tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float32)


def _states(rnn: NoiseRNN, states, name="states") -> np.ndarray:
    s = as_array(states, name, ndim=(1, 2))
    if s.ndim == 1:
        s = s[None]
    if s.shape[1] != rnn.n_hidden:
        raise ValueError(f"{name}: expected {rnn.n_hidden} hidden units per state, got "
                         f"shape {s.shape}")
    if len(s) == 0:
        raise ValueError(f"{name}: no states given")
    return s


# ----------------------------------------------------------------- fixed point
@dataclass(frozen=True)
class FixedPoint(Result):
    """Where the input-free map h ↦ relu(W_hh h) takes every start.

    ``norms`` (n_steps + 1, n_starts): |h_t| along each run; ``final`` the end states;
    ``point`` their mean; ``spread`` the largest distance of a final state from it.
    """

    norms: np.ndarray
    final: np.ndarray
    point: np.ndarray
    spread: float

    @property
    def is_origin(self) -> bool:
        """True when every run ended at h = 0 (to 1e-6 of the largest start norm)."""
        return bool(np.abs(self.final).max() <= 1e-6 * max(1.0, float(self.norms[0].max())))

    @property
    def n_steps_to_collapse(self) -> int:
        """Steps until every run is within 1e-3 of its start norm of the final point."""
        d = self.norms / np.maximum(self.norms[:1], 1e-12)
        below = np.all(d < 1e-3, axis=1)
        return int(np.argmax(below)) if below.any() else -1

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"step": np.arange(len(self.norms)),
                             "median norm": np.median(self.norms, axis=1),
                             "max norm": self.norms.max(axis=1)}).set_index("step")

    def plot(self):
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        t = np.arange(len(self.norms))
        curves = [hv.Curve((t, np.maximum(self.norms[:, i], 1e-12)), "step", "|h_t|").opts(
            color=PALETTE[0], alpha=0.3, line_width=1) for i in range(min(50, self.norms.shape[1]))]
        return hv.Overlay(curves).opts(logy=True, title="input-free runs collapse "
                                       f"({'to h = 0' if self.is_origin else 'to a point'})")


def fixed_point(rnn: NoiseRNN, n_starts: int = 100, n_steps: int = 500, seed: int = 0,
                starts=None) -> FixedPoint:
    """Run the input-free map from ``n_starts`` states the network visits under noise
    (or from ``starts`` (n, N)) for ``n_steps`` steps."""
    check_rnn(rnn)
    n_steps = positive(n_steps, "n_steps", integer=True)
    if starts is None:
        n_starts = positive(n_starts, "n_starts", integer=True)
        with torch.no_grad():
            h = rnn.hidden(noise(rnn, n_starts, 50, seed))[:, -1]
    else:
        h = _tensor(_states(rnn, starts, "starts"))
    norms = np.empty((n_steps + 1, len(h)))
    with torch.no_grad():
        norms[0] = h.norm(dim=1).numpy()
        for t in range(n_steps):
            h = rnn.step(h)
            norms[t + 1] = h.norm(dim=1).numpy()
    final = h.numpy()
    point = final.mean(axis=0)
    return FixedPoint(norms=norms, final=final, point=point,
                      spread=float(np.linalg.norm(final - point, axis=1).max()))


# ----------------------------------------------------------------- orbits
@dataclass(frozen=True)
class Orbit(Result):
    """A noise-driven trajectory: ``hidden`` (T, N), its PCA projection ``pcs`` (T, d),
    output probabilities ``probs`` (T, K), the argmax output ``output`` (T,), the sampled
    symbols ``symbols`` (T,), the noise ``x`` (T, D), and the PCA basis (``mean``,
    ``components`` (d, N), ``explained`` variance ratios)."""

    hidden: np.ndarray
    pcs: np.ndarray
    probs: np.ndarray
    output: np.ndarray
    symbols: np.ndarray
    x: np.ndarray
    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray

    def project(self, hidden) -> np.ndarray:
        """Project other states (n, N) onto this orbit's principal components."""
        h = as_array(hidden, "hidden", ndim=2)
        return (h - self.mean) @ self.components.T

    def to_frame(self):
        import pandas as pd

        df = pd.DataFrame(self.pcs, columns=[f"PC{i + 1}" for i in range(self.pcs.shape[1])])
        df["output"] = self.output
        df["symbol"] = self.symbols
        df.index.name = "step"
        return df

    def plot(self, color=None, *, dims=(0, 1), max_points: int = 5000, title: str = ""):
        """PCA scatter coloured by the argmax output (default) or by ``color`` (T,)."""
        from ..viz import phase_portrait

        c = self.output if color is None else np.asarray(color)
        step = max(1, len(self.pcs) // max_points)
        labels = [f"PC{i + 1} ({100 * e:.0f}%)" for i, e in enumerate(self.explained)]
        return phase_portrait(self.pcs[::step], dims=dims, labels=labels, color=c[::step],
                              kind="points", title=title or "noise-driven orbit (colour: "
                              "argmax output)").opts(size=3)


def orbit(rnn: NoiseRNN, length: int = 5000, seed: int = 0, *, n_components: int = 3,
          transient: int = 50, basis: Orbit | None = None, x=None) -> Orbit:
    """One long noise-driven trajectory of ``rnn`` (after ``transient`` steps from
    h_0 = 0) and its PCA projection (``basis``: reuse another orbit's PCA basis, e.g. to
    compare an ablated network with the intact one in the same coordinates)."""
    check_rnn(rnn)
    length = positive(length, "length", integer=True)
    transient = positive(transient, "transient", strict=False, integer=True)
    if x is None:
        xt = noise(rnn, 1, length + transient, seed)
    else:
        xt = _tensor(as_array(x, "x", ndim=2))[None]
        if xt.shape[-1] != rnn.n_noise:
            raise ValueError(f"x: expected {rnn.n_noise} noise dimensions, got {xt.shape[-1]}")
        transient = 0
    gen = torch.Generator().manual_seed(int(seed) + 1)
    with torch.no_grad():
        h, logits = rnn(xt)
        symbols = rnn.emit(logits, gen).argmax(-1)
    h, logits = h[0, transient:].numpy(), logits[0, transient:]
    if not np.all(np.isfinite(h)):
        first = int(np.argmax(~np.isfinite(h).all(axis=1))) + transient
        raise ValueError(f"rnn: activity stops being finite after {first} steps (an unstable "
                         "network); use a shorter length")
    probs = torch.softmax(logits, -1).numpy()
    if basis is None:
        mean = h.mean(axis=0)
        k = int(min(positive(n_components, "n_components", integer=True), h.shape[1],
                    len(h)))
        _, sv, vt = np.linalg.svd((h - mean).astype(np.float64), full_matrices=False)
        components = vt[:k]
        var = sv**2
        explained = var[:k] / var.sum() if var.sum() > 0 else np.zeros(k)
        # a sign convention, so that the same network gives the same picture
        signs = np.sign(components[np.arange(k), np.abs(components).argmax(axis=1)])
        components = components * signs[:, None]
    else:
        mean, components, explained = basis.mean, basis.components, basis.explained
    return Orbit(hidden=h, pcs=(h - mean) @ components.T, probs=probs,
                 output=probs.argmax(-1), symbols=symbols[0, transient:].numpy(),
                 x=xt[0, transient:].numpy(), mean=mean, components=components,
                 explained=explained)


# ----------------------------------------------------------------- residency
@dataclass(frozen=True)
class Residency(Result):
    """Residency of states: ``steps`` (M,) mean number of steps until the argmax output
    changes under fresh noise (capped at ``cap``), ``max_prob`` (M,) the largest output
    probability at the state, ``classes`` (M,) codes into :data:`RESIDENCY_CLASSES`:
    transition (< 2 steps), kick zone (2–8), cluster (> 8 and max prob > 0.8), otherwise
    slow but uncertain."""

    steps: np.ndarray
    max_prob: np.ndarray
    classes: np.ndarray
    cap: int

    @property
    def names(self) -> np.ndarray:
        return np.asarray(RESIDENCY_CLASSES)[self.classes]

    def fractions(self) -> dict:
        return {name: float(np.mean(self.classes == i)) for i, name in
                enumerate(RESIDENCY_CLASSES)}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"steps to output change": self.steps, "max prob": self.max_prob,
                             "class": self.names})

    def plot(self):
        import holoviews as hv

        from ..viz import _ensure_theme

        _ensure_theme()
        return hv.Histogram(np.histogram(self.steps, bins=np.arange(0, self.cap + 2)),
                            kdims="steps until the output changes").opts(
            title="residency of visited states", logy=False)


def residency(rnn: NoiseRNN, states, *, n_rollouts: int = 20, cap: int = 60, seed: int = 0,
              kick_range: tuple[int, int] = (2, 8), confident: float = 0.8) -> Residency:
    """Classify ``states`` (M, N) by how long the argmax output survives fresh noise."""
    check_rnn(rnn)
    s = _states(rnn, states)
    n_rollouts = positive(n_rollouts, "n_rollouts", integer=True)
    cap = positive(cap, "cap", integer=True)
    in_range(confident, "confident", 0.0, 1.0)
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        h0 = _tensor(s)
        probs0 = torch.softmax(rnn.readout(h0), -1)
        out0 = probs0.argmax(-1)
        h = h0.repeat_interleave(n_rollouts, 0)
        start = out0.repeat_interleave(n_rollouts, 0)
        steps = torch.full((len(h),), cap, dtype=torch.long)
        alive = torch.ones(len(h), dtype=torch.bool)
        for k in range(1, cap + 1):
            h = rnn.step(h, torch.randn(len(h), rnn.n_noise, generator=gen))
            changed = alive & (rnn.readout(h).argmax(-1) != start)
            steps[changed] = k
            alive &= ~changed
            if not alive.any():
                break
    mean_steps = steps.float().reshape(len(s), n_rollouts).mean(1).numpy()
    max_prob = probs0.max(-1).values.numpy()
    lo, hi = kick_range
    classes = np.full(len(s), 3)
    classes[mean_steps < lo] = 2
    classes[(mean_steps >= lo) & (mean_steps <= hi)] = 1
    classes[(mean_steps > hi) & (max_prob > confident)] = 0
    return Residency(steps=mean_steps, max_prob=max_prob, classes=classes, cap=int(cap))


# ----------------------------------------------------------------- Jacobians
def cayley(z):
    """The map z ↦ (z − 1)/(z + 1): the unit circle goes to the imaginary axis, so
    |λ| ≈ 1 (marginal) becomes Re ≈ 0 (as in the reference)."""
    z = np.asarray(z, dtype=complex)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (z - 1) / (z + 1)


@dataclass(frozen=True)
class JacobianSpectra(Result):
    """Eigenvalues ``eigenvalues`` (T, N) of J_t = diag(1[h_{t+1} > 0]) W_hh along a
    trajectory; ``critical`` (T,) the number of critical complex pairs (Cayley image
    with |Re| < ``re_tol`` and Im > ``im_tol``); ``expanding`` (T,) whether any |λ| > 1;
    ``radius`` (T,) the spectral radius."""

    eigenvalues: np.ndarray
    critical: np.ndarray
    expanding: np.ndarray
    radius: np.ndarray
    re_tol: float
    im_tol: float

    @property
    def mean_critical(self) -> float:
        return float(self.critical.mean())

    @property
    def expanding_fraction(self) -> float:
        return float(self.expanding.mean())

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"critical pairs": self.critical, "expanding": self.expanding,
                             "spectral radius": self.radius})

    def plot(self, steps=None, *, max_points: int = 20_000):
        """Eigenvalues in the Cayley plane (all steps, or the chosen ``steps``); at most
        ``max_points`` of them are drawn (every k-th), which keeps a notebook light."""
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        max_points = positive(max_points, "max_points", integer=True)
        ev = self.eigenvalues if steps is None else self.eigenvalues[np.asarray(steps)]
        w = cayley(ev.ravel())
        w = w[np.isfinite(w) & (np.abs(w) < 10)]
        w = w[:: max(1, -(-len(w) // max_points))]
        box = hv.Rectangles([(-self.re_tol, self.im_tol, self.re_tol, 10)]).opts(
            alpha=0.15, color=PALETTE[1], line_alpha=0)
        pts = hv.Points((w.real, w.imag), ["Re (z−1)/(z+1)", "Im (z−1)/(z+1)"]).opts(
            size=2, alpha=0.3, color=PALETTE[0])
        return (box * pts).opts(title=f"Jacobian spectra (mean critical pairs "
                                f"{self.mean_critical:.2f}, expanding "
                                f"{100 * self.expanding_fraction:.0f}% of steps)",
                                xlim=(-3, 3), ylim=(-3, 3))


def jacobian_spectra(rnn: NoiseRNN, hidden, next_hidden=None, *, re_tol: float = 0.1,
                     im_tol: float = 0.05) -> JacobianSpectra:
    """Spectra of the per-step Jacobians along ``hidden`` (T, N), a trajectory of ``rnn``
    (e.g. ``orbit(rnn).hidden``). The step t → t+1 has Jacobian diag(1[h_{t+1} > 0]) W_hh:
    the units active after the step pass the recurrent input on, the others block it.
    ``next_hidden`` (T, N): the states after each step, for steps that are not
    consecutive rows of ``hidden`` (then every row gives one Jacobian)."""
    check_rnn(rnn)
    h = _states(rnn, hidden, "hidden")
    if next_hidden is None:
        if len(h) < 2:
            raise ValueError("hidden: need a trajectory of at least 2 states")
        after = h[1:]
    else:
        after = _states(rnn, next_hidden, "next_hidden")
        if after.shape != h.shape:
            raise ValueError(f"next_hidden: shape {after.shape} differs from hidden's {h.shape}")
    W = rnn.W_hh.detach().numpy().astype(float)
    masks = (after > 0).astype(float)
    J = masks[:, :, None] * W[None]
    ev = np.linalg.eigvals(J)
    w = cayley(ev)
    critical = np.sum((np.abs(w.real) < re_tol) & (w.imag > im_tol), axis=1)
    radius = np.abs(ev).max(axis=1)
    return JacobianSpectra(eigenvalues=ev, critical=critical, expanding=radius > 1.0,
                           radius=radius, re_tol=float(re_tol), im_tol=float(im_tol))


# ----------------------------------------------------------------- noise sensitivity
@dataclass(frozen=True)
class NoiseSensitivity(Result):
    """Rollouts from one state with noise (1 − γ)·nominal + γ·fresh: ``trajectories``
    (G, R, n_steps + 1, N); ``spread`` (G, n_steps + 1) the mean distance of the rollouts
    from their mean; ``switched`` (G,) the fraction of rollouts whose argmax output
    changed at least once."""

    gammas: np.ndarray
    trajectories: np.ndarray
    spread: np.ndarray
    switched: np.ndarray

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.spread.T, columns=[f"γ = {g:g}" for g in self.gammas]
                            ).rename_axis("step")

    def plot(self, title: str = ""):
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        t = np.arange(self.spread.shape[1])
        return hv.Overlay([hv.Curve((t, self.spread[i]), "step", "spread of rollouts",
                                    label=f"γ = {g:g}").opts(color=PALETTE[i % len(PALETTE)])
                           for i, g in enumerate(self.gammas)]).opts(
            title=title or "noise sensitivity")


def noise_sensitivity(rnn: NoiseRNN, state, *, gammas=(0.0, 0.5, 1.0), n_rollouts: int = 20,
                      n_steps: int = 20, seed: int = 0) -> NoiseSensitivity:
    """From ``state`` (N,), ``n_rollouts`` rollouts of ``n_steps`` steps whose noise mixes
    one nominal draw (shared) with fresh draws (per rollout) in proportion γ."""
    check_rnn(rnn)
    h0 = _states(rnn, state, "state")
    if len(h0) != 1:
        raise ValueError(f"state: expected one state, got {len(h0)}")
    gammas = np.asarray([in_range(float(g), "gammas", 0.0, 1.0) for g in gammas])
    n_rollouts = positive(n_rollouts, "n_rollouts", integer=True)
    n_steps = positive(n_steps, "n_steps", integer=True)
    gen = torch.Generator().manual_seed(int(seed))
    nominal = torch.randn(n_steps, rnn.n_noise, generator=gen)
    fresh = torch.randn(n_rollouts, n_steps, rnn.n_noise, generator=gen)
    trajs = np.empty((len(gammas), n_rollouts, n_steps + 1, rnn.n_hidden))
    switched = np.empty(len(gammas))
    with torch.no_grad():
        for i, g in enumerate(gammas):
            x = (1 - g) * nominal[None] + g * fresh
            h = _tensor(h0).repeat(n_rollouts, 1)
            start = rnn.readout(h).argmax(-1)
            out = [h]
            changed = torch.zeros(n_rollouts, dtype=torch.bool)
            for t in range(n_steps):
                h = rnn.step(h, x[:, t])
                changed |= rnn.readout(h).argmax(-1) != start
                out.append(h)
            trajs[i] = torch.stack(out, 1).numpy()
            switched[i] = changed.float().mean().item()
    spread = np.linalg.norm(trajs - trajs.mean(axis=1, keepdims=True), axis=-1).mean(axis=1)
    return NoiseSensitivity(gammas=gammas, trajectories=trajs, spread=spread,
                            switched=switched)
