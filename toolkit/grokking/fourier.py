"""Fourier probes for modular arithmetic (Nanda et al. 2023; Gromov 2023).

The Fourier basis F of Z_p (orthonormal rows): 1/√p, then cos(2πkx/p) and sin(2πkx/p),
normalised, for k = 1..⌊p/2⌋ (rows 2k − 1 and 2k). ``p`` must be odd.

- :func:`embedding_spectrum`: norm of F·W_E per frequency and its Gini coefficient.
- :func:`neuron_frequencies`: per-neuron fraction of (centred) activation variance in
  each frequency's block {0, 2k − 1, 2k}² of F N Fᵀ, and each neuron's frequency.
- :func:`key_frequencies_of_logits`: share of the logits' variance along the
  cos/sin(w_k(a + b)) directions per frequency, and the key frequencies.
- :func:`restricted_loss`, :func:`excluded_loss`: cross-entropy keeping only / removing
  the key-frequency directions.
- :func:`fourier_probe`: all of it as one probe for a trainer.

Arrays over the p² pairs (a, b) are in row-major order: row a·p + b.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .._checks import as_array, in_range, one_of, positive
from .._result import Result

__all__ = ["fourier_basis", "all_pairs", "gini", "embedding_spectrum", "EmbeddingSpectrum",
           "neuron_frequencies", "NeuronFrequencies", "single_frequency_fraction",
           "key_frequencies_of_logits", "KeyFrequencies", "sum_directions",
           "restricted_loss", "excluded_loss", "fourier_probe", "model_logits"]


def _mm(a, b) -> np.ndarray:
    """a @ b through torch: numpy's BLAS threads fight other processes on shared CPUs."""
    import torch

    return (torch.as_tensor(a) @ torch.as_tensor(b)).numpy()


def _odd_p(p) -> int:
    p = positive(p, "p", integer=True)
    if p < 3 or p % 2 == 0:
        raise ValueError(f"p: the Fourier analysis needs an odd modulus ≥ 3, got {p}")
    return p


def fourier_basis(p: int) -> np.ndarray:
    """Orthonormal Fourier basis of Z_p, shape (p, p): rows 1/√p, then cos_k, sin_k."""
    return _basis(_odd_p(p)).copy()


@functools.lru_cache(maxsize=8)
def _basis(p: int) -> np.ndarray:
    x = np.arange(p)
    rows = [np.full(p, 1 / np.sqrt(p))]
    for k in range(1, p // 2 + 1):
        w = 2 * np.pi * k * x / p
        rows += [np.cos(w) * np.sqrt(2 / p), np.sin(w) * np.sqrt(2 / p)]
    return np.array(rows)


def all_pairs(p: int):
    """All (a, b) as an int64 tensor (p², 2) in row-major order."""
    import torch

    p = positive(p, "p", integer=True)
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    return torch.stack([a.reshape(-1), b.reshape(-1)], dim=1)


def gini(x) -> float:
    """Gini coefficient of non-negative values: 0 when all equal; k equal non-zero values
    among n give 1 − k/n."""
    x = as_array(x, "x", ndim=1, min_length=1)
    if np.any(x < 0):
        raise ValueError("x: the Gini coefficient needs non-negative values")
    total = x.sum()
    if total == 0:
        return 0.0
    xs = np.sort(x)
    n = len(xs)
    # Σ_ij |x_i − x_j| / (2 n Σx), via the sorted form
    return float(np.sum((2 * np.arange(1, n + 1) - n - 1) * xs) / (n * total))


# ------------------------------------------------------------------ embeddings
@dataclass(frozen=True, repr=False)
class EmbeddingSpectrum(Result):
    """Norm of the embedding along each frequency k = 1..⌊p/2⌋ (``norms``), the
    constant component's norm, and the Gini coefficient of ``norms``."""

    p: int
    norms: np.ndarray
    constant: float
    gini: float

    @property
    def frequencies(self) -> np.ndarray:
        return np.arange(1, len(self.norms) + 1)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"frequency": self.frequencies, "norm": self.norms})

    def plot(self, title: str = ""):
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        return hv.Bars(self.to_frame(), "frequency", "norm").opts(
            color=PALETTE[0], xrotation=90 if len(self.norms) > 30 else 0,
            title=title or f"embedding spectrum (Gini {self.gini:.2f})", tools=["hover"])


def _embedding_matrix(model_or_matrix, p):
    if hasattr(model_or_matrix, "embeddings"):
        mats = [m.detach().cpu().double().numpy() for m in model_or_matrix.embeddings().values()]
        return np.concatenate(mats, axis=1)
    return as_array(model_or_matrix, "embedding", ndim=2, shape=(p, None))


def embedding_spectrum(model_or_matrix, p: int | None = None) -> EmbeddingSpectrum:
    """Per-frequency norm of F·W_E and its Gini coefficient.

    Takes a (p, d) embedding matrix (one row per residue) or a model with
    ``embeddings()`` (its matrices are placed side by side, e.g. [E_a | E_b]).
    """
    if p is None:
        p = getattr(model_or_matrix, "p", None)
        if p is None:
            raise ValueError("p: give the modulus when passing a matrix")
    p = _odd_p(p)
    w = _embedding_matrix(model_or_matrix, p)
    fw = _mm(_basis(p), w)
    norms = np.sqrt((fw[1::2] ** 2).sum(1) + (fw[2::2] ** 2).sum(1))
    return EmbeddingSpectrum(p, norms, float(np.linalg.norm(fw[0])), gini(norms))


# ------------------------------------------------------------------ neurons
def _block_fractions(grid, p):
    """grid (d, p, p) → fraction of Σ(F G Fᵀ)² in each block {0, 2k−1, 2k}², (d, ⌊p/2⌋)."""
    import torch  # batched matmuls: numpy's stacked matmul is far slower

    g = torch.as_tensor(grid)
    if not g.dtype.is_floating_point:
        g = g.double()
    F = torch.from_numpy(_basis(p)).to(g.dtype)
    A2 = ((F @ g @ F.T) ** 2).double()
    # S[d, f, g]: energy with row frequency f and column frequency g (0 = constant);
    # basis rows 2k − 1 and 2k share frequency k
    d, K = A2.shape[0], p // 2
    R = torch.cat([A2[:, :1], A2[:, 1:].reshape(d, K, 2, p).sum(2)], dim=1)
    S = torch.cat([R[:, :, :1], R[:, :, 1:].reshape(d, K + 1, K, 2).sum(3)], dim=2).numpy()
    total = S.sum(axis=(1, 2))
    k = np.arange(1, K + 1)
    fr = S[:, k, k] + S[:, 0, k] + S[:, k, 0] + S[:, :1, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total[:, None] > 0, fr / total[:, None], 0.0)


def _block_fractions_basis(grid, p):
    """The same through the explicit basis, F G Fᵀ (kept as the test's cross-check)."""
    F = _basis(p)
    A2 = np.einsum("ia,dab,jb->dij", F, grid, F, optimize=True) ** 2
    total = A2.sum(axis=(1, 2))
    fr = np.empty((grid.shape[0], p // 2))
    for k in range(1, p // 2 + 1):
        idx = [0, 2 * k - 1, 2 * k]
        fr[:, k - 1] = A2[:, idx][:, :, idx].sum(axis=(1, 2))
    return fr / total[:, None]


@dataclass(frozen=True, repr=False)
class NeuronFrequencies(Result):
    """Per-neuron frequency content of hidden activations over all p² pairs.

    ``fractions`` (d, ⌊p/2⌋): share of the neuron's centred variance in frequency k's
    block; ``frequency`` (d,): argmax k; ``best`` (d,): that share; ``threshold``: the
    share above which a neuron counts as single-frequency; ``key``: distinct frequencies
    of those neurons; ``ceiling``: the share a perfect single-frequency neuron reaches
    with this activation (0.800 for x², 0.962 for ReLU).
    """

    p: int
    fractions: np.ndarray
    frequency: np.ndarray
    best: np.ndarray
    threshold: float
    ceiling: float
    key: np.ndarray

    @property
    def is_key(self) -> np.ndarray:
        return self.best >= self.threshold

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"neuron": np.arange(len(self.best)), "frequency": self.frequency,
                             "fraction": self.best, "above_threshold": self.is_key})

    def plot(self, title: str = ""):
        """Neurons sorted by frequency: the frequency-fraction heatmap and a histogram of
        neurons per frequency among those above the threshold."""
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        order = np.lexsort((-self.best, self.frequency))
        fr = self.fractions[order]
        img = hv.Image(fr, bounds=(0.5, 0, fr.shape[1] + 0.5, fr.shape[0]),
                       kdims=["frequency", "neuron (sorted)"], vdims=["fraction"]).opts(
            cmap="viridis", clim=(0, max(self.ceiling, 1e-9)),
            title=title or f"neuron frequency fractions (median best {np.median(self.best):.2f})")
        counts = np.bincount(self.frequency[self.is_key], minlength=fr.shape[1] + 1)[1:]
        bars = hv.Bars((np.arange(1, fr.shape[1] + 1), counts), "frequency", "neurons").opts(
            color=PALETTE[1], title=f"neurons above {self.threshold:.2f}: key "
                                    f"{list(map(int, self.key))[:12]}",
            xrotation=90 if fr.shape[1] > 30 else 0)
        return img + bars


_CEILINGS: dict = {}


def single_frequency_fraction(activation: str | None, p: int, k: int = 1) -> float:
    """The block share of an ideal single-frequency neuron σ(cos w_k a + cos w_k b).

    0.800 for x² (the squares put a fifth of the variance at 2k), about 0.962 for ReLU, 1
    for no activation. Key-frequency thresholds are taken relative to it.
    """
    one_of(activation, "activation", ("square", "relu", None))
    p = _odd_p(p)
    key = (activation, p, k)
    if key not in _CEILINGS:
        x = np.arange(p)
        c = np.cos(2 * np.pi * k * x / p)
        z = c[:, None] + c[None, :]
        g = z * z if activation == "square" else np.maximum(z, 0) if activation == "relu" else z
        g = g - g.mean()
        _CEILINGS[key] = float(_block_fractions(g[None], p)[0, k - 1])
    return _CEILINGS[key]


def neuron_frequencies(neurons, p: int | None = None, *, activation: str | None = "auto",
                       relative_threshold: float = 0.88) -> NeuronFrequencies:
    """Which frequency each hidden neuron reads, from activations over all pairs.

    ``neurons``: (p², d) activations in row-major order over (a, b), or a model with
    ``neurons(x)`` (evaluated on all pairs). ``activation`` (``"square"``, ``"relu"`` or
    None; ``"auto"`` reads ``model.activation``) sets the ceiling a perfect
    single-frequency neuron reaches; a neuron is single-frequency when its best share is
    at least ``relative_threshold`` × ceiling (default 0.88: Nanda's 0.85 for ReLU).
    """
    import torch

    model = neurons if hasattr(neurons, "neurons") else None
    if model is not None:
        p = model.p if p is None else p
        if activation == "auto":
            activation = getattr(model, "activation", None)
    if p is None:
        raise ValueError("p: give the modulus when passing an activation array")
    p = _odd_p(p)
    if activation == "auto":
        activation = None
    in_range(relative_threshold, "relative_threshold", 0, 1, inclusive=(False, True))
    if model is not None:
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                n = model.neurons(all_pairs(p)).detach().cpu()
        finally:
            model.train(was)
        if not n.dtype.is_floating_point:
            n = n.double()
    else:
        n = torch.from_numpy(as_array(neurons, "neurons", ndim=2))
    if n.ndim != 2 or n.shape[0] != p * p:
        raise ValueError(f"neurons: expected (p², d) = ({p * p}, d) activations over all "
                         f"pairs, got shape {tuple(n.shape)}")
    # the grid transform runs in the activations' own precision
    grid = (n - n.mean(dim=0)).T.reshape(-1, p, p)
    fr = _block_fractions(grid, p)
    freq = fr.argmax(axis=1) + 1
    best = fr.max(axis=1)
    ceiling = single_frequency_fraction(activation, p)
    threshold = relative_threshold * ceiling
    key = np.unique(freq[best >= threshold])
    return NeuronFrequencies(p, fr, freq, best, float(threshold), float(ceiling), key)


# ------------------------------------------------------------------ logits
def sum_directions(p: int, frequencies) -> np.ndarray:
    """Unit vectors over the p² pairs along cos(w_k(a+b)) and sin(w_k(a+b)), (p², 2|K|):
    (c⊗c − s⊗s)/√2 and (s⊗c + c⊗s)/√2 for each k."""
    p = _odd_p(p)
    return _sum_directions(p, tuple(_check_frequencies(frequencies, p))).copy()


@functools.lru_cache(maxsize=16)
def _sum_directions(p: int, ks: tuple) -> np.ndarray:
    F = _basis(p)
    cols = []
    for k in ks:
        c, s = F[2 * k - 1], F[2 * k]
        cols.append(((np.outer(c, c) - np.outer(s, s)) / np.sqrt(2)).ravel())
        cols.append(((np.outer(s, c) + np.outer(c, s)) / np.sqrt(2)).ravel())
    return np.array(cols).T if cols else np.zeros((p * p, 0))


def _check_frequencies(frequencies, p):
    ks = [int(k) for k in np.atleast_1d(np.asarray(frequencies, dtype=float))]
    bad = [k for k in ks if not 1 <= k <= p // 2]
    if bad:
        raise ValueError(f"frequencies: {bad} not in 1..{p // 2}")
    return sorted(set(ks))


def _check_logits(logits, p):
    L = as_array(logits, "logits", ndim=2)
    if L.shape[0] != p * p:
        raise ValueError(f"logits: expected p² = {p * p} rows (all pairs (a, b) in row-major "
                         f"order), got {L.shape[0]}")
    return L


@dataclass(frozen=True, repr=False)
class KeyFrequencies(Result):
    """Share of the logits' centred variance along cos/sin(w_k(a+b)) for each frequency
    (``fractions``, k = 1..⌊p/2⌋) and the ``key`` frequencies above ``threshold``.
    Iterating gives the key frequencies."""

    p: int
    fractions: np.ndarray
    threshold: float
    key: np.ndarray

    def __iter__(self):
        return iter(int(k) for k in self.key)

    def __len__(self):
        return len(self.key)

    def to_frame(self):
        import pandas as pd

        k = np.arange(1, len(self.fractions) + 1)
        return pd.DataFrame({"frequency": k, "fraction": self.fractions,
                             "key": np.isin(k, self.key)})

    def plot(self, title: str = ""):
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        bars = hv.Bars(self.to_frame(), "frequency", ["fraction", "key"]).opts(
            color=PALETTE[0], xrotation=90 if len(self.fractions) > 30 else 0,
            title=title or f"logit variance per frequency; key {list(self)}")
        return bars * hv.HLine(self.threshold).opts(color=PALETTE[1], line_dash="dashed")


def key_frequencies_of_logits(logits, p: int, *, threshold: float | None = None
                              ) -> KeyFrequencies:
    """Key frequencies of logits (p², p) over all pairs (a, b) in row-major order.

    For each frequency k, the share of the (batch-centred) logits' variance along the
    directions cos(w_k(a+b)) and sin(w_k(a+b)). Key frequencies have a share of at least
    ``threshold`` (default: half the uniform share, 1/(2⌊p/2⌋)).
    """
    p = _odd_p(p)
    L = _check_logits(logits, p)
    L = L - L.mean(axis=0)
    K = p // 2
    U = _sum_directions(p, tuple(range(1, K + 1)))
    proj = _mm(U.T, L) ** 2                        # (2K, p)
    total = (L**2).sum()
    fr = (proj[0::2].sum(1) + proj[1::2].sum(1)) / total if total > 0 else np.zeros(K)
    if threshold is None:
        threshold = 0.5 / K
    in_range(threshold, "threshold", 0, 1, inclusive=(False, True))
    key = np.flatnonzero(fr >= threshold) + 1
    return KeyFrequencies(p, fr, float(threshold), key)


def _cross_entropy(L, labels):
    z = L - L.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(labels)), labels]))


def _labels_rows(labels, rows, n, name="labels"):
    y = as_array(labels, name, ndim=1, dtype=None)
    if len(y) != n:
        raise ValueError(f"{name}: expected {n} labels (one per pair), got {len(y)}")
    if rows is None:
        rows = np.arange(n)
    else:
        rows = np.asarray(rows)
        rows = np.flatnonzero(rows) if rows.dtype == bool else rows.astype(int)
    return y.astype(int), rows


def restricted_loss(logits, labels, p: int, frequencies, *, rows=None) -> float:
    """Cross-entropy after keeping only the cos/sin(w_k(a+b)) components for k in
    ``frequencies`` (plus the batch mean of what was removed), over ``rows`` (default all
    pairs; boolean mask or indices). ``labels``: (p²,) target per pair."""
    p = _odd_p(p)
    L = _check_logits(logits, p)
    y, rows = _labels_rows(labels, rows, p * p)
    U = _sum_directions(p, tuple(_check_frequencies(frequencies, p)))
    kept = _mm(U, _mm(U.T, L))
    restricted = kept + (L - kept).mean(axis=0)
    return _cross_entropy(restricted[rows], y[rows])


def excluded_loss(logits, labels, p: int, frequencies, *, rows=None) -> float:
    """Cross-entropy after removing the cos/sin(w_k(a+b)) components for k in
    ``frequencies``, over ``rows`` (Nanda et al. use the training pairs)."""
    p = _odd_p(p)
    L = _check_logits(logits, p)
    y, rows = _labels_rows(labels, rows, p * p)
    U = _sum_directions(p, tuple(_check_frequencies(frequencies, p)))
    return _cross_entropy((L - _mm(U, _mm(U.T, L)))[rows], y[rows])


def model_logits(model, p: int | None = None) -> np.ndarray:
    """The model's logits on all p² pairs in row-major order, float64 numpy."""
    import torch

    p = model.p if p is None else p
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(all_pairs(p)).detach().cpu().double().numpy()
    finally:
        model.train(was)


# ------------------------------------------------------------------ probe
def fourier_probe(task, *, frequencies=None, activation: str | None = "auto",
                  relative_threshold: float = 0.88, every: int = 1):
    """One probe with the Fourier measures of a modular-arithmetic model.

    ``task``: the :class:`~toolkit.grokking.tasks.ModularTask` (labels and train pairs);
    the model must have ``p``, ``embeddings()`` and ``neurons(x)``; ``data`` is ignored.
    Logs under ``"fourier/"``: ``embedding_gini``, ``n_key_frequencies`` (neurons),
    ``key_neuron_share`` (neurons above threshold), ``median_neuron_fraction``,
    ``logit_key_share`` (logit variance along the key frequencies' cos/sin(w_k(a+b))
    directions) and, for addition, ``restricted_loss`` (all pairs) and ``excluded_loss``
    (train pairs). ``frequencies`` fixes the key set (Nanda et al. use the final model's);
    by default it is re-detected at each call as the frequencies of the single-frequency
    neurons (none early in training: restricted loss near ln p, excluded = train loss).
    """
    from ..probes.core import Probe

    p = _odd_p(task.p)
    full = task.inputs.shape[0] == p * p
    labels = np.full(p * p, -1)
    labels[task.inputs[:, 0] * p + task.inputs[:, 1]] = task.targets
    train_rows = (task.inputs[task.train, 0] * p + task.inputs[task.train, 1])
    fixed = None if frequencies is None else _check_frequencies(frequencies, p)

    def fn(model, data):
        out = {"embedding_gini": embedding_spectrum(model, p).gini}
        nf = neuron_frequencies(model, p, activation=activation,
                                relative_threshold=relative_threshold)
        out["n_key_frequencies"] = len(nf.key)
        out["key_neuron_share"] = float(nf.is_key.mean())
        out["median_neuron_fraction"] = float(np.median(nf.best))
        L = model_logits(model, p)
        kf = key_frequencies_of_logits(L, p)
        keys = fixed if fixed is not None else [int(k) for k in nf.key]
        out["logit_key_share"] = float(kf.fractions[np.asarray(keys, dtype=int) - 1].sum()) \
            if len(keys) else 0.0
        if task.operation == "add" and full:
            out["restricted_loss"] = restricted_loss(L, labels, p, keys)
            out["excluded_loss"] = excluded_loss(L, labels, p, keys, rows=train_rows)
        return out

    return Probe("fourier", fn, every)
