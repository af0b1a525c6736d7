"""Training AL-RNNs by sparse or generalized teacher forcing, fast on a CPU.

:func:`train` z-scores the data (one or several trajectories), stores the normalisation
in the model, and runs :func:`toolkit.training.fit` with a step that draws a batch of
random subsequences and computes the loss and its gradient with the hand-written BPTT of
:mod:`toolkit.alrnn._bptt` (no per-step autograd). At intervals it runs the model freely
from several data points and scores the orbits by D_stsp and D_H; the best-scoring
state is kept, because a small teacher-forced loss does not mean good long-term
dynamics (free orbits can fall onto a fixed point while the forced loss still drops).

Methods (Brenner et al. 2024; Hess et al. 2023):
- ``"sparse_tf"``: every τ steps the first N units are replaced by the data.
- ``"gtf"``: every τ steps (default every step) they are replaced by
  (1 − α) z + α x. ``alpha=None`` adapts α: α_est = max(0, 1 − 1/𝒩) with 𝒩 the largest
  per-step growth of the Jacobian products along the forced sequences of a batch; α
  jumps up to a larger estimate at once and relaxes towards a smaller one slowly
  (α ← γα + (1 − γ)α_est).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from .._checks import as_array, in_range, one_of, positive
from ..probes.core import Probe, ProbeHistory
from ._bptt import forward_backward
from .model import ALRNN

__all__ = ["train", "prepare_data", "free_run_scores", "METHODS"]

METHODS = ("sparse_tf", "gtf")
SELECT_BY = ("D_stsp", "D_H", "combined")


def prepare_data(data, name: str = "data") -> list[np.ndarray]:
    """One trajectory (T, N) (or (T,) for N = 1), or a list of (T_i, N) trajectories,
    as a list of checked float64 (T, N) arrays."""
    several = isinstance(data, list | tuple) and len(data) > 0 and all(
        np.ndim(x) == 2 for x in data)
    arrays = list(data) if several else [data]
    out = []
    for i, x in enumerate(arrays):
        label = f"{name}[{i}]" if several else name
        x = as_array(x, label, ndim=(1, 2), min_length=2)
        out.append(x[:, None] if x.ndim == 1 else x)
    dims = {x.shape[1] for x in out}
    if len(dims) > 1:
        raise ValueError(f"{name}: trajectories have different dimensions {sorted(dims)}")
    return out


def free_run_scores(model: ALRNN, data, *, n_trajectories: int = 8, n_steps: int = 20_000,
                    transient: int = 2000, seed: int = 0, reference=None) -> dict:
    """D_stsp and D_H of free model orbits against z-scored data (model units).

    Orbits start from ``n_trajectories`` data points, drop ``transient`` steps and run
    ``n_steps``; D_stsp pools their points against ``reference`` (default: the pooled
    data), D_H averages over orbits against data windows of the same length. A diverged
    or collapsed orbit gives a large but finite score.
    """
    from ..metrics import power_spectrum_hellinger, state_space_divergence

    series = [model.normalize(x) for x in prepare_data(data)]
    rng = np.random.default_rng(seed)
    ref = np.concatenate(series) if reference is None else np.asarray(reference)
    which = rng.integers(0, len(series), n_trajectories)
    starts = np.array([series[w][rng.integers(0, len(series[w]))] for w in which])
    A, W, h, L = model.numpy_params()
    z0 = np.concatenate([starts, starts @ L.T], axis=1)
    from .model import _iterate

    latent = _iterate(A, W, h, model.P, z0, n_steps + transient)[:, transient:]
    gen = latent[:, :, : model.N]
    if not np.all(np.isfinite(gen)) or np.abs(gen).max() > 1e6:
        return {"D_stsp": 1e3, "D_H": 1.0}
    dstsp = state_space_divergence(ref, gen.reshape(-1, model.N))
    # D_H compares equally long series: windows of the data as long as the orbits allow
    length = min(n_steps, max(len(s) for s in series))
    windows = [s for s in series if len(s) >= length]
    dh = []
    if length >= 16:
        for i in range(n_trajectories):
            s = windows[i % len(windows)]
            t0 = rng.integers(0, len(s) - length + 1)
            dh.append(power_spectrum_hellinger(s[t0:t0 + length], gen[i, :length]))
    return {"D_stsp": float(dstsp), "D_H": float(np.mean(dh)) if dh else float("nan")}


class _RAdam:
    """RAdam (Liu et al. 2020) on numpy views of the parameters, updated in place.

    Same update as ``torch.optim.RAdam``; numpy avoids torch's per-call overhead and the
    import of its compiler stack on the first optimiser.
    """

    def __init__(self, arrays, betas=(0.9, 0.999), eps=1e-8):
        self.arrays = arrays
        self.b1, self.b2 = betas
        self.eps = eps
        self.m = [np.zeros_like(a) for a in arrays]
        self.v = [np.zeros_like(a) for a in arrays]
        self.t = 0
        self.rho_inf = 2.0 / (1.0 - self.b2) - 1.0

    def step(self, grads, lr):
        self.t += 1
        b1, b2, t = self.b1, self.b2, self.t
        bc1, bc2 = 1.0 - b1**t, 1.0 - b2**t
        rho = self.rho_inf - 2.0 * t * b2**t / bc2
        if rho > 5.0:
            r = math.sqrt((rho - 4) * (rho - 2) * self.rho_inf
                          / ((self.rho_inf - 4) * (self.rho_inf - 2) * rho))
        for a, g, m, v in zip(self.arrays, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            if rho > 5.0:
                a -= (lr * r * math.sqrt(bc2) / bc1) * m / (np.sqrt(v) + self.eps)
            else:
                a -= (lr / bc1) * m


def _expansion_bound(A, W, P, Z, n_seq: int = 16):
    """𝒩: the largest per-step growth factor of the Jacobian products along forced
    sequences Z (T, M, B), (‖J_T···J_1 v‖ / ‖v‖)^(1/T) by power iteration.

    Much tighter than the geometric mean of the norms ‖J_t‖₂, which for non-normal
    Jacobians far exceeds the actual expansion and would force needlessly hard.
    """
    T, M, B = Z.shape
    cols = np.arange(min(B, n_seq))
    k = M - P
    v = np.ones((len(cols), M)) / np.sqrt(M)
    log_growth = np.zeros(len(cols))
    on = Z[:, k:, cols] > 0   # (T, P, n)
    for t in range(T - 1):
        # J v = A ⊙ v + W (d ⊙ v), d = 1 on linear units, 1(z > 0) on ReLU units
        dv = v.copy()
        dv[:, k:] *= on[t].T
        v = v * A + dv @ W.T
        norm = np.linalg.norm(v, axis=1)
        log_growth += np.log(np.maximum(norm, 1e-300))
        v /= np.maximum(norm, 1e-300)[:, None]
    return float(np.exp(log_growth.max() / max(T - 1, 1)))


def _selection(scores: dict, select_by: str) -> float:
    if select_by == "combined":
        dh = scores["D_H"]
        return scores["D_stsp"] + (10.0 * dh if math.isfinite(dh) else 0.0)
    return scores[select_by]


def train(
    model: ALRNN,
    data,
    method: str = "sparse_tf",
    *,
    tau: int | tuple[int, int] | None = None,
    alpha: float | None = None,
    alpha_every: int = 5,
    alpha_relax: float = 0.999,
    seq_len: int = 200,
    burn_in: int = 0,
    batch_size: int = 64,
    n_epochs: int = 100,
    batches_per_epoch: int = 50,
    max_seconds: float | None = None,
    lr: float | tuple[float, float] = (2e-3, 1e-5),
    noise: float | tuple[float, float] = 0.01,
    max_grad_norm: float | None = 10.0,
    eval_every: int = 500,
    eval_steps: int = 20_000,
    eval_transient: int = 2000,
    eval_trajectories: int = 8,
    select_by: str = "D_stsp",
    ema: float | None = None,
    dt: float | None = None,
    probes: Sequence[Probe] = (),
    log_every: int | None = None,
    on_log: Callable | None = None,
    should_stop: Callable | None = None,
    restore_best: bool = True,
    max_loss: float | None = 1e4,
    on_divergence: str = "raise",
    checkpoint_every: int | None = None,
    checkpoint_dir=None,
    progress: bool = True,
    seed: int = 0,
) -> ProbeHistory:
    """Train ``model`` on ``data`` by teacher forcing; return the logged history.

    Parameters
    ----------
    model : an :class:`ALRNN` whose N matches the data's dimension. Its normalisation is
        set to the pooled mean and std of ``data`` (and ``dt`` to ``dt``, if given).
    data : a (T, N) array or a list of them (several trajectories), in data units.
    method : ``"sparse_tf"`` (default τ = 16) or ``"gtf"`` (default τ = 1).
    tau : forcing interval (steps); a pair (start, end) moves it linearly over the budget
        (longer intervals late in training weigh long-horizon errors such as a slightly
        wrong growth rate more).
    alpha : GTF forcing strength; None adapts it (every ``alpha_every`` batches, relaxing
        with ``alpha_relax``). Ignored by sparse_tf (α = 1).
    seq_len, batch_size : sequences of ``seq_len`` steps, ``batch_size`` per batch.
    burn_in : leave the first predictions of each sequence out of the loss, while the
        hidden state settles from its estimate L x_1.
    n_epochs, batches_per_epoch : the step budget, n_epochs · batches_per_epoch batches.
    max_seconds : stop after this many seconds of wall time (the learning-rate schedule
        then follows elapsed time; results are no longer exactly reproducible).
    lr : a constant learning rate or (start, end) decayed exponentially over the budget
        (RAdam).
    noise : std of Gaussian noise added to the (z-scored) teacher data; a pair
        (start, end) decays it geometrically like the learning rate. Noise keeps free
        orbits stable off the data; too much biases the dynamics (faster rotation).
    max_grad_norm : clip the global gradient norm (None: no clipping).
    eval_every, eval_steps, eval_transient, eval_trajectories : every ``eval_every``
        batches run ``eval_trajectories`` free orbits from random data points, drop
        ``eval_transient`` steps, and score ``eval_steps`` steps of each by ``D_stsp``
        (pooled) and ``D_H`` (per orbit, against data windows of the same length). Long
        orbits matter: a model can leave the attractor for a loop or a fixed point only
        after thousands of steps, and D_H resolves frequencies better on long series.
    select_by : the score that picks the state kept by ``restore_best``: ``"D_stsp"``,
        ``"D_H"`` or ``"combined"`` (D_stsp + 10·D_H, the two on comparable scales).
    ema : if given (e.g. 0.999), an exponential moving average of the weights with this
        decay is what gets evaluated, kept and returned, instead of the raw iterate.
    probes, log_every, on_log, should_stop, max_loss, on_divergence, checkpoint_every,
    checkpoint_dir, progress : passed to :func:`toolkit.training.fit` (``log_every``
        defaults to ``eval_every``). Probes are called as ``probe(model, data)``.
    seed : seeds batch sampling and the teacher noise.

    Returns a :class:`~toolkit.probes.ProbeHistory` with ``loss`` (last batch),
    ``loss_avg`` (mean since the last log), ``D_stsp``, ``D_H``, ``alpha``, ``lr`` and
    the probes; ``meta`` holds the settings, timings and the best step. Divergence raises
    :class:`~toolkit.training.TrainingDiverged` with the last good state restored.
    """
    import torch

    from ..training import fit

    if not isinstance(model, ALRNN):
        raise TypeError(f"model: expected an ALRNN, got {type(model).__name__}")
    one_of(method, "method", METHODS)
    series = prepare_data(data)
    N = series[0].shape[1]
    if N != model.N:
        raise ValueError(f"data: has {N} dimensions but the model observes N = {model.N}")
    seq_len = positive(seq_len, "seq_len", integer=True)
    if seq_len < 2:
        raise ValueError(f"seq_len: need at least 2 steps, got {seq_len}")
    burn_in = positive(burn_in, "burn_in", strict=False, integer=True)
    if burn_in >= seq_len - 1:
        raise ValueError(f"burn_in: must be shorter than seq_len − 1 = {seq_len - 1}")
    usable = [x for x in series if len(x) > seq_len]
    if not usable:
        longest = max(len(x) for x in series)
        raise ValueError(f"data: series too short: the longest has {longest} steps, "
                         f"seq_len is {seq_len}")
    if tau is None:
        tau = 16 if method == "sparse_tf" else 1
    tau0, tau1 = (tau, tau) if np.isscalar(tau) else tuple(tau)
    tau0 = positive(tau0, "tau", integer=True)
    tau1 = positive(tau1, "tau", integer=True)
    adaptive = method == "gtf" and alpha is None
    if method == "sparse_tf":
        alpha_now = 1.0
    elif alpha is None:
        alpha_now = 0.0
    else:
        alpha_now = float(in_range(alpha, "alpha", 0.0, 1.0))
    positive(alpha_every, "alpha_every", integer=True)
    in_range(alpha_relax, "alpha_relax", 0.0, 1.0)
    batch_size = positive(batch_size, "batch_size", integer=True)
    n_epochs = positive(n_epochs, "n_epochs", integer=True)
    batches_per_epoch = positive(batches_per_epoch, "batches_per_epoch", integer=True)
    n_steps = n_epochs * batches_per_epoch
    if max_seconds is not None:
        max_seconds = positive(max_seconds, "max_seconds")
    lr0, lr1 = (lr, lr) if np.isscalar(lr) else tuple(lr)
    positive(lr0, "lr")
    positive(lr1, "lr")
    noise0, noise1 = (noise, noise) if np.isscalar(noise) else tuple(noise)
    positive(noise0, "noise", strict=False)
    positive(noise1, "noise", strict=False)
    if (noise0 == 0) != (noise1 == 0):
        raise ValueError("noise: a decaying noise level needs two positive values")
    if max_grad_norm is not None:
        positive(max_grad_norm, "max_grad_norm")
    eval_every = positive(eval_every, "eval_every", integer=True)
    eval_steps = positive(eval_steps, "eval_steps", integer=True)
    eval_trajectories = positive(eval_trajectories, "eval_trajectories", integer=True)
    log_every = eval_every if log_every is None else positive(log_every, "log_every",
                                                               integer=True)
    one_of(select_by, "select_by", SELECT_BY)
    if ema is not None:
        in_range(ema, "ema", 0.0, 1.0, inclusive=(False, False))

    pooled = np.concatenate(series)
    mean, std = pooled.mean(0), pooled.std(0)
    if np.any(std <= 0):
        raise ValueError(f"data: columns {np.flatnonzero(std <= 0).tolist()} are constant")
    with torch.no_grad():
        model.data_mean.copy_(torch.from_numpy(mean))
        model.data_std.copy_(torch.from_numpy(std))
    if dt is not None:
        model.dt = float(positive(dt, "dt"))
    zs = [(x - mean) / std for x in usable]
    lengths = np.array([len(x) - seq_len for x in zs], dtype=float)
    weights = lengths / lengths.sum()
    reference = np.concatenate([(x - mean) / std for x in series])

    rng = np.random.default_rng(seed)
    params = [model.A, model.W, model.h, model.L]
    arrays = [p.detach().numpy() for p in params]  # views: in-place updates reach torch
    opt = _RAdam(arrays)
    averaged = [a.copy() for a in arrays] if ema is not None else None
    state = {"alpha": alpha_now, "loss_sum": 0.0, "loss_n": 0, "t0": None,
             "eval_cache": (None, None), "raw": None}

    def progress_at(i):
        frac = i / max(n_steps - 1, 1)
        if max_seconds is not None and state["t0"] is not None:
            frac = max(frac, (time.perf_counter() - state["t0"]) / max_seconds)
        return min(frac, 1.0)

    def lr_at(i):
        return lr0 * (lr1 / lr0) ** progress_at(i)

    def noise_at(i):
        return noise0 * (noise1 / noise0) ** progress_at(i) if noise0 > 0 else 0.0

    def sample_batch(i):
        which = rng.choice(len(zs), size=batch_size, p=weights)
        X = np.empty((seq_len, N, batch_size))
        for j, w in enumerate(which):
            s = rng.integers(0, len(zs[w]) - seq_len + 1)
            X[:, :, j] = zs[w][s:s + seq_len]
        sd = noise_at(i)
        if sd > 0:
            X += sd * rng.standard_normal(X.shape)
        return X

    def step(i):
        if state["t0"] is None:
            state["t0"] = time.perf_counter()
        if state["raw"] is not None:  # the averaged weights were swapped in to be scored
            for a, r in zip(arrays, state["raw"]):
                a[...] = r
            state["raw"] = None
        A, W, h, L = arrays
        X = sample_batch(i)
        tau_now = int(round(tau0 + (tau1 - tau0) * progress_at(i)))
        loss, grads, Z = forward_backward(A, W, h, L, X, model.P, tau_now, state["alpha"],
                                          burn_in=burn_in)
        if grads is None or not math.isfinite(loss):
            return float("nan")
        if max_grad_norm is not None:
            total = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
            if total > max_grad_norm:
                grads = tuple(g * (max_grad_norm / total) for g in grads)
        opt.step(grads, lr_at(i))
        if averaged is not None:
            for m_, a in zip(averaged, arrays):
                m_ *= ema
                m_ += (1.0 - ema) * a
        for p, g in zip(params, grads):  # for gradient probes
            p.grad = torch.from_numpy(g)
        if adaptive and i % alpha_every == 0:
            bound = _expansion_bound(A, W, model.P, Z)
            est = max(0.0, 1.0 - 1.0 / bound) if bound > 0 else 0.0
            a = state["alpha"]
            state["alpha"] = est if est > a else alpha_relax * a + (1 - alpha_relax) * est
        state["loss_sum"] += loss
        state["loss_n"] += 1
        state["step"] = i + 1
        return loss

    def evaluate(m):
        key = state.get("step")
        if state["eval_cache"][0] != key:
            if averaged is not None and state["raw"] is None:
                state["raw"] = [a.copy() for a in arrays]
                for a, m_ in zip(arrays, averaged):
                    a[...] = m_
            with torch.no_grad():
                scores = free_run_scores(m, series, n_trajectories=eval_trajectories,
                                         n_steps=eval_steps, transient=eval_transient,
                                         seed=seed + (key or 0),
                                         reference=reference)
            state["eval_cache"] = (key, scores)
        return state["eval_cache"][1]

    def measures(m, _data):
        out = dict(evaluate(m))
        out["alpha"] = state["alpha"]
        out["lr"] = lr_at(max(state.get("step", 1) - 1, 0))
        out["loss_avg"] = state["loss_sum"] / max(state["loss_n"], 1)
        state["loss_sum"], state["loss_n"] = 0.0, 0
        return out

    def should_end():
        if max_seconds is not None and state["t0"] is not None \
                and time.perf_counter() - state["t0"] > max_seconds:
            return True
        return bool(should_stop()) if should_stop is not None else False

    settings = dict(method=method, tau=[tau0, tau1] if tau0 != tau1 else tau0, alpha=alpha,
                    adaptive_alpha=adaptive,
                    seq_len=seq_len, burn_in=burn_in, batch_size=batch_size, n_epochs=n_epochs,
                    batches_per_epoch=batches_per_epoch, max_seconds=max_seconds,
                    lr=[float(lr0), float(lr1)], noise=[float(noise0), float(noise1)],
                    max_grad_norm=max_grad_norm, eval_every=eval_every,
                    eval_steps=eval_steps, eval_trajectories=eval_trajectories,
                    eval_transient=eval_transient, select_by=select_by, ema=ema, seed=int(seed),
                    M=model.M, P=model.P, N=model.N, n_series=len(series))
    from threadpoolctl import threadpool_limits

    # BLAS threads only add overhead for (20 × 20)·(20 × B) products
    with threadpool_limits(1, user_api="blas"):
        history = fit(step, model, n_steps, probes=[Probe("", measures), *probes], data=data,
                      log_every=log_every, score=lambda m: _selection(evaluate(m), select_by),
                      score_every=eval_every, restore_best=restore_best, max_loss=max_loss,
                      on_divergence=on_divergence, checkpoint_every=checkpoint_every,
                      checkpoint_dir=checkpoint_dir, on_log=on_log, should_stop=should_end,
                      progress=progress, desc=f"AL-RNN {method}", meta=settings)
    return history
