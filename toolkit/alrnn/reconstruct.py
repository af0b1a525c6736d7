"""One call from a recording to a checked AL-RNN reconstruction: :func:`reconstruct`.

The recipe, within a wall-clock budget:

1. **Data.** One trajectory (T, N), several (a list, unequal lengths allowed), or a 1-D
   series, which is delay-embedded (:func:`delay_embed`: dimension 3, lag the first zero
   crossing of the autocorrelation, about a quarter period of an oscillation, unless given).
   ``transient`` leading samples of each trajectory are dropped. The last ``holdout``
   fraction of every trajectory is held out: it is never trained on and judges the models.
2. **Training.** Independent seeds train at once in separate processes (one per core),
   each by sparse teacher forcing (:func:`~toolkit.alrnn.train`) for its share of the
   budget, keeping its best and its last state.
3. **Selection on held-out data.** Every candidate runs freely from held-out points; it
   is scored by D_stsp + 10·D_H against the held-out data. A candidate whose free run of
   ``check_steps`` (1e5) steps from held-out starts leaves a generous box around the
   data (the data's range widened by ``box`` times its extent on each side), or goes
   non-finite, is rejected whatever its score; one whose orbit collapses onto a fixed
   point is ranked last.
4. **Calibration when it helps.** With budget left, :func:`~toolkit.alrnn.calibrate`
   adjusts the winner (CMA-ES on free-running statistics of the training part); the
   result is kept only if its held-out score is better and it passes the same box check.

Ctrl-C stops the training workers, which hand back their best states; the best checked
model so far is returned (``report.interrupted`` is True). If no candidate passes the
box check, :class:`ReconstructionFailed` is raised (its ``report`` says why) rather than
a model that blows up.

``device="cuda"``: the long free runs of the selection and the box check run as batched
torch iterations on the GPU; training stays on the CPU cores (its hand-written BPTT for
M ≈ 20 is faster there than per-step GPU kernels).
"""

from __future__ import annotations

import math
import os
import signal
import time
from dataclasses import dataclass, field

import numpy as np

from .._checks import as_array, in_range, positive
from .._result import Result
from .model import ALRNN, _iterate

__all__ = ["reconstruct", "Reconstruction", "ReconstructionFailed", "delay_embed",
           "autocorrelation_lag", "bounded_run"]


# ----------------------------------------------------------------------------- data
def autocorrelation_lag(x, max_lag: int | None = None) -> int:
    """First lag at which the autocorrelation of the 1-D series ``x`` crosses zero
    (about a quarter period for an oscillation); if it never does within ``max_lag``
    (default T/4), the first lag where it falls below 1/e; at least 1."""
    x = as_array(x, "x", ndim=1, min_length=8)
    x = x - x.mean()
    n = len(x)
    max_lag = n // 4 if max_lag is None else positive(max_lag, "max_lag", integer=True)
    f = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[: max_lag + 1]
    if acf[0] <= 0:
        raise ValueError("x: the series is constant; no delay embedding")
    acf = acf / acf[0]
    below = np.flatnonzero(acf <= 0)
    if len(below) == 0:
        below = np.flatnonzero(acf <= 1 / math.e)
    return int(max(below[0], 1)) if len(below) else max(max_lag, 1)


def delay_embed(x, dim: int = 3, lag: int | None = None) -> np.ndarray:
    """Delay embedding of a 1-D series: rows (x_t, x_{t+lag}, …, x_{t+(dim−1)·lag}).

    ``lag`` defaults to :func:`autocorrelation_lag` (first zero crossing of the
    autocorrelation); ``dim`` 3 suits the low-dimensional chaotic flows that AL-RNNs are
    meant for (Takens: 2d + 1 for a d-dimensional attractor is sufficient, fewer often
    work). Returns (T − (dim − 1)·lag, dim).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    x = as_array(x, "x", ndim=1, min_length=8)
    dim = positive(dim, "embed", integer=True)
    lag = autocorrelation_lag(x) if lag is None else positive(lag, "lag", integer=True)
    n = len(x) - (dim - 1) * lag
    if n < 8:
        raise ValueError(f"lag: {lag} is too long for a series of {len(x)} samples "
                         f"in dimension {dim}")
    return np.stack([x[i * lag: i * lag + n] for i in range(dim)], axis=1)


def _as_trajectories(data, *, embed, lag, transient):
    if isinstance(data, np.ndarray) or not isinstance(data, list | tuple):
        items, several = [data], False
    else:
        items, several = list(data), True
        if not items:
            raise ValueError("data: an empty list")
    out, info = [], {"embedded": False, "embed_dim": None, "lag": None}
    for i, x in enumerate(items):
        name = f"data[{i}]" if several else "data"
        x = np.asarray(x, dtype=float)
        if x.ndim not in (1, 2):
            raise ValueError(f"{name}: expected a (T, N) array or a 1-D series, "
                             f"got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            bad = int(np.sum(~np.isfinite(x)))
            raise ValueError(f"{name}: {bad} non-finite values (NaN/inf); interpolate or "
                             f"cut them out first")
        if transient:
            if transient >= len(x) - 8:
                raise ValueError(f"transient: {transient} leaves too little of {name} "
                                 f"({len(x)} samples)")
            x = x[transient:]
        one_d = x.ndim == 1 or x.shape[1] == 1
        if one_d and embed != 1:
            dim = 3 if embed is None else embed
            try:
                if info["lag"] is None:
                    info["lag"] = autocorrelation_lag(x.reshape(-1)) if lag is None else lag
                x = delay_embed(x.reshape(-1), dim, info["lag"])
            except ValueError as exc:  # name the argument as the caller knows it
                text = str(exc)
                raise ValueError(f"{name}: {text[3:]}" if text.startswith("x: ") else text) \
                    from None
            info.update(embedded=True, embed_dim=dim)
        elif embed not in (None, 1) and not one_d:
            raise ValueError(f"embed: delay embedding is for 1-D series; {name} already has "
                             f"{x.shape[1]} dimensions")
        out.append(x.reshape(len(x), -1))
    dims = {x.shape[1] for x in out}
    if len(dims) > 1:
        raise ValueError(f"data: trajectories have different dimensions {sorted(dims)}")
    return out, info


def _split(trajectories, holdout, min_train, min_test):
    """Training heads and held-out tails of every trajectory long enough to split."""
    train, test = [], []
    for x in trajectories:
        n_test = int(round(holdout * len(x)))
        if len(x) - n_test >= min_train and n_test >= min_test:
            train.append(x[: len(x) - n_test])
            test.append(x[len(x) - n_test:])
        elif len(x) >= min_train:
            train.append(x)
    if not test:
        longest = max(len(x) for x in trajectories)
        raise ValueError(f"data: too short to hold out a test part: the longest trajectory "
                         f"has {longest} samples; need ≥ {min_train + min_test} (training "
                         f"{min_train} + held out {min_test}; lower seq_len or raise holdout)")
    return train, test


# ----------------------------------------------------------------------------- free runs
def _orbits(params, P, z0, T, device=None, keep_every=1):
    """Free orbits (B, T // keep_every, M) of the map from z0 (B, M); numpy on the CPU
    (device None) or batched torch on ``device``."""
    A, W, h = params[:3]
    if device is None:
        if keep_every == 1:
            return _iterate(A, W, h, P, z0, T)
        pieces, z = [], z0
        chunk = keep_every * max(1, 20_000 // keep_every)
        done = 0
        while done < T:
            n = min(chunk, T - done)
            orbit = _iterate(A, W, h, P, z, n + 1)
            pieces.append(orbit[:, :n:keep_every])
            z = orbit[:, -1]
            done += n
        return np.concatenate(pieces, axis=1)
    import torch

    At, Wt, ht = (torch.as_tensor(np.asarray(a), dtype=torch.float64, device=device)
                  for a in (A, W, h))
    z = torch.as_tensor(np.asarray(z0), dtype=torch.float64, device=device)
    k = z.shape[1] - P
    kept = []
    with torch.no_grad():
        for t in range(T):
            if t % keep_every == 0:
                kept.append(z)
            phi = torch.cat([z[:, :k], torch.relu(z[:, k:])], dim=1)
            z = At * z + phi @ Wt.T + ht
    return torch.stack(kept, dim=1).cpu().numpy()


def bounded_run(model: ALRNN, starts, n_steps: int = 100_000, *, box: float = 3.0,
                reference=None, device=None) -> dict:
    """Does the free run of ``n_steps`` from every start (data units) stay in the box?

    The box is the range of ``reference`` (default: the starts) widened by ``box`` times
    its extent on each side, per observed dimension. Returns ``ok``, ``max_excursion``
    (the largest distance outside the data range in units of the extent: 0 inside),
    ``finite``, ``collapsed`` (the last tenth of some orbit barely moves: std < 2% of the
    data's) and ``first_exit`` (the first step any orbit left the box, −1 if none; orbits
    longer than 20,000 steps are looked at every ``n_steps // 20_000`` steps). ``device``
    as in :func:`reconstruct`: None or ``"cpu"`` iterate in numpy, ``"cuda"`` or a
    ``torch.device`` in batched torch.
    """
    starts = as_array(starts, "starts", ndim=2)
    n_steps = positive(n_steps, "n_steps", integer=True)
    box = float(positive(box, "box"))
    device = None if device is None else _resolve_device(device)
    ref = starts if reference is None else as_array(reference, "reference", ndim=2)
    ref_z = model.normalize(ref)
    lo, hi = ref_z.min(0), ref_z.max(0)
    extent = np.maximum(hi - lo, 1e-12)
    z0 = model.initial_state(starts)
    every = max(1, n_steps // 20_000)
    orbit = _orbits(model.numpy_params(), model.P, z0, n_steps, device, keep_every=every)
    obs = orbit[:, :, : model.N]
    finite = bool(np.all(np.isfinite(obs)))
    with np.errstate(invalid="ignore"):
        out = np.maximum(lo - obs, obs - hi) / extent      # > 0 outside the data range
        out = np.where(np.isfinite(out), out, np.inf)
    excursion = float(np.max(out.max(axis=2)))
    outside = np.any(out > box, axis=(0, 2))
    first_exit = int(np.flatnonzero(outside)[0] * every) if outside.any() else -1
    tail = obs[:, -max(2, obs.shape[1] // 10):]
    collapsed = finite and bool(np.any(tail.std(axis=1).max(axis=1) < 0.02 * ref_z.std(0).min()))
    return {"ok": finite and excursion <= box, "max_excursion": excursion, "finite": finite,
            "collapsed": collapsed, "first_exit": first_exit}


def _held_out_scores(model, tests, *, n_steps, n_starts, seed, device=None):
    """D_stsp (pooled) and D_H of free runs from held-out points against the held-out
    data, in the model's units."""
    from ..metrics import power_spectrum_hellinger, state_space_divergence

    rng = np.random.default_rng(seed)
    series = [model.normalize(x) for x in tests]
    ref = np.concatenate(series)
    which = [i % len(series) for i in range(n_starts)]
    starts = np.array([tests[w][rng.integers(0, max(len(tests[w]) // 2, 1))] for w in which])
    transient = n_steps // 4
    orbit = _orbits(model.numpy_params(), model.P, model.initial_state(starts),
                    n_steps + transient, device)[:, transient:, : model.N]
    if not np.all(np.isfinite(orbit)) or np.abs(orbit).max() > 1e6:
        return {"D_stsp": 1e3, "D_H": 1.0, "score": 1e4}
    dstsp = float(state_space_divergence(ref, orbit.reshape(-1, model.N)))
    dh = []
    for i, w in enumerate(which):
        n = min(len(series[w]), n_steps)
        if n >= 64:
            dh.append(power_spectrum_hellinger(series[w][:n], orbit[i, :n]))
    dh = float(np.mean(dh)) if dh else float("nan")
    return {"D_stsp": dstsp, "D_H": dh, "score": dstsp + (10 * dh if math.isfinite(dh) else 0)}


# ----------------------------------------------------------------------------- workers
def _worker_init():
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent handles Ctrl-C
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


def _train_one(job):
    """Train one seed; return its best few states (by the training-time free-running
    score) and its last as arrays (a picklable dict)."""
    from .train import train

    data, M, P, dt, seconds, kwargs, seed, stop = (
        job["data"], job["M"], job["P"], job["dt"], job["seconds"], job["train"],
        job["seed"], job.get("stop"))
    n_keep = int(job.get("n_keep", 3))
    model = ALRNN(M, P, data[0].shape[1], dt=dt, seed=seed)
    t0 = time.perf_counter()
    kept = []     # (training score, step, state): the best few, plus the last state
    last = {}

    def params():
        return [p.detach().numpy().copy() for p in (model.A, model.W, model.h, model.L)]

    def on_log(step, values):
        state = params()
        last["state"] = state
        s = values.get("score")
        if s is not None and math.isfinite(s):
            kept.append((float(s), int(step), state))
            kept.sort(key=lambda k: k[0])
            del kept[n_keep:]

    max_batches = job.get("max_batches")
    if max_batches is not None:
        # a batch budget: the learning-rate schedule follows the batch count alone (with
        # max_seconds it follows elapsed time too, which differs from run to run); the
        # wall-time share still ends training, through should_stop
        kwargs = {**kwargs, "n_epochs": int(max_batches), "batches_per_epoch": 1}

    def should_stop():
        if max_batches is not None and time.perf_counter() - t0 > seconds:
            return True
        return stop is not None and stop.is_set()

    error, meta = None, {}
    try:
        hist = train(model, data, dt=dt, max_seconds=None if max_batches else seconds,
                     seed=seed, progress=False, on_divergence="stop",
                     should_stop=should_stop, on_log=on_log, **kwargs)
        meta = {k: v for k, v in hist.meta.items() if isinstance(v, int | float | str)}
    except Exception as exc:  # noqa: BLE001 - reported, not fatal for the other seeds
        error = f"{type(exc).__name__}: {exc}"
    states = {f"step {step}": state for _, step, state in kept}
    if "state" in last:
        states["last"] = last["state"]
    return {"seed": seed, "states": states, "mean": model.mean, "std": model.std,
            "wall": time.perf_counter() - t0, "meta": meta, "error": error}


# ----------------------------------------------------------------------------- report
@dataclass(frozen=True)
class Reconstruction(Result):
    """What :func:`reconstruct` did and what it returns.

    ``model``: the chosen :class:`ALRNN`. ``candidates``: one dict per candidate state
    (seed, stage ``"step k"`` (one of the best few by the training-time score), ``"last"`` or
    ``"calibrated"``, held-out ``D_stsp``, ``D_H``,
    ``score``, ``bounded``, ``max_excursion``, ``collapsed``, training ``wall`` s);
    ``winner`` the index of the returned one. ``stages``: held-out figures after each
    stage (``"median candidate"``, ``"selected"``, ``"calibrated"`` if tried).
    ``measures``: the returned model on held-out data (``D_stsp``, ``D_H``,
    ``lyapunov_max`` per time unit, ``n_regions``, ``max_excursion`` over the 1e5-step
    check, ``collapsed``). ``embedding``: how 1-D data were embedded. ``held_out``: the
    held-out trajectories (data units). ``budget_s``, ``wall_s``, ``n_workers``,
    ``interrupted``, ``notes``.
    """

    model: ALRNN
    candidates: tuple
    winner: int
    stages: dict
    measures: dict
    embedding: dict
    held_out: tuple
    budget_s: float
    wall_s: float
    n_workers: int
    interrupted: bool
    notes: tuple = field(default=())

    def to_frame(self):
        import pandas as pd

        frame = pd.DataFrame(list(self.candidates))
        frame["chosen"] = False
        if self.winner >= 0:
            frame.loc[self.winner, "chosen"] = True
        return frame

    def stage_frame(self):
        import pandas as pd

        return pd.DataFrame([{"stage": k, **v} for k, v in self.stages.items()])

    def plot(self, dims=(0, 1), n_steps: int = 20_000):
        """Held-out score of every candidate (the winner marked) beside the held-out data
        and the chosen model's free run from the first held-out point."""
        import holoviews as hv

        from ..viz import PALETTE, phase_portrait

        frame = self.to_frame()
        frame["label"] = [f"seed {s} {g}" for s, g in zip(frame["seed"], frame["stage"])]
        score = np.minimum(frame["score"].to_numpy(dtype=float), 50.0)
        bars = hv.Bars(list(zip(frame["label"], score)), "candidate",
                       "held-out D_stsp + 10·D_H").opts(
            color=hv.dim("candidate").categorize(
                {lab: PALETTE[1] if c else "#999999"
                 for lab, c in zip(frame["label"], frame["chosen"])}),
            xrotation=45, title="candidates (winner in colour)", width=380, height=300)
        truth = np.concatenate(self.held_out)
        gen = self.model.generate(self.held_out[0][0], n_steps, transient=n_steps // 4)
        d = [i for i in dims if i < truth.shape[1]] or [0]
        if len(d) == 1:
            d = [d[0], d[0]]
        true = phase_portrait(truth, dims=tuple(d), title="held-out data").opts(
            color="#777777")
        m = self.measures
        model = phase_portrait(gen, dims=tuple(d), title=f"model: D_stsp {m['D_stsp']:.2f}, "
                               f"D_H {m['D_H']:.3f}").opts(color=PALETTE[0])
        return (bars + true + model).opts(shared_axes=False)


class ReconstructionFailed(RuntimeError):
    """No candidate passed the free-run box check; ``report`` (a :class:`Reconstruction`
    with ``model`` the least bad candidate) says what was tried."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


# ----------------------------------------------------------------------------- recipe
_TRAIN_DEFAULTS = dict(method="sparse_tf", tau=16, seq_len=200, batch_size=64,
                       n_epochs=100_000, batches_per_epoch=50, lr=(3e-3, 3e-5),
                       noise=0.01, eval_every=250, eval_steps=10_000, eval_trajectories=8,
                       select_by="combined")


def _resolve_device(device):
    import torch

    if isinstance(device, torch.device):  # a torch device (CPU included) runs torch
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device: CUDA is not available on this machine; use 'cpu'")
        return device
    if not isinstance(device, str):
        raise TypeError(f"device: expected 'cpu', 'cuda' or a torch.device, got "
                        f"{type(device).__name__}")
    if device == "cpu":
        return None
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device: {device!r} asked for, but CUDA is not available on "
                             f"this machine; use 'cpu'")
        return torch.device(device)
    raise ValueError(f"device: expected 'cpu' or 'cuda[:k]', got {device!r}")


def _model_from(state, M, P, N, mean, std, dt):
    A, W, h, L = state
    return ALRNN.from_params(A, W, h, P, N, L=L, mean=mean, std=std, dt=dt)


def reconstruct(data, dt: float, P: int = 2, M: int = 20, *, budget_s: float = 300.0,
                seeds=None, device="cpu", n_jobs: int | None = None,
                embed: int | None = None, lag: int | None = None, transient: int = 0,
                holdout: float = 0.2, calibration: str | bool = "auto",
                check_steps: int = 100_000, box: float = 3.0, train_kwargs: dict | None = None,
                score_steps: int = 20_000, max_batches: int | None = None,
                progress: bool = True) -> Reconstruction:
    """Reconstruct the dynamics behind ``data`` with an AL-RNN, within ``budget_s`` seconds.

    Parameters
    ----------
    data : a (T, N) array, a list of such arrays (several trajectories, lengths may
        differ), or a 1-D series (T,) / (T, 1), in data units, sampled every ``dt``.
    dt : sampling interval (time units); Lyapunov exponents are reported per time unit.
    P, M : ReLU units and latent size of the AL-RNN (2^P linear regions).
    budget_s : wall-clock budget of the whole call (training takes about 70%, the
        held-out selection and the 1e5-step checks about 10%, calibration the rest).
    seeds : training seeds (default: one per worker); seeds beyond the number of workers
        share the training time in turns.
    device : ``"cpu"`` (numpy free runs) or ``"cuda"`` (free runs of selection and checks
        as batched torch on the GPU); a ``torch.device`` runs the torch path on it
        (``torch.device("cpu")`` too).
    n_jobs : worker processes (default: the usable cores, at most the number of seeds).
    embed, lag : for a 1-D series, the delay-embedding dimension (default 3; ``embed=1``
        trains on the scalar series itself) and lag in samples (default: the first zero
        crossing of the autocorrelation, see :func:`delay_embed`).
    transient : leading samples dropped from every trajectory (e.g. a settling phase).
    holdout : fraction at the end of every trajectory held out for model selection.
    calibration : ``"auto"`` (if more than 8% of the budget and 5 s are left, try it and
        keep it only when it improves the held-out score; a skip is named in the notes),
        True (always try, at least one CMA-ES generation even past the budget, and keep it
        whenever it passes the box check), False (never).
    check_steps, box : free runs of ``check_steps`` steps from held-out starts must stay in
        the data's range widened by ``box`` times its extent on each side.
    train_kwargs : overrides of the training settings (see :func:`~toolkit.alrnn.train`;
        defaults: sparse TF, τ 16, sequences of 200, batch 64, lr 3e-3 → 3e-5, teacher
        noise 0.01, selection by D_stsp + 10·D_H every 250 batches).
    score_steps : length of the held-out free runs that rank candidates.
    max_batches : if given, every seed trains for at most this many batches (its share of
        the budget still ends it earlier), with the learning rate decayed over the batches
        rather than over wall time: then the same seeds give the same model, as long as
        every seed reaches ``max_batches`` within the budget and ``calibration=False``
        (calibration runs CMA-ES generations until its deadline).
    progress : show a progress bar over the budget.

    Returns a :class:`Reconstruction` (``.model``, ``.plot()``, ``.to_frame()``). Training
    follows wall time, so results depend on machine speed and load; with the same seeds
    and ``max_batches`` reached (with ``calibration=False``) they are reproducible. Raises
    :class:`ReconstructionFailed` if no candidate passes the box check.
    """
    import multiprocessing as mp
    import warnings

    from tqdm.auto import tqdm

    t_start = time.perf_counter()
    dt = float(positive(dt, "dt"))
    P = positive(P, "P", strict=False, integer=True)
    M = positive(M, "M", integer=True)
    budget_s = float(positive(budget_s, "budget_s"))
    holdout = float(in_range(holdout, "holdout", 0.0, 0.9, inclusive=(False, True)))
    transient = positive(transient, "transient", strict=False, integer=True)
    check_steps = positive(check_steps, "check_steps", integer=True)
    score_steps = positive(score_steps, "score_steps", integer=True)
    box = float(positive(box, "box"))
    if calibration not in ("auto", True, False):
        raise ValueError(f"calibration: choose 'auto', True or False, got {calibration!r}")
    if embed is not None:
        embed = positive(embed, "embed", integer=True)
    if lag is not None:
        lag = positive(lag, "lag", integer=True)
    dev = _resolve_device(device)
    settings = dict(_TRAIN_DEFAULTS)
    if train_kwargs:
        import inspect

        from .train import train

        reserved = {"max_seconds", "seed", "dt", "progress", "should_stop", "on_log",
                    "on_divergence", "model", "data"} & set(train_kwargs)
        if reserved:
            raise ValueError(f"train_kwargs: {sorted(reserved)} are set by reconstruct")
        unknown = set(train_kwargs) - set(inspect.signature(train).parameters)
        if unknown:
            raise ValueError(f"train_kwargs: {sorted(unknown)} are not options of "
                             f"toolkit.alrnn.train")
        settings.update(train_kwargs)
    if max_batches is not None:
        max_batches = positive(max_batches, "max_batches", integer=True)
        if train_kwargs and {"n_epochs", "batches_per_epoch"} & set(train_kwargs):
            raise ValueError("max_batches: give either max_batches or n_epochs/"
                             "batches_per_epoch in train_kwargs, not both")
    seq_len = int(settings["seq_len"])

    trajectories, embedding = _as_trajectories(data, embed=embed, lag=lag,
                                               transient=transient)
    N = trajectories[0].shape[1]
    spread = np.concatenate(trajectories).std(0)
    if np.any(spread <= 0):
        raise ValueError(f"data: columns {np.flatnonzero(spread <= 0).tolist()} are constant; "
                         f"nothing to reconstruct there")
    if N > M:
        raise ValueError(f"M: {M} latent units cannot observe {N} dimensions")
    if P > M - N and P > 0:
        raise ValueError(f"P: {P} ReLU units leave fewer than N = {N} linear units "
                         f"(M = {M})")
    train_data, tests = _split(trajectories, holdout, seq_len + 1, 200)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)
    if seeds is None:
        n_workers = cores if n_jobs is None else positive(n_jobs, "n_jobs", integer=True)
        seeds = tuple(range(n_workers))
    else:
        seeds = tuple(int(s) for s in np.atleast_1d(seeds))
        if not seeds:
            raise ValueError("seeds: give at least one seed")
        n_workers = min(len(seeds), cores if n_jobs is None
                        else positive(n_jobs, "n_jobs", integer=True))
    waves = math.ceil(len(seeds) / n_workers)
    train_share = 0.7 if calibration is not False else 0.85
    # process start-up and the checks eat into the budget: leave them room
    seconds = max(1.0, (train_share * budget_s - 2.0) / waves)

    notes = []
    interrupted = False
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    stop = ctx.Manager().Event() if n_workers > 1 else None
    jobs = [dict(data=train_data, M=M, P=P, dt=dt, seconds=seconds, train=settings,
                 seed=s, stop=stop, max_batches=max_batches) for s in seeds]
    results = []
    bar = tqdm(total=round(budget_s), desc="reconstruct", unit="s", disable=not progress,
               leave=False)

    def tick():
        bar.n = min(round(time.perf_counter() - t_start), bar.total)
        bar.refresh()

    try:
        if n_workers == 1:
            for job in jobs:
                results.append(_train_one(job))
                tick()
        else:
            from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

            with ProcessPoolExecutor(n_workers, mp_context=ctx,
                                     initializer=_worker_init) as pool:
                pending = {pool.submit(_train_one, j) for j in jobs}
                try:
                    while pending:
                        done, pending = wait(pending, timeout=1.0,
                                             return_when=FIRST_COMPLETED)
                        results.extend(f.result() for f in done)
                        tick()
                except KeyboardInterrupt:
                    interrupted = True
                    stop.set()
                    for f in pending:
                        f.cancel()
                    done, _ = wait(pending, timeout=30.0)
                    results.extend(f.result() for f in done if not f.cancelled())
    except KeyboardInterrupt:
        interrupted = True
    errors = [f"seed {r['seed']}: {r['error']}" for r in results if r["error"]]
    notes.extend(errors)

    # ---------------------------------------------------------------- selection
    pooled_ref = np.concatenate(trajectories)
    rng = np.random.default_rng(0)
    check_starts = np.array([tests[i % len(tests)][rng.integers(0, len(tests[i % len(tests)]))]
                             for i in range(8)])
    candidates, models = [], []
    try:
        for r in results:
            for stage, state in r["states"].items():
                if any(not np.all(np.isfinite(a)) for a in state):
                    continue
                model = _model_from(state, M, P, N, r["mean"], r["std"], dt)
                scores = _held_out_scores(model, tests, n_steps=score_steps, n_starts=4,
                                          seed=1, device=dev)
                candidates.append(dict(seed=r["seed"], stage=stage, **scores,
                                       bounded=None, max_excursion=float("nan"),
                                       collapsed=None, wall=r["wall"],
                                       batches=r["meta"].get("steps_run", 0)))
                models.append(model)
                tick()
        # the box check from the best-ranked down, until one passes
        order = sorted(range(len(candidates)), key=lambda i: candidates[i]["score"])
        winner = -1
        for i in order:
            check = bounded_run(models[i], check_starts, check_steps, box=box,
                                reference=pooled_ref, device=dev)
            candidates[i].update(bounded=check["ok"], max_excursion=check["max_excursion"],
                                 collapsed=check["collapsed"])
            tick()
            if check["ok"] and not check["collapsed"]:
                winner = i
                break
        if winner < 0:  # a collapsed but bounded candidate beats nothing
            ok = [i for i in order if candidates[i]["bounded"]]
            if ok:
                winner = ok[0]
                notes.append("every bounded candidate collapses onto a fixed point")
    except KeyboardInterrupt:
        interrupted = True
        checked = [i for i, c in enumerate(candidates) if c["bounded"]]
        winner = min(checked, key=lambda i: candidates[i]["score"]) if checked else -1

    scores_all = [c["score"] for c in candidates]
    stages = {}
    if candidates:
        med = int(np.argsort(scores_all)[len(scores_all) // 2])
        stages["median candidate"] = {k: candidates[med][k] for k in ("D_stsp", "D_H", "score")}
    if winner >= 0:
        stages["selected"] = {k: candidates[winner][k] for k in ("D_stsp", "D_H", "score")}

    # ---------------------------------------------------------------- calibration
    left = budget_s - (time.perf_counter() - t_start)
    room = left > 0.08 * budget_s and left > 5
    if winner >= 0 and not interrupted and calibration == "auto" and not room:
        notes.append(f"calibration skipped: {max(left, 0):.1f} s of the budget were left "
                     f"(it needs more than {max(5.0, 0.08 * budget_s):.1f} s)")
    # True always tries: with no time left it still runs one CMA-ES generation
    if (winner >= 0 and not interrupted
            and (calibration is True or (calibration == "auto" and room))):
        from .calibrate import calibrate

        deadline = time.perf_counter() + left - max(3.0, 0.05 * budget_s)

        def should_stop(_gen, _measures):
            tick()
            return time.perf_counter() > deadline

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                calibrated, _ = calibrate(models[winner], train_data, n_steps=20_000,
                                          n_generations=10_000, popsize=8,
                                          should_stop=should_stop, progress=False,
                                          seed=int(seeds[0]))
            scores = _held_out_scores(calibrated, tests, n_steps=score_steps, n_starts=4,
                                      seed=1, device=dev)
            check = bounded_run(calibrated, check_starts, check_steps, box=box,
                                reference=pooled_ref, device=dev)
            candidates.append(dict(seed=candidates[winner]["seed"], stage="calibrated",
                                   **scores, bounded=check["ok"],
                                   max_excursion=check["max_excursion"],
                                   collapsed=check["collapsed"],
                                   wall=float(time.perf_counter() - t_start), batches=0))
            models.append(calibrated)
            stages["calibrated"] = {k: scores[k] for k in ("D_stsp", "D_H", "score")}
            better = scores["score"] < candidates[winner]["score"]
            if check["ok"] and not check["collapsed"] and (better or calibration is True):
                winner = len(candidates) - 1
            elif not better:
                notes.append("calibration did not improve the held-out score: not kept")
        except KeyboardInterrupt:
            interrupted = True
    bar.close()

    wall = time.perf_counter() - t_start
    if winner < 0:
        least = int(np.argmin([c["max_excursion"] if np.isfinite(c["max_excursion"])
                               else np.inf for c in candidates])) if candidates else -1
        report = Reconstruction(models[least] if least >= 0 else None, tuple(candidates),
                                -1, stages, {}, embedding, tuple(tests), budget_s, wall,
                                n_workers, interrupted, tuple(notes))
        why = "; ".join(notes) if notes else (
            f"all {len(candidates)} candidates left the box (box={box}) or went non-finite "
            f"within {check_steps} free-running steps")
        raise ReconstructionFailed(f"reconstruct: no model passed the free-run check: {why}. "
                                   f"Try a larger budget_s, more seeds, or more teacher "
                                   f"noise (train_kwargs={{'noise': 0.03}})", report)
    best = models[winner]
    measures = dict(candidates[winner])
    try:
        z0 = best.initial_state(tests[0][0]).reshape(-1)
        measures["lyapunov_max"] = float(best.lyapunov_spectrum(
            10_000, z0=z0, transient=1000, n_exponents=1).max)
        orbit = best.iterate(z0, 20_000)
        measures["n_regions"] = int(len(np.unique(best.regions(orbit[5000:]))))
    except (RuntimeError, KeyboardInterrupt):
        measures.setdefault("lyapunov_max", float("nan"))
        measures.setdefault("n_regions", 0)
    return Reconstruction(best, tuple(candidates), int(winner), stages, measures, embedding,
                          tuple(tests), budget_s, float(wall), int(n_workers), interrupted,
                          tuple(notes))
