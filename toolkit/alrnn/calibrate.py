"""Calibrate a trained AL-RNN to the long-term statistics of its data (CMA-ES).

Teacher forcing fits short-horizon predictions; the measures a reconstruction is judged by
(D_stsp, D_H, λ_max, fixed points) are properties of the free-running orbit. This module
adjusts a trained model so that those measures match, by a derivative-free search (CMA-ES,
Hansen 2016, "The CMA Evolution Strategy: A Tutorial") over the parameters that shape how
the linear regions are stitched together:

- the diagonal ``A`` and the bias ``h``;
- the columns of ``W`` fed by the ReLU units (how each region's map differs from the
  others) and the rows of ``W`` into them from the linear units (where orbits cross the
  region borders);
- a time scale s, z ↦ z + s (F(z) − z), which keeps fixed points and regions.

The other entries of ``W`` and ``L`` are left as trained. Each generation runs the whole
population freely at once (one batched numpy loop, λ_max from one tangent vector per
orbit) and scores it against the given trajectories. The objective is the worst ratio
measure / tolerance, plus a tenth of their mean, so it falls below 1.1 only when every
measure is within its tolerance. The distribution mean is scored in every generation, in
the same batch; the best-scoring mean is returned. Chaotic orbits make the score noisy:
judge the result on trajectories not used here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .._checks import as_array, positive
from .._result import Result
from .model import ALRNN

__all__ = ["Calibration", "calibrate", "GROUPS"]

#: search step sizes (z-scored units) of A, h, log s and the W entries
_STEPS = {"A": 3e-4, "h": 3e-3, "log_s": 1e-2, "W": 3e-3}
_MEASURES = ("D_stsp", "D_H", "lyapunov_max", "fixed_points", "n_regions")


@dataclass(frozen=True)
class Calibration(Result):
    """History of :func:`calibrate`.

    ``generation`` (G,), ``best`` (G,) the best objective of the samples in each
    generation, ``median`` (G,) their median, ``sigma`` (G,) the step size; the
    distribution mean of each generation: ``check_generation`` (G,), ``check_objective``
    (G,) and ``check_measures`` (G, 5) (mean D_stsp, mean D_H, λ_max, worst fixed-point
    error (NaN if not asked for), regions visited); ``chosen`` the index of the mean
    returned (−1: the model as given); ``initial_objective``, ``initial_measures`` of the
    model as given; ``n_parameters`` searched; ``tolerances``; ``time_scale`` s of the
    model returned.
    """

    generation: np.ndarray
    best: np.ndarray
    median: np.ndarray
    sigma: np.ndarray
    check_generation: np.ndarray
    check_objective: np.ndarray
    check_measures: np.ndarray
    chosen: int
    initial_objective: float
    initial_measures: np.ndarray
    n_parameters: int
    tolerances: dict
    time_scale: float

    def to_frame(self):
        import pandas as pd

        rows = {"generation": np.concatenate([[-1], self.check_generation]),
                "objective": np.concatenate([[self.initial_objective], self.check_objective])}
        measures = np.vstack([self.initial_measures, self.check_measures])
        for i, name in enumerate(_MEASURES):
            rows[name] = measures[:, i]
        frame = pd.DataFrame(rows)
        frame["chosen"] = False
        frame.loc[self.chosen + 1, "chosen"] = True
        return frame

    def plot(self):
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        g = self.generation
        curves = (hv.Curve((g, self.best), "generation", "objective", label="best sample")
                  .opts(color=PALETTE[0])
                  * hv.Curve((g, self.median), "generation", "objective",
                             label="median sample").opts(color=PALETTE[2], alpha=0.6)
                  * hv.Curve((self.check_generation, self.check_objective), "generation",
                             "objective", label="distribution mean").opts(color=PALETTE[1])
                  * hv.HLine(1.1).opts(color="black", line_dash="dashed", line_width=1))
        return curves.opts(title="CMA-ES calibration (below the dashed line: every "
                                 "measure within tolerance)", logy=True, width=650,
                           height=320, legend_position="top_right", show_grid=True)


def _run_population(A, W, h, dW, P, z0, n_steps, transient, n_observed):
    """Free orbits of B variants z' = A_b ⊙ z + (W + dW_b) Φ(z) + h_b from z0 (B, M).

    Returns the first ``n_observed`` units of each orbit (B, n_steps, n_observed) and the
    signs of its ReLU units (B, n_steps, P), both after the transient, and the maximal
    Lyapunov exponent per step of each (one tangent vector, renormalised every 8 steps).

    Small matrices make numpy's per-call cost dominate, so each step is one batched matmul
    for the state and its tangent vector together: [y | D(y) y | c] @ [diag A; W_b^T; h],
    with D(y) the ReLU mask of the state and c = 1 for the state, 0 for the tangent.
    """
    B, M = A.shape
    k = M - P
    big = np.zeros((B, 2 * M + 1, M))
    big[:, np.arange(M), np.arange(M)] = A
    big[:, M:2 * M] = (W[None] + dW).transpose(0, 2, 1)
    big[:, 2 * M] = h
    y, y_next = np.zeros((B, 2, 2 * M + 1)), np.zeros((B, 2, 2 * M + 1))
    y[:, 0, :M] = z0
    y[:, 1, :M] = 1 / np.sqrt(M)
    y[:, 0, 2 * M] = y_next[:, 0, 2 * M] = 1.0
    mask = y[:, 0:1, k:M] > 0
    y[:, :, M:M + k] = y[:, :, :k]
    y[:, :, M + k:2 * M] = y[:, :, k:M] * mask
    observed = np.empty((n_steps, B, n_observed))
    signs = np.empty((n_steps, B, 1, P), dtype=bool)
    log_growth = np.zeros(B)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for t in range(n_steps + transient):
            i = t - transient
            if i >= 0:
                observed[i] = y[:, 0, :n_observed]
                signs[i] = mask
            np.matmul(y, big, out=y_next[:, :, :M])
            np.greater(y_next[:, 0:1, k:M], 0.0, out=mask)
            y_next[:, :, M:M + k] = y_next[:, :, :k]
            np.multiply(y_next[:, :, k:M], mask, out=y_next[:, :, M + k:2 * M])
            y, y_next = y_next, y
            if i % 8 == 7 or i == n_steps - 1:  # (i = -1 too: the transient's end)
                norm = np.sqrt(np.einsum("bi,bi->b", y[:, 1, :M], y[:, 1, :M]))
                if i >= 0:
                    log_growth += np.log(norm)
                y[:, 1, :2 * M] /= norm[:, None]
    return (observed.transpose(1, 0, 2), signs.reshape(n_steps, B, P).transpose(1, 0, 2),
            log_growth / n_steps)


#: the parameter groups :func:`calibrate` can search
GROUPS = ("A", "h", "time_scale", "W_relu")


class _Search:
    """The searched parameters of one model: vector x ↔ (A, W, h) of a time-scaled map.

    Groups: ``A`` (M), ``h`` (M), ``time_scale`` (log s, 1), ``W_relu`` (the M·P columns
    of W fed by the ReLU units and the P·(M − P) entries from the linear units into them).
    """

    def __init__(self, model: ALRNN, groups=GROUPS):
        self.A0, self.W0, self.h0, self.L0 = model.numpy_params()
        M, P = model.M, model.P
        self.M, self.P = M, P
        sizes = {"A": M, "h": M, "time_scale": 1, "W_relu": M * P + P * (M - P)}
        steps = {"A": _STEPS["A"], "h": _STEPS["h"], "time_scale": _STEPS["log_s"],
                 "W_relu": _STEPS["W"]}
        self.slices, start = {}, 0
        for g in GROUPS:
            if g in groups:
                self.slices[g] = slice(start, start + sizes[g])
                start += sizes[g]
        self.scales = np.concatenate([np.full(sizes[g], steps[g]) for g in self.slices])

    @property
    def size(self) -> int:
        return len(self.scales)

    def params(self, x):
        """(A, W, h) of the map for search vector x (time scale applied)."""
        M, P = self.M, self.P
        x = np.asarray(x) * self.scales
        part = {g: x[sl] for g, sl in self.slices.items()}
        A = self.A0 + part.get("A", 0.0)
        h = self.h0 + part.get("h", 0.0)
        s = float(np.exp(part["time_scale"][0])) if "time_scale" in part else 1.0
        W = self.W0.copy()
        if "W_relu" in part:
            W[:, M - P:] += part["W_relu"][:M * P].reshape(M, P)
            W[M - P:, :M - P] += part["W_relu"][M * P:].reshape(P, M - P)
        return 1 - s + s * A, s * W, s * h

    def time_scale(self, x) -> float:
        sl = self.slices.get("time_scale")
        return 1.0 if sl is None else float(np.exp(x[sl][0] * self.scales[sl][0]))


class _Target:
    """One true trajectory, prepared once: z-scoring, binned occupation, smoothed spectra.

    Gives the same D_stsp and D_H as :mod:`toolkit.metrics` (30 bins, margin 0.1σ,
    α = 1e-5; σ = 20) but bins into a dense array when there are few cells, and takes the
    generated spectra from the caller: they do not depend on the z-scoring, so each orbit's
    are computed once for all targets.
    """

    N_BINS, ALPHA, MARGIN, SIGMA = 30, 1e-5, 0.1, 20.0

    def __init__(self, x):
        from ..metrics import _cell_ids, _smoothed_spectra
        from ..systems import standardize

        self.z, self.mean, self.std = standardize(x)
        sd = self.z.std(0)
        self.lo = self.z.min(0) - self.MARGIN * sd
        hi = self.z.max(0) + self.MARGIN * sd
        self.width = np.where(hi > self.lo, (hi - self.lo) / self.N_BINS, 1.0)
        self.n_cells = self.N_BINS ** self.z.shape[1]
        self.dense = self.n_cells <= 2_000_000
        if self.dense:
            counts = np.bincount(_cell_ids(self.z, self.lo, self.width, self.N_BINS),
                                 minlength=self.n_cells).astype(np.float64)
            self.p = (counts + self.ALPHA) / (counts.sum() + self.ALPHA * self.n_cells)
            self.p_log_p = float(self.p @ np.log(self.p))
            self.scale = 1 / (self.std * self.width)
            self.offset = -(self.mean / self.std + self.lo) / self.width
            self.radix = (self.N_BINS + 2) ** np.arange(self.z.shape[1] - 1, -1, -1,
                                                        dtype=float)
        self.spectra = {}
        self._smoothed = _smoothed_spectra
        self.length = len(self.z)

    def root_spectrum(self, n):
        """Square roots of the smoothed spectra of the first n true steps (cached)."""
        if n not in self.spectra:
            self.spectra[n] = np.sqrt(self._smoothed(self.z[:n], self.SIGMA))
        return self.spectra[n]

    def dstsp(self, x_gen) -> float:
        from ..metrics import _cell_ids, state_space_divergence

        if not self.dense:
            return state_space_divergence(self.z, (x_gen - self.mean) / self.std)
        # bin coordinates u = ((x − mean)/std − lo)/width in one affine step (this is the
        # hot path; rounding can move a point lying within 1e-15 of a bin edge)
        u = x_gen * self.scale + self.offset
        np.floor(u, out=u)
        if np.any(u == self.N_BINS):  # the top edge belongs to the last bin: rare, exact
            ids = _cell_ids((x_gen - self.mean) / self.std, self.lo, self.width, self.N_BINS)
            counts = np.bincount(ids, minlength=self.n_cells).astype(np.float64)
        else:
            # points outside go to a one-cell border around the grid, then dropped
            np.clip(u + 1, 0, self.N_BINS + 1, out=u)
            d = u.shape[1]
            padded = np.bincount((u @ self.radix).astype(np.int64),
                                 minlength=(self.N_BINS + 2) ** d)
            inner = (slice(1, -1),) * d
            counts = padded.reshape((self.N_BINS + 2,) * d)[inner].ravel().astype(np.float64)
        q = (counts + self.ALPHA) / (counts.sum() + self.ALPHA * self.n_cells)
        return float(self.p_log_p - self.p @ np.log(q))

    def dh(self, root_gen, n: int) -> float:
        """D_H against the square roots of the smoothed spectra of n generated steps."""
        diff = self.root_spectrum(n) - root_gen
        return float(np.mean(np.sqrt(0.5 * np.einsum("ij,ij->j", diff, diff))))


def _fixed_points(A, W, h, P):
    """Real fixed points (latent) of the map, one per region where real."""
    M = len(A)
    found = []
    for region in range(2 ** P):
        bits = np.array([(region >> (P - 1 - j)) & 1 for j in range(P)])
        WD = np.diag(A) + W * np.concatenate([np.ones(M - P), bits])
        try:
            z = np.linalg.solve(np.eye(M) - WD, h)
        except np.linalg.LinAlgError:
            continue
        if np.array_equal(z[M - P:] > 0, bits.astype(bool)):
            found.append(z)
    return np.array(found).reshape(-1, M)


def calibrate(model: ALRNN, data, *, tolerances: dict | None = None, lyapunov_max=None,
              true_fixed_points=None, n_regions: int | None = None, parameters=GROUPS,
              n_generations: int = 150,
              popsize: int = 16, n_steps: int = 100_000, n_orbits: int = 1,
              n_segments: int = 1, step: float = 1.0, should_stop=None, seed: int = 0,
              progress: bool = True) -> tuple[ALRNN, Calibration]:
    """Adjust ``model`` so that its free-running statistics match ``data`` (CMA-ES).

    ``data``: one trajectory (T, N) or a list of them, in data units, each compared in its
    own z-scored units as :func:`~toolkit.alrnn.evaluate` does. Each sample of the search
    runs ``n_orbits`` free orbits of ``n_steps``, orbit i from trajectory i; trajectory i
    is compared with orbit i mod ``n_orbits``. The distribution mean, the candidate that
    is returned, runs one orbit from every trajectory, so that its figures (λ_max above all)
    are not one orbit's luck. An orbit is run as ``n_segments`` pieces side
    by side (each after a transient of a quarter of its length, from points spread evenly
    over its trajectory) and joined; λ_max is the mean over all pieces. For a chaotic,
    stationary orbit that gives the statistics of one long orbit in less time (4 pieces:
    about 40% less); not for orbits that are still settling (a slowly decaying spiral, say),
    whose pieces differ from one long orbit. Measures and their tolerances (``tolerances``
    overrides the defaults ``{"D_stsp": 2.5, "D_H": 0.2, "lyapunov_max": 0.15,
    "fixed_points": 0.2}``):

    - ``D_stsp``, ``D_H``: means over the trajectories;
    - ``lyapunov_max`` (only if the ``lyapunov_max`` target, per time unit, is given):
      relative error of the mean over the orbits;
    - ``fixed_points`` (only if ``true_fixed_points`` (K, N), data units, are given): for
      each the nearest real fixed point's error per coordinate in units of the first
      trajectory's standard deviation, the worst over the K;
    - ``n_regions``: if given, a candidate visiting another number of regions scores 2.

    ``parameters``: the groups searched, any of :data:`GROUPS` (``"A"``, ``"h"``,
    ``"time_scale"``, ``"W_relu"``; default all: 117 numbers for M = 20, P = 2).
    ``step``: the initial search step as a multiple of the default steps (3e-4 for A,
    3e-3 for h and W, 0.01 for log s; z-scored units).
    ``should_stop(generation, measures)``: called with the distribution mean's measures
    (a dict: ``objective``, ``D_stsp``, ``D_H``, ``lyapunov_max``, ``fixed_points``,
    ``n_regions``) after every generation; if it returns True the search stops and that
    mean is returned (otherwise the best-scoring mean is).

    Returns the calibrated model (a new :class:`ALRNN`; ``model`` is not changed) and the
    :class:`Calibration` history. Same seed, same result.
    """
    from ..metrics import _smoothed_spectra as smoothed_spectra

    if not isinstance(model, ALRNN):
        raise TypeError(f"model: expected an ALRNN, got {type(model).__name__}")
    trajectories = [data] if isinstance(data, np.ndarray) and data.ndim == 2 else list(data)
    if not trajectories:
        raise ValueError("data: no trajectory given")
    trajectories = [as_array(x, f"data[{i}]", ndim=2, min_length=100)
                    for i, x in enumerate(trajectories)]
    for i, x in enumerate(trajectories):
        if x.shape[1] != model.N:
            raise ValueError(f"data[{i}]: has {x.shape[1]} dimensions, the model observes "
                             f"{model.N}")
    tol = {"D_stsp": 2.5, "D_H": 0.2, "lyapunov_max": 0.15, "fixed_points": 0.2}
    for key, value in (tolerances or {}).items():
        if key not in tol:
            raise ValueError(f"tolerances: unknown measure {key!r}; expected one of "
                             f"{sorted(tol)}")
        tol[key] = positive(value, f"tolerances[{key!r}]")
    n_generations = positive(n_generations, "n_generations", integer=True)
    popsize = positive(popsize, "popsize", integer=True)
    if popsize < 4:
        raise ValueError(f"popsize: needs at least 4 candidates, got {popsize}")
    n_steps = positive(n_steps, "n_steps", integer=True)
    n_orbits = positive(n_orbits, "n_orbits", integer=True)
    n_segments = positive(n_segments, "n_segments", integer=True)
    if n_steps // n_segments < 100:
        raise ValueError(f"n_segments: {n_segments} pieces of {n_steps} steps are shorter "
                         "than 100 steps each")
    step = positive(step, "step")
    if n_orbits > len(trajectories):
        raise ValueError(f"n_orbits: {n_orbits} orbits need as many trajectories to start "
                         f"from, got {len(trajectories)}")
    if lyapunov_max is not None:
        lyapunov_max = positive(lyapunov_max, "lyapunov_max")
    truth_fp = None
    if true_fixed_points is not None:
        truth_fp = as_array(true_fixed_points, "true_fixed_points", ndim=2)
        if truth_fp.shape[1] != model.N:
            raise ValueError(f"true_fixed_points: expected {model.N} columns, "
                             f"got {truth_fp.shape[1]}")

    if isinstance(parameters, str):
        parameters = (parameters,)
    unknown = sorted(set(parameters) - set(GROUPS))
    if unknown or not parameters:
        raise ValueError(f"parameters: expected some of {list(GROUPS)}, got {list(parameters)}")
    targets = [_Target(x) for x in trajectories]
    std0 = targets[0].std
    # each orbit: n_segments pieces from points spread over the trajectory it starts from
    segment = -(-n_steps // n_segments)
    starts = np.stack([[model.initial_state(x[j * len(x) // n_segments]).reshape(-1)
                        for j in range(n_segments)] for x in trajectories])
    search = _Search(model, tuple(parameters))
    P, N = model.P, model.N

    def score(X, mean_last=False):
        """Objective (B,) and measures (B, 5) of candidates X (B, n). The samples run
        n_orbits orbits each; with ``mean_last`` the last candidate (the distribution mean,
        the one returned) runs one from every trajectory, for steadier figures."""
        B = len(X)
        params = [search.params(x) for x in X]
        A = np.array([p[0] for p in params])
        h = np.array([p[2] for p in params])
        dW = np.array([p[1] for p in params]) - search.W0
        counts = [n_orbits] * B
        if mean_last:
            counts[-1] = len(trajectories)
        # rows (candidate, orbit, piece), candidate-major: the pieces run side by side
        rows = np.array([(b, o, j) for b, c in enumerate(counts) for o in range(c)
                         for j in range(n_segments)])
        obs, signs, lam = _run_population(A[rows[:, 0]], search.W0, h[rows[:, 0]],
                                          dW[rows[:, 0]], P, starts[rows[:, 1], rows[:, 2]],
                                          segment, segment // 4, N)
        codes = signs @ (2 ** np.arange(P))
        first = np.cumsum([0] + [c * n_segments for c in counts])
        objective = np.full(B, 10.0)
        measures = np.full((B, 5), np.nan)
        for b in range(B):
            mine = slice(first[b], first[b + 1])
            # the candidate's orbits, pieces joined: (orbits, n_steps, N)
            orbits = obs[mine].reshape(counts[b], n_segments * segment, N)[:, :n_steps]
            lam_b = lam[mine].mean() / model.dt
            if (not np.all(np.isfinite(orbits)) or np.abs(orbits).max() > 1e3
                    or not np.isfinite(lam_b)):
                continue  # diverged or ran away: worst score
            gens = [model.denormalize(o) for o in orbits]
            spectra = {}  # (orbit, length) → √(smoothed spectra), shared by the targets
            ds, dh = [], []
            for i, target in enumerate(targets):
                k = i % counts[b]
                n = min(target.length, n_steps)
                if (k, n) not in spectra:
                    spectra[k, n] = np.sqrt(smoothed_spectra(gens[k][:n], _Target.SIGMA))
                ds.append(target.dstsp(gens[k]))
                dh.append(target.dh(spectra[k, n], n))
            ratios = [np.mean(ds) / tol["D_stsp"], np.mean(dh) / tol["D_H"]]
            measures[b, :3] = np.mean(ds), np.mean(dh), lam_b
            if lyapunov_max is not None:
                ratios.append(abs(lam_b - lyapunov_max) / (tol["lyapunov_max"] * lyapunov_max))
            if truth_fp is not None:
                fp = model.denormalize(_fixed_points(*params[b], P)[:, :N])
                err = max(float(np.min(np.max(np.abs(fp - c) / std0, axis=1)))
                          if len(fp) else np.inf for c in truth_fp)
                measures[b, 3] = err
                ratios.append(err / tol["fixed_points"])
            visited = np.count_nonzero(np.bincount(codes[mine].ravel(), minlength=2 ** P))
            measures[b, 4] = visited
            if n_regions is not None:
                ratios.append(0.0 if visited == n_regions else 2.0)
            ratios = np.array(ratios)
            objective[b] = ratios.max() + 0.1 * ratios.mean()
        return objective, measures

    # small arrays: one BLAS thread is fastest, and it keeps the sums (and so the search)
    # the same whatever the machine's thread settings
    with threadpool_limits(1, user_api="blas"):
        cma = _CMA(search.size, popsize, np.random.default_rng(seed), sigma=step)
        f0, m0 = score(np.zeros((1, search.size)), mean_last=True)
        history = {k: [] for k in ("best", "median", "sigma")}
        checks = {"generation": [-1], "objective": [f0[0]], "measures": [m0[0]],
                  "x": [np.zeros(search.size)]}
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=n_generations, desc="AL-RNN calibration")
        for g in range(n_generations):
            X = cma.ask()
            # the distribution mean runs in the same batch (nearly free): it is the candidate
            # to return, the samples only steer the search
            f, measures = score(np.vstack([X, cma.mean]), mean_last=True)
            checks["generation"].append(g)
            checks["objective"].append(f[-1])
            checks["measures"].append(measures[-1])
            checks["x"].append(cma.mean.copy())
            cma.tell(X, f[:-1])
            history["best"].append(f[:-1].min())
            history["median"].append(np.median(f[:-1]))
            history["sigma"].append(cma.sigma)
            if bar is not None:
                bar.update()
                bar.set_postfix(best=f"{min(checks['objective']):.3f}")
            if should_stop is not None and should_stop(
                    g, dict(zip(("objective",) + _MEASURES, (f[-1], *measures[-1])))):
                stopped = True
                break
        else:
            stopped = False
    if bar is not None:
        bar.close()
    chosen = len(checks["objective"]) - 1 if stopped else int(np.argmin(checks["objective"]))
    A, W, h = search.params(checks["x"][chosen])
    import torch

    calibrated = ALRNN.from_params(torch.from_numpy(A), torch.from_numpy(W),
                                   torch.from_numpy(h), P, N, L=torch.from_numpy(search.L0),
                                   mean=model.mean, std=model.std, dt=model.dt)
    result = Calibration(
        generation=np.arange(len(history["best"])), best=np.array(history["best"]),
        median=np.array(history["median"]), sigma=np.array(history["sigma"]),
        check_generation=np.array(checks["generation"][1:]),
        check_objective=np.array(checks["objective"][1:]),
        check_measures=np.array(checks["measures"][1:]), chosen=chosen - 1,
        initial_objective=float(f0[0]), initial_measures=np.asarray(m0[0]),
        n_parameters=search.size, tolerances=tol,
        time_scale=search.time_scale(checks["x"][chosen]))
    return calibrated, result


class _CMA:
    """CMA-ES with full covariance and cumulative step-size adaptation (minimisation)."""

    def __init__(self, n: int, popsize: int, rng: np.random.Generator, sigma: float = 1.0):
        self.n, self.popsize, self.rng = n, popsize, rng
        mu = popsize // 2
        w = np.log(mu + 0.5) - np.log(np.arange(1, mu + 1))
        self.weights = w / w.sum()
        self.mueff = 1 / np.sum(self.weights ** 2)
        me = self.mueff
        self.cc = (4 + me / n) / (n + 4 + 2 * me / n)
        self.cs = (me + 2) / (n + me + 5)
        self.c1 = 2 / ((n + 1.3) ** 2 + me)
        self.cmu = min(1 - self.c1, 2 * (me - 2 + 1 / me) / ((n + 2) ** 2 + me))
        self.damps = 1 + 2 * max(0.0, np.sqrt((me - 1) / (n + 1)) - 1) + self.cs
        self.chi_n = np.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
        self.mean = np.zeros(n)
        self.sigma = sigma
        self.C = np.eye(n)
        self.pc = np.zeros(n)
        self.ps = np.zeros(n)
        self.generation = 0

    def ask(self) -> np.ndarray:
        evals, self._B = np.linalg.eigh(self.C)
        self._D = np.sqrt(np.maximum(evals, 1e-20))
        self._Y = (self.rng.standard_normal((self.popsize, self.n)) * self._D) @ self._B.T
        return self.mean + self.sigma * self._Y

    def tell(self, X, f) -> None:
        order = np.argsort(f, kind="stable")[: len(self.weights)]
        Y = self._Y[order]
        yw = self.weights @ Y
        self.mean = self.mean + self.sigma * yw
        self.generation += 1
        c_inv_sqrt = (self._B / self._D) @ self._B.T
        cs, cc, me = self.cs, self.cc, self.mueff
        self.ps = (1 - cs) * self.ps + np.sqrt(cs * (2 - cs) * me) * c_inv_sqrt @ yw
        hsig = (np.linalg.norm(self.ps) / np.sqrt(1 - (1 - cs) ** (2 * self.generation))
                / self.chi_n) < 1.4 + 2 / (self.n + 1)
        self.pc = (1 - cc) * self.pc + hsig * np.sqrt(cc * (2 - cc) * me) * yw
        self.C = ((1 - self.c1 - self.cmu) * self.C
                  + self.c1 * (np.outer(self.pc, self.pc)
                               + (1 - hsig) * cc * (2 - cc) * self.C)
                  + self.cmu * (Y.T * self.weights) @ Y)
        self.sigma *= np.exp((cs / self.damps) * (np.linalg.norm(self.ps) / self.chi_n - 1))
