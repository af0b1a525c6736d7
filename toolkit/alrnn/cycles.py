"""Exact fixed points and k-cycles of an AL-RNN (or any piecewise-linear map of its form).

Inside a fixed sequence of linear regions D_1..D_k the cycle equation is linear, so each
region word gives at most one candidate cycle, found by one linear solve; it is real if
its points lie in the regions assumed. With q = 2^P regions there are q^k words of
length k, but only the *primitive necklaces* (Lyndon words: aperiodic, least among their
rotations) can give distinct cycles of minimal period k, about q^k / k of them.

How the search is done, per period k:

- **Exhaustive** (the default whenever the number of Lyndon words is at most
  ``max_candidates``): every word is solved, in batches. Then "all" is a guarantee:
  every isolated k-cycle is returned. The exceptions are measure-zero: cycles whose
  linear system is singular (continua of cycles, e.g. a centre) and cycles with a point
  exactly on a region boundary, which may be reported under either neighbouring word
  (duplicates are removed).
- **SCYFI** (Eisenmann et al. 2023) beyond that: start from region words seen along
  free orbits of the model and from random words, solve, iterate the solution forward
  with the true map, replace the assumed words by the regions actually visited and
  solve again, a bounded number of times. Every cycle it returns is exact and verified,
  but it may miss cycles: no completeness guarantee. ``CycleSet.exhaustive`` says which
  periods were searched exhaustively.

Solving uses the structure of the AL-RNN: writing the map as
F(z) = J_b z + h + W_R r(z) with J_b the Jacobian of a base region b and
r_j = relu(±z_{M−P+j}) the P "kinks", a k-cycle is determined by its k·P kink values,
which satisfy a linear complementarity system G (k·P × k·P) computed once per period.
A candidate then costs a (k·P)-sized solve instead of k products of M × M matrices.
Every accepted cycle is recomputed from its region word with the exact per-region
matrices and verified by forward iteration: max_t ‖F(z_t) − z_{t+1}‖ ≤ ``tol``·scale
(typically ~1e-13), its symbol sequence is k-periodic and its minimal period is k.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .._checks import positive
from .._result import Result
from .model import ALRNN, _region_matrices, region_bits, region_ids

__all__ = ["Cycle", "CycleSet", "find_cycles", "lyndon_words"]


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class Cycle(Result):
    """A fixed point (period 1) or k-cycle of the map.

    ``points`` (period, M) latent states z_0..z_{k−1}; ``regions`` (period,) the region
    of each point; ``observed`` (period, N) the points in data units; ``eigenvalues``
    of the cycle's Jacobian product W_{D_k}···W_{D_1} (the monodromy matrix);
    ``closure_error`` the largest one-step residual ‖F(z_t) − z_{t+1}‖.
    """

    period: int
    points: np.ndarray
    regions: np.ndarray
    observed: np.ndarray
    eigenvalues: np.ndarray
    closure_error: float

    @property
    def spectral_radius(self) -> float:
        return float(np.abs(self.eigenvalues).max())

    @property
    def stable(self) -> bool:
        """Linearly stable: every eigenvalue of the monodromy matrix inside the unit circle."""
        return self.spectral_radius < 1.0

    @property
    def word(self) -> str:
        """The region word, regions as integers joined by dashes (e.g. "1-3-3")."""
        return "-".join(str(int(r)) for r in self.regions)

    def to_frame(self):
        import pandas as pd

        P_cols = {f"x{i}": self.observed[:, i] for i in range(self.observed.shape[1])}
        return pd.DataFrame({"step": np.arange(self.period), "region": self.regions, **P_cols})

    def plot(self, dims=(0, 1)):
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        pts = self.observed[:, list(dims)]
        closed = np.vstack([pts, pts[:1]])
        return (hv.Path([closed]).opts(color=PALETTE[1]) *
                hv.Points(pts).opts(color=PALETTE[1], size=8)).opts(
            title=f"period {self.period} ({'stable' if self.stable else 'unstable'})")


@dataclass(frozen=True)
class CycleSet(Result):
    """All cycles found by :func:`find_cycles`, ordered by period then word.

    Iterating yields :class:`Cycle` objects. ``exhaustive[k-1]`` is True where period k
    was searched exhaustively (then every isolated k-cycle is in the set);
    ``n_candidates[k-1]`` counts the linear solves for period k; ``seconds`` the time.
    """

    cycles: list
    max_period: int
    exhaustive: np.ndarray
    n_candidates: np.ndarray
    seconds: float
    P: int = 0
    meta: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.cycles)

    def __iter__(self):
        return iter(self.cycles)

    def __getitem__(self, i):
        return self.cycles[i]

    def of_period(self, k: int) -> list:
        return [c for c in self.cycles if c.period == k]

    @property
    def periods(self) -> np.ndarray:
        return np.array([c.period for c in self.cycles], dtype=int)

    @property
    def complete(self) -> bool:
        """True when every period up to ``max_period`` was searched exhaustively."""
        return bool(np.all(self.exhaustive))

    def to_frame(self):
        import pandas as pd

        from .symbolic import region_label

        rows = []
        for i, c in enumerate(self.cycles):
            rows.append({"cycle": i, "period": c.period,
                         "regions": " → ".join(region_label(r, self.P) for r in c.regions),
                         "stable": c.stable, "spectral_radius": c.spectral_radius,
                         "closure_error": c.closure_error,
                         "exhaustive": bool(self.exhaustive[c.period - 1])})
        return pd.DataFrame(rows, columns=["cycle", "period", "regions", "stable",
                                           "spectral_radius", "closure_error", "exhaustive"])

    def plot(self, background=None, dims=(0, 1), *, labels=None, max_cycles: int = 40):
        """Cycles (in data units) over an optional background trajectory (T, N).

        One-dimensional observations are drawn in delay coordinates (x_t, x_{t+1}), where
        a cycle is a closed polygon whose corners lie on the graph of the map.
        """
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme, phase_portrait

        _ensure_theme()
        one_d = bool(self.cycles) and self.cycles[0].observed.shape[1] == 1

        def coords(x):
            x = np.asarray(x)
            if one_d:
                return np.column_stack([x[:, 0], np.roll(x[:, 0], -1)])
            return x[:, list(dims)]

        if one_d:
            names = ["x_t", "x_t+1"]
        else:
            names = list(labels) if labels is not None else \
                [f"x{d}" for d in range(max(dims) + 1)]
            names = [names[dims[0]], names[dims[1]]]
        layers = []
        if background is not None:
            bg = np.asarray(background, dtype=float)
            bg = bg[:, None] if bg.ndim == 1 else bg
            pts = np.column_stack([bg[:-1, 0], bg[1:, 0]]) if one_d else bg[:, list(dims)]
            layers.append(phase_portrait(pts, labels=names).opts(color="#bbbbbb", alpha=0.6))
        for c in self.cycles[:max_cycles]:
            pts = coords(c.observed)
            col = PALETTE[(c.period - 1) % len(PALETTE)]
            marker = "circle" if c.stable else "x"
            path = hv.Path([np.vstack([pts, pts[:1]])], kdims=names).opts(
                color=col, line_width=1.5, alpha=0.8)
            layers.append(path * hv.Points(pts, kdims=names).opts(color=col, size=9,
                                                                 marker=marker))
        title = (f"{len(self)} cycles up to period {self.max_period} "
                 "(○ stable, × unstable; colour = period)")
        if not layers:
            return hv.Points([], kdims=names).opts(title=title)
        return hv.Overlay(layers).opts(title=title, show_legend=False)


# ------------------------------------------------------------------ words
def lyndon_words(q: int, k: int) -> np.ndarray:
    """All Lyndon words of length k over {0..q−1}: aperiodic and strictly least among
    their rotations, one per primitive necklace. Shape (count, k), in increasing order."""
    return _lyndon_cached(int(q), int(k)).copy()


@lru_cache(maxsize=64)
def _lyndon_cached(q: int, k: int) -> np.ndarray:
    if k == 1:
        return np.arange(q, dtype=np.int64)[:, None]
    codes = np.arange(q**k, dtype=np.int64)
    ok = np.ones(len(codes), dtype=bool)
    for s in range(1, k):
        # value of the word rotated left by s: (code mod q^(k−s))·q^s + code div q^(k−s)
        head = q ** (k - s)
        ok &= codes < (codes % head) * q**s + codes // head
    codes = codes[ok]
    place = q ** np.arange(k - 1, -1, -1, dtype=np.int64)
    return (codes[:, None] // place) % q


def n_lyndon(q: int, k: int) -> int:
    """Number of Lyndon words of length k over q letters (Moreau's necklace formula)."""
    total = 0
    for d in range(1, k + 1):
        if k % d == 0:
            total += _mobius(d) * q ** (k // d)
    return total // k


def _mobius(n: int) -> int:
    result, p = 1, 2
    while p * p <= n:
        if n % p == 0:
            n //= p
            if n % p == 0:
                return 0
            result = -result
        p += 1
    return -result if n > 1 else result


def _canonical(word) -> tuple | None:
    """The least rotation of a word, or None if the word is a power of a shorter one."""
    w = list(int(x) for x in word)
    k = len(w)
    rots = [tuple(w[s:] + w[:s]) for s in range(k)]
    if len(set(rots)) < k:
        return None
    return min(rots)


# ------------------------------------------------------------------ the solver
class _PeriodSystem:
    """Everything needed to solve region words of one period k.

    Base region b: F(z) = J_b z + h + B r, r_j = relu(σ_j z_{M−P+j}) with σ_j = −1 where
    b_j = 1 (on) and +1 where b_j = 0. Kink values r (k·P) of a cycle obey
    r_i = relu(σ_i v_i), v = c + G r.
    """

    def __init__(self, A, W, h, P, k, base_bits):
        M = len(A)
        k0 = M - P
        self.M, self.P, self.k = M, P, k
        Jb = np.diag(A) + W * np.concatenate([np.ones(k0), base_bits])[None, :]
        B = W[:, k0:]
        n = k * M
        Lbig = np.eye(n)
        for t in range(k):
            s = (t - 1) % k
            Lbig[t * M:(t + 1) * M, s * M:(s + 1) * M] -= Jb
        H = np.tile(h, k)
        Bbig = np.zeros((n, k * P))
        for t in range(k):
            s = (t - 1) % k  # r_{s} feeds block t
            Bbig[t * M:(t + 1) * M, s * P:(s + 1) * P] = B
        rhs = np.column_stack([H, Bbig])
        sol = np.linalg.solve(Lbig, rhs)       # Z = sol[:, 0] + sol[:, 1:] r
        rows = (np.arange(k)[:, None] * M + k0 + np.arange(P)[None, :]).reshape(-1)
        self.c = sol[rows, 0]
        self.G = sol[rows, 1:]
        self.z0_c = sol[:M, 0]
        self.z0_G = sol[:M, 1:]
        self.sigma = np.tile(np.where(np.asarray(base_bits) > 0, -1.0, 1.0), k)
        self.base_bits = np.asarray(base_bits, dtype=np.int64)
        self.K = np.eye(k * P) - self.sigma[:, None] * self.G

    def active(self, words):
        """Active kinks (r > 0) of region words (n, k): bit differs from the base bit."""
        bits = region_bits(words, self.P)                   # (n, k, P)
        return (bits != self.base_bits).reshape(len(words), -1)

    def solve(self, words, tol=1e-9):
        """Kink values r (n, kP), feasibility (n,) and the first cycle points z_0 (n, M)."""
        m = self.active(words).astype(float)
        n, d = m.shape
        if d == 0:
            r = np.zeros((n, 0))
            return r, np.ones(n, bool), np.broadcast_to(self.z0_c, (n, self.M)).copy()
        S = m[:, :, None] * m[:, None, :]
        S *= self.K
        idx = np.arange(d)
        S[:, idx, idx] += 1.0 - m
        rhs = m * self.sigma * self.c
        r = _batched_solve(S, rhs)
        v = self.c + r @ self.G.T
        sv = self.sigma * v
        scale = tol * (1.0 + np.abs(self.c).max() + np.abs(r).max(axis=1, initial=0.0))
        ok = np.all(np.where(m > 0, sv >= -scale[:, None], sv <= scale[:, None]), axis=1)
        ok &= np.all(np.isfinite(r), axis=1)
        z0 = self.z0_c + r @ self.z0_G.T
        return r, ok, z0


def _batched_solve(S, rhs):
    try:
        return np.linalg.solve(S, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(rhs.shape, np.nan)
        for i in range(len(S)):
            try:
                out[i] = np.linalg.solve(S[i], rhs[i])
            except np.linalg.LinAlgError:
                pass
        return out


def _choose_base(A, W, P, k, rng):
    """Base region bits whose block system for period k is far from singular.

    The system is singular exactly when J_b^k has an eigenvalue 1; all-on is tried
    first, then all-off, then random patterns.
    """
    M = len(A)
    candidates = [np.ones(P, dtype=np.int64), np.zeros(P, dtype=np.int64)]
    candidates += [rng.integers(0, 2, P) for _ in range(6)]
    best, best_gap = None, -1.0
    for b in candidates:
        Jb = np.diag(A) + W * np.concatenate([np.ones(M - P), b])[None, :]
        lam = np.linalg.eigvals(Jb)
        gap = float(np.min(np.abs(1.0 - lam**k)))
        if gap > 1e-6:
            return b
        if gap > best_gap:
            best, best_gap = b, gap
    return best


def _exact_cycle(A, W, h, P, word):
    """Points of the cycle through region word D_1..D_k (z_t in D_{t+1}) by one block
    solve with the exact region matrices; None if singular."""
    M = len(A)
    k = len(word)
    WD = _region_matrices(A, W, P, np.asarray(word))
    n = k * M
    Lbig = np.eye(n)
    for t in range(k):
        s = (t - 1) % k
        Lbig[t * M:(t + 1) * M, s * M:(s + 1) * M] -= WD[s]
    try:
        Z = np.linalg.solve(Lbig, np.tile(h, k))
    except np.linalg.LinAlgError:
        return None, WD
    return Z.reshape(k, M), WD


def _step(A, W, h, P, Z):
    M = len(A)
    phi = Z.copy()
    phi[..., M - P:] = np.maximum(phi[..., M - P:], 0.0)
    return Z * A + phi @ W.T + h


def _minimal_period(points, tol):
    k = len(points)
    for d in range(1, k):
        if k % d == 0 and np.max(np.abs(points - np.roll(points, -d, axis=0))) <= tol:
            return d
    return k


class _Collector:
    def __init__(self, model, A, W, h, P, tol):
        self.model, self.A, self.W, self.h, self.P, self.tol = model, A, W, h, P, tol
        self.found: dict[int, list[Cycle]] = {}
        self.seen: set = set()

    def offer(self, word) -> bool:
        canon = _canonical(word)
        if canon is None or canon in self.seen:
            return False
        self.seen.add(canon)
        A, W, h, P = self.A, self.W, self.h, self.P
        Z, WD = _exact_cycle(A, W, h, P, canon)
        if Z is None or not np.all(np.isfinite(Z)):
            return False
        k = len(canon)
        scale = 1.0 + np.abs(Z).max()
        resid = float(np.max(np.abs(_step(A, W, h, P, Z) - np.roll(Z, -1, axis=0))))
        if resid > self.tol * scale:
            return False
        actual = region_ids(Z, P)
        # a point on a boundary may read as the neighbouring region; both maps agree there
        if _minimal_period(Z, 1e3 * self.tol * scale) != k:
            return False
        actual_canon = _canonical(actual)
        if actual_canon is None:
            return False
        if actual_canon != canon:
            if actual_canon in self.seen and any(
                    np.allclose(np.sort(c.points, axis=0), np.sort(Z, axis=0),
                                atol=1e3 * self.tol * scale)
                    for c in self.found.get(k, [])):
                return False
            self.seen.add(actual_canon)
        mono = np.eye(len(A))
        for t in range(k):
            mono = WD[t] @ mono
        eig = np.linalg.eigvals(mono)
        cyc = Cycle(k, Z, actual, self.model.observe(Z), eig, resid)
        self.found.setdefault(k, []).append(cyc)
        return True


def _orbit_symbols(model, A, W, h, P, rng, latent=None, n_orbits=8, n_steps=1500):
    """Symbol sequences (n, T) of free orbits (from random states) and of ``latent``."""
    from .model import _iterate

    M = len(A)
    z0 = rng.standard_normal((n_orbits, M))
    z0[:, model.N:] *= 0.1
    with np.errstate(all="ignore"):
        orbit = _iterate(A, W, h, P, z0, n_steps)[:, n_steps // 5:]
    orbit = orbit[np.all(np.isfinite(orbit), axis=(1, 2))]
    seqs = [region_ids(o, P) for o in orbit]
    if latent is not None:
        seqs.append(region_ids(np.asarray(latent, dtype=float), P))
    return seqs


def _words_in(seqs, k):
    """Distinct length-k windows of the symbol sequences, shape (n, k)."""
    wins = [np.stack([s[i:len(s) - k + 1 + i] for i in range(k)], axis=1)
            for s in seqs if len(s) >= k]
    if not wins:
        return np.zeros((0, k), dtype=np.int64)
    return np.unique(np.concatenate(wins), axis=0)


def find_cycles(
    model: ALRNN,
    max_period: int = 8,
    *,
    max_candidates: int = 100_000,
    n_starts: int = 1000,
    n_inner: int = 20,
    tol: float = 1e-10,
    latent=None,
    seed: int = 0,
) -> CycleSet:
    """All fixed points and cycles of minimal period ≤ ``max_period``.

    Period k is searched exhaustively when its number of Lyndon region words (about
    (2^P)^k / k) is at most ``max_candidates``; then every isolated k-cycle is found
    (see the module docstring for the measure-zero exceptions). Otherwise SCYFI runs
    with ``n_starts`` starting words (words seen on free orbits first, then random ones)
    and ``n_inner`` refinements each; it returns verified cycles but may miss some.

    Every returned cycle satisfies max_t ‖F(z_t) − z_{t+1}‖ ≤ ``tol``·(1 + max|z|), has
    a k-periodic symbol sequence and minimal period k; duplicates are removed.
    ``latent`` (T, M), e.g. a generated orbit, adds its region words to SCYFI's starts
    (free orbits from random states are used in any case).
    """
    if not isinstance(model, ALRNN):
        raise TypeError(f"model: expected an ALRNN, got {type(model).__name__}")
    max_period = positive(max_period, "max_period", integer=True)
    max_candidates = positive(max_candidates, "max_candidates", integer=True)
    n_starts = positive(n_starts, "n_starts", integer=True)
    n_inner = positive(n_inner, "n_inner", integer=True)
    positive(tol, "tol")
    t_start = time.perf_counter()
    A, W, h, _ = model.numpy_params()
    P = model.P
    q = 2**P
    rng = np.random.default_rng(seed)
    collector = _Collector(model, A, W, h, P, tol)
    exhaustive = np.zeros(max_period, dtype=bool)
    seqs = None
    n_solves = np.zeros(max_period, dtype=np.int64)
    with np.errstate(all="ignore"):
        for k in range(1, max_period + 1):
            if P == 0 and k > 1:
                exhaustive[k - 1] = True
                continue
            system = _PeriodSystem(A, W, h, P, k, _choose_base(A, W, P, k, rng))
            if n_lyndon(q, k) <= max_candidates:
                exhaustive[k - 1] = True
                words = lyndon_words(q, k)
                for lo in range(0, len(words), 8192):
                    chunk = words[lo:lo + 8192]
                    _, ok, _ = system.solve(chunk)
                    n_solves[k - 1] += len(chunk)
                    for w in chunk[ok]:
                        collector.offer(w)
            else:
                if seqs is None:
                    seqs = _orbit_symbols(model, A, W, h, P, rng, latent)
                n_solves[k - 1] = _scyfi(system, collector, A, W, h, P, k, seqs, n_starts,
                                         n_inner, rng)
    cycles = [c for k in sorted(collector.found)
              for c in sorted(collector.found[k], key=lambda c: _canonical(c.regions) or ())]
    return CycleSet(cycles, max_period, exhaustive, n_solves,
                    time.perf_counter() - t_start, P,
                    {"max_candidates": max_candidates, "n_starts": n_starts,
                     "n_inner": n_inner, "tol": tol, "seed": seed})


def _scyfi(system, collector, A, W, h, P, k, seqs, n_starts, n_inner, rng):
    """Batched SCYFI for period k; returns the number of linear solves."""
    q = 2**P
    seen_words = _words_in(seqs, k)
    if len(seen_words) > n_starts // 2:
        seen_words = seen_words[rng.choice(len(seen_words), n_starts // 2, replace=False)]
    random_words = rng.integers(0, q, (n_starts - len(seen_words), k))
    words = np.concatenate([seen_words, random_words]) if len(seen_words) else random_words
    solves = 0
    done = set()
    for _ in range(n_inner):
        if len(words) == 0:
            break
        _, ok, z0 = system.solve(words)
        solves += len(words)
        # iterate the candidate with the true map and read the regions actually visited
        Z = np.empty((len(words), k, len(A)))
        z = z0
        for t in range(k):
            Z[:, t] = z
            z = _step(A, W, h, P, z)
        actual = region_ids(Z, P)
        same = ok & np.all(actual == words, axis=1)
        for w in words[same]:
            key = tuple(int(x) for x in w)
            if key not in done:
                done.add(key)
                collector.offer(w)
        keep = ~same & np.all(np.isfinite(Z), axis=(1, 2))
        words = np.unique(actual[keep], axis=0) if keep.any() else actual[:0]
    return solves
