"""Hidden Markov models with discrete outputs: constructors, validation, sampling, statistics.

An :class:`HMM` holds a start distribution ``start`` (S,), a transition matrix
``transition`` (S, S) with T[i, j] = P(z_{t+1} = j | z_t = i), and an emission matrix
``emission`` (S, K) with E[i, a] = P(o_t = a | z_t = i). Everything analytic here is exact
(matrix products), so it can serve as ground truth for sampled statistics::

    hmm = linear_chain(2)
    hmm.switch_rate()                 # 0.0688
    symbols, states = hmm.sample(2000, 100, seed=0)
    hmm.log_likelihood(symbols).mean() / 100   # ≈ −0.258 nats per step

The four HMMs of Torre et al. (NeurIPS 2025) are :func:`linear_chain` (2–5 states),
:func:`fully_connected` (3 states) and :func:`cyclic` (4 states); :func:`make_hmm` builds
them by name.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .._checks import as_array, in_range, one_of, positive
from .._result import Result

__all__ = ["HMM", "linear_chain", "fully_connected", "cyclic", "make_hmm", "HMM_NAMES",
           "check_symbols", "as_hmm"]

_TOL = 1e-6


def _stochastic(x, name: str, shape) -> np.ndarray:
    arr = as_array(x, name, shape=shape)
    if np.any(arr < -_TOL):
        raise ValueError(f"{name}: entries must be non-negative, got minimum {arr.min():.3g}")
    sums = np.atleast_1d(arr.sum(axis=-1))
    bad = np.flatnonzero(np.abs(sums - 1.0) > _TOL)
    if len(bad):
        if arr.ndim == 1:
            raise ValueError(f"{name}: must sum to 1, sums to {sums[0]:.6g}")
        raise ValueError(f"{name}: rows must sum to 1 (stochastic); row {int(bad[0])} "
                         f"sums to {sums[bad[0]]:.6g}")
    arr = np.clip(arr, 0.0, None)
    return arr / arr.sum(axis=-1, keepdims=True)


def check_symbols(symbols, n_symbols: int, name: str = "symbols") -> np.ndarray:
    """Validate integer symbol sequences of shape (n_sequences, length), length ≥ 1."""
    arr = as_array(symbols, name, ndim=(1, 2), dtype=None)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: no sequences (shape {arr.shape})")
    if arr.shape[1] == 0:
        raise ValueError(f"{name}: zero-length sequences (shape {arr.shape})")
    if arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{name}: expected integer symbols, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= n_symbols:
        raise ValueError(f"{name}: symbols must lie in 0..{n_symbols - 1}, got range "
                         f"{arr.min()}..{arr.max()}")
    return arr.astype(np.int64)


@dataclass(frozen=True, eq=False)
class HMM(Result):
    """A discrete-output hidden Markov model (validated on construction).

    Parameters
    ----------
    start : (S,) initial state distribution.
    transition : (S, S) row-stochastic, ``transition[i, j] = P(z_{t+1}=j | z_t=i)``.
    emission : (S, K) row-stochastic, ``emission[i, a] = P(o_t=a | z_t=i)``.
    name : a label for plots and tables.
    """

    start: np.ndarray
    transition: np.ndarray
    emission: np.ndarray
    name: str = "custom"

    def __post_init__(self):
        T = as_array(self.transition, "transition", ndim=2)
        if T.shape[0] != T.shape[1]:
            raise ValueError(f"transition: must be square, got shape {T.shape}")
        S = T.shape[0]
        if S == 0:
            raise ValueError("transition: needs at least one state")
        T = _stochastic(T, "transition", (S, S))
        start = as_array(self.start, "start", ndim=1)
        if start.shape != (S,):
            raise ValueError(f"start: expected {S} entries (one per state of transition), "
                             f"got shape {start.shape}")
        start = _stochastic(start, "start", (S,))
        E = as_array(self.emission, "emission", ndim=2)
        if E.shape[0] != S:
            raise ValueError(f"emission: expected {S} rows (one per state of transition), "
                             f"got shape {E.shape}")
        if E.shape[1] < 1:
            raise ValueError("emission: needs at least one output symbol")
        E = _stochastic(E, "emission", (S, E.shape[1]))
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "transition", T)
        object.__setattr__(self, "emission", E)
        object.__setattr__(self, "name", str(self.name))

    # ------------------------------------------------------------- sizes
    @property
    def n_states(self) -> int:
        return self.transition.shape[0]

    @property
    def n_symbols(self) -> int:
        return self.emission.shape[1]

    # ------------------------------------------------------------- analytic statistics
    def stationary(self) -> np.ndarray:
        """Stationary state distribution π (π T = π), from the eigenvector of eigenvalue 1."""
        S = self.n_states
        # Solve π (T − I) = 0 with Σπ = 1 in the least-squares sense (exact when unique).
        A = np.vstack([(self.transition - np.eye(S)).T, np.ones((1, S))])
        b = np.zeros(S + 1)
        b[-1] = 1.0
        pi = np.linalg.lstsq(A, b, rcond=None)[0]
        pi = np.clip(pi, 0.0, None)
        return pi / pi.sum()

    def state_distribution(self, t: int) -> np.ndarray:
        """Distribution of the hidden state at step t (t = 0 is the start distribution)."""
        positive(t, "t", strict=False, integer=True)
        return self.start @ np.linalg.matrix_power(self.transition, int(t))

    def dwell_means(self) -> np.ndarray:
        """Mean hidden-state dwell times 1 / (1 − T_ii) (geometric dwell times)."""
        stay = np.diag(self.transition)
        with np.errstate(divide="ignore"):
            return np.where(stay < 1.0, 1.0 / (1.0 - stay), np.inf)

    def emission_marginals(self) -> np.ndarray:
        """Stationary output distribution π E, shape (K,)."""
        return self.stationary() @ self.emission

    def pair_joint(self, lag: int = 1) -> np.ndarray:
        """Stationary joint P(o_t = a, o_{t+lag} = b), shape (K, K)."""
        positive(lag, "lag", integer=True)
        pe = self.stationary()[:, None] * self.emission
        return pe.T @ np.linalg.matrix_power(self.transition, int(lag)) @ self.emission

    def bigram(self) -> np.ndarray:
        """Output bigram matrix P(o_{t+1} = b | o_t = a): row-normalised (diag(π) E)ᵀ T E."""
        joint = self.pair_joint(1)
        rows = joint.sum(axis=1, keepdims=True)
        return np.divide(joint, rows, out=np.zeros_like(joint), where=rows > 0)

    def switch_rate(self) -> float:
        """Expected fraction of steps with o_{t+1} ≠ o_t (stationary)."""
        return float(1.0 - np.trace(self.pair_joint(1)))

    def dwell_distribution(self, max_length: int = 200) -> np.ndarray:
        """Stationary distribution of output run lengths (runs of one symbol), entries
        1..max_length (index 0 is length 1), pooled over symbols.

        A run of symbol a of length n is a word b a^n c with b, c ≠ a; its probability uses
        the observable operators A_a = diag(E[:, a]) T.
        """
        positive(max_length, "max_length", integer=True)
        pi, T, E = self.stationary(), self.transition, self.emission
        K = self.n_symbols
        out = np.zeros(max_length)
        for a in range(K):
            not_a = 1.0 - E[:, a]
            # forward vector after "b" (b ≠ a), moved to the next step
            v = (pi * not_a) @ T
            for n in range(max_length):
                v = v * E[:, a]               # emit a at this step
                out[n] += float(v @ T @ not_a)  # then a symbol ≠ a
                v = v @ T
        total = out.sum()
        return out / total if total > 0 else out

    def word_probabilities(self, n: int, t: int = 0) -> np.ndarray:
        """P(o_t..o_{t+n−1} = w) for every word w of length n, flattened in C order
        (shape (K**n,)). Uses the state distribution at step t (stationary starts: any t).
        """
        n = positive(n, "n", integer=True)
        alpha = self.state_distribution(t)[None, :]  # (words, S)
        E, T = self.emission, self.transition
        for i in range(n):
            alpha = (alpha[:, None, :] * E.T[None, :, :]).reshape(-1, self.n_states)
            if i < n - 1:
                alpha = alpha @ T
        return alpha.sum(axis=1)

    def position_pair_joint(self, length: int) -> np.ndarray:
        """P(o_t = a, o_s = b) for every pair of steps 0 ≤ t, s < length, shape
        (length, length, K, K) (the diagonal t = s holds diag(P(o_t = a)))."""
        length = positive(length, "length", integer=True)
        S, K = self.n_states, self.n_symbols
        E, T = self.emission, self.transition
        states = np.empty((length, S))
        states[0] = self.start
        for t in range(1, length):
            states[t] = states[t - 1] @ T
        powers = np.empty((length, S, S))
        powers[0] = np.eye(S)
        for k in range(1, length):
            powers[k] = powers[k - 1] @ T
        out = np.zeros((length, length, K, K))
        for t in range(length):
            pe = states[t][:, None] * E  # (S, K)
            # lags k = s − t ≥ 0
            block = np.einsum("ia,kij,jb->kab", pe, powers[: length - t], E)
            out[t, t:] = block
            out[t:, t] = np.transpose(block, (0, 2, 1))
        for t in range(length):
            out[t, t] = np.diag(states[t] @ E)
        return out

    # ------------------------------------------------------------- sampling and scoring
    def _hmmlearn(self, seed):
        from hmmlearn.hmm import CategoricalHMM

        model = CategoricalHMM(n_components=self.n_states, n_features=self.n_symbols,
                               random_state=seed)
        model.startprob_ = self.start
        model.transmat_ = self.transition
        model.emissionprob_ = self.emission
        return model

    def sample(self, n_sequences: int, length: int, seed: int = 0, *,
               engine: str = "hmmlearn"):
        """Sample ``n_sequences`` sequences of ``length`` steps.

        ``engine="hmmlearn"`` (default) draws with hmmlearn's ``CategoricalHMM.sample``, one
        sequence at a time; ``"numpy"`` draws all sequences at once (vectorised inverse-CDF
        sampling of the same law, ~100x faster; :func:`toolkit.hmmrnn.compare` uses it).
        Returns ``(symbols, states)``, integer arrays of shape (n_sequences, length). The
        same seed and engine give the same sequences.
        """
        n_sequences = positive(n_sequences, "n_sequences", integer=True)
        length = positive(length, "length", integer=True)
        one_of(engine, "engine", ("hmmlearn", "numpy"))
        if engine == "numpy":
            return self._sample_numpy(n_sequences, length, seed)
        rs = np.random.RandomState(int(seed))
        model = self._hmmlearn(rs)
        symbols = np.empty((n_sequences, length), dtype=np.int64)
        states = np.empty((n_sequences, length), dtype=np.int64)
        for i in range(n_sequences):
            x, z = model.sample(length, random_state=rs)
            symbols[i], states[i] = x[:, 0], z
        return symbols, states

    def _sample_numpy(self, n: int, length: int, seed: int):
        rng = np.random.default_rng(int(seed))
        S, K = self.n_states, self.n_symbols
        cum_start = np.cumsum(self.start)
        cum_T = np.cumsum(self.transition, axis=1)
        cum_E = np.cumsum(self.emission, axis=1)
        u_z, u_o = rng.random((n, length)), rng.random((n, length))
        states = np.empty((n, length), dtype=np.int64)
        states[:, 0] = np.minimum((u_z[:, 0, None] > cum_start[None]).sum(1), S - 1)
        for t in range(1, length):
            row = cum_T[states[:, t - 1]]
            states[:, t] = np.minimum((u_z[:, t, None] > row).sum(1), S - 1)
        symbols = np.minimum((u_o[..., None] > cum_E[states]).sum(-1), K - 1)
        return symbols.astype(np.int64), states

    # ------------------------------------------------------------- structure
    def relaxation_time(self) -> float:
        """Slowest relaxation time of the hidden chain, 1 / (1 − |λ₂|) steps, with λ₂ the
        second-largest eigenvalue of the transition matrix in modulus (inf when |λ₂| = 1:
        a chain that is not ergodic)."""
        if self.n_states == 1:
            return 1.0
        lam = np.sort(np.abs(np.linalg.eigvals(self.transition)))[::-1]
        gap = 1.0 - lam[1]
        return float(1.0 / gap) if gap > 1e-12 else float("inf")

    def ergodicity(self) -> dict:
        """Whether the hidden chain is ergodic (irreducible and aperiodic).

        Returns ``irreducible``, ``aperiodic``, ``ergodic`` (bools), ``classes`` (the
        communicating classes, lists of states), ``closed`` (the classes the chain can
        never leave) and ``period`` (of the chain when irreducible, else None).
        """
        S = self.n_states
        A = self.transition > 0
        reach = A | np.eye(S, dtype=bool)
        for _ in range(int(np.ceil(np.log2(max(S, 2)))) + 1):   # transitive closure
            reach = reach | ((reach.astype(int) @ reach.astype(int)) > 0)
        mutual = reach & reach.T
        classes, seen = [], set()
        for i in range(S):
            if i not in seen:
                c = [int(j) for j in np.flatnonzero(mutual[i])]
                seen.update(c)
                classes.append(c)
        closed = [c for c in classes
                  if not A[np.ix_(c, [j for j in range(S) if j not in c])].any()]
        irreducible = len(classes) == 1
        period = None
        if irreducible:   # period: gcd of the lengths of cycles through state 0
            import math

            g, M = 0, np.eye(S, dtype=bool)
            for k in range(1, 3 * S + 2):
                M = (M.astype(int) @ A.astype(int)) > 0
                if M[0, 0]:
                    g = math.gcd(g, k)
            period = g
        return {"irreducible": irreducible, "aperiodic": period == 1,
                "ergodic": irreducible and period == 1, "classes": classes,
                "closed": closed, "period": period}

    @classmethod
    def from_hmmlearn(cls, model, name: str = "hmmlearn") -> HMM:
        """An :class:`HMM` from a fitted ``hmmlearn.hmm.CategoricalHMM`` (its ``startprob_``,
        ``transmat_`` and ``emissionprob_``)."""
        missing = [a for a in ("startprob_", "transmat_", "emissionprob_")
                   if not hasattr(model, a)]
        if missing:
            raise ValueError(f"hmm: the {type(model).__name__} has no {', '.join(missing)}; "
                             "fit it first (or set the attributes)")
        return cls(np.asarray(model.startprob_, float), np.asarray(model.transmat_, float),
                   np.asarray(model.emissionprob_, float), name=name)

    def log_likelihood(self, symbols) -> np.ndarray:
        """Log-likelihood (nats) of each sequence under this HMM, shape (n_sequences,).

        Scaled forward algorithm, vectorised over sequences. Divide by the length for the
        per-step value.
        """
        x = check_symbols(symbols, self.n_symbols)
        E, T = self.emission, self.transition
        alpha = self.start[None, :] * E[:, x[:, 0]].T
        total = np.zeros(len(x))
        for t in range(x.shape[1]):
            if t:
                alpha = (alpha @ T) * E[:, x[:, t]].T
            c = alpha.sum(axis=1)
            with np.errstate(divide="ignore"):
                total += np.log(c)
            alpha = alpha / np.where(c > 0, c, 1.0)[:, None]
        return total

    # ------------------------------------------------------------- views
    def to_frame(self):
        """One row per state: start probability, transition row, emission row."""
        import pandas as pd

        data = {"start": self.start}
        for j in range(self.n_states):
            data[f"T→{j}"] = self.transition[:, j]
        for a in range(self.n_symbols):
            data[f"E[{a}]"] = self.emission[:, a]
        return pd.DataFrame(data, index=pd.Index(range(self.n_states), name="state"))

    def plot(self):
        """Transition graph and emission heatmap."""
        import networkx as nx

        from .. import viz

        g = nx.DiGraph()
        g.add_nodes_from(range(self.n_states))
        for i, j in itertools.product(range(self.n_states), repeat=2):
            if i != j and self.transition[i, j] > 0:
                g.add_edge(i, j, weight=float(self.transition[i, j]))
        graph = viz.graph(g, title=f"{self.name}: transitions (off-diagonal)")
        emis = viz.heatmap(self.emission, xlabel="symbol", ylabel="state",
                           title=f"{self.name}: emission probabilities")
        return (graph + emis).cols(2)


# ----------------------------------------------------------------- the reference HMMs
def linear_chain(n_states: int = 2) -> HMM:
    """Linear chain of Torre et al.: q = 0.05^(1/(S−1)); ends stay with 1 − q, interior
    states stay with 1 − 2q and move ±1 with q; emission row i = [0.99(1−a), 0.01, 0.99a]
    with a = i/(S−1). Uniform start."""
    S = positive(n_states, "n_states", integer=True)
    in_range(S, "n_states", 2, 5)
    q = 0.05 ** (1.0 / (S - 1))
    T = np.zeros((S, S))
    for i in range(S):
        if i > 0:
            T[i, i - 1] = q
        if i < S - 1:
            T[i, i + 1] = q
        T[i, i] = 1.0 - T[i].sum()
    a = np.arange(S) / (S - 1)
    E = np.stack([0.99 * (1 - a), np.full(S, 0.01), 0.99 * a], axis=1)
    return HMM(np.full(S, 1.0 / S), T, E, name=f"linear_chain_{S}")


def fully_connected() -> HMM:
    """Fully connected 3-state HMM: stay 0.95, 0.025 to each other state; emissions 0.98 on
    the diagonal, 0.01 elsewhere. Uniform start."""
    T = np.full((3, 3), 0.025) + np.eye(3) * (0.95 - 0.025)
    E = np.full((3, 3), 0.01) + np.eye(3) * (0.98 - 0.01)
    return HMM(np.full(3, 1 / 3), T, E, name="fully_connected_3")


def cyclic() -> HMM:
    """Cyclic 4-state HMM of Torre et al. (stay 0.95, ±1 neighbours 0.025). Uniform start."""
    T = np.array([[.95, .025, 0, .025], [.025, .95, .025, 0], [0, .025, .95, .025],
                  [.025, 0, .025, .95]])
    E = np.array([[.9, .1, 0], [.1, .9, 0], [0, .1, .9], [0, .9, .1]])
    return HMM(np.full(4, 0.25), T, E, name="cyclic_4")


HMM_NAMES = ("linear_chain_2", "linear_chain_3", "linear_chain_4", "linear_chain_5",
             "fully_connected_3", "cyclic_4")


def make_hmm(name: str) -> HMM:
    """One of the reference HMMs by name (see ``HMM_NAMES``)."""
    one_of(name, "name", HMM_NAMES)
    if name.startswith("linear_chain_"):
        return linear_chain(int(name.rsplit("_", 1)[1]))
    return fully_connected() if name == "fully_connected_3" else cyclic()


def as_hmm(hmm, name: str = "hmm") -> HMM:
    """An :class:`HMM` from what a user has: an :class:`HMM`; a fitted
    ``hmmlearn.hmm.CategoricalHMM``; a dict with ``transition``, ``emission`` (and
    optionally ``start``, ``name``); or a tuple ``(transition, emission)`` or
    ``(start, transition, emission)``. Without a start distribution the chain starts in
    its stationary distribution (the sequences are then stationary)."""
    if isinstance(hmm, HMM):
        return hmm
    if all(hasattr(hmm, a) for a in ("transmat_", "emissionprob_")) or \
            type(hmm).__name__ == "CategoricalHMM":
        return HMM.from_hmmlearn(hmm)
    if type(hmm).__name__.endswith("HMM") and hasattr(hmm, "n_components"):
        raise TypeError(f"{name}: a {type(hmm).__name__} has no discrete emission matrix; "
                        "use hmmlearn.hmm.CategoricalHMM")
    if isinstance(hmm, dict):
        unknown = set(hmm) - {"start", "transition", "emission", "name"}
        if unknown or not {"transition", "emission"} <= set(hmm):
            raise ValueError(f"{name}: a dict needs keys 'transition' and 'emission' (and "
                             f"optionally 'start', 'name'); got {sorted(hmm)}")
        start, T, E = hmm.get("start"), hmm["transition"], hmm["emission"]
        label = hmm.get("name", "custom")
    elif isinstance(hmm, tuple | list) and len(hmm) in (2, 3):
        start, T, E = (None, *hmm) if len(hmm) == 2 else hmm
        label = "custom"
    else:
        raise TypeError(f"{name}: expected a toolkit.hmmrnn.HMM, a fitted hmmlearn "
                        "CategoricalHMM, a dict or a tuple (transition, emission), got "
                        f"{type(hmm).__name__}")
    if start is None:
        T = np.asarray(T, dtype=float)
        S = T.shape[0] if T.ndim == 2 else 0
        start = HMM(np.full(S, 1.0 / max(S, 1)), T, E).stationary() if S else np.zeros(0)
    return HMM(start, T, E, name=label)
