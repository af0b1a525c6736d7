"""Does an RNN emulate an HMM? The whole sequence distribution, against fresh HMM samples.

:func:`compare` draws sequences from the RNN and several independent sets from the HMM:
one to compare the RNN with, one more to measure, in the same call, what a *perfect*
emulator (the HMM itself) would score against the first (the sampling floor), one as a
held-out reference for the Sinkhorn divergence. It measures

* exact-value statistics: emission marginals, the output bigram matrix, the switch rate
  (against their exact expectations for sequences of this length from the HMM's start
  distribution);
* n-gram distributions for n = 1..4 (all positions pooled): total variation to the HMM
  sample, against the HMM-vs-HMM floor, plus a permutation p-value;
* output dwell times (run lengths): a two-sample permutation test over sequences;
* the per-step log-likelihood under the true HMM (forward algorithm), against HMM
  samples and against time-shuffled HMM samples (the memoryless baseline);
* a held-out Sinkhorn divergence between the flattened one-hot sequence clouds.

Each check gets a verdict with its tolerance (``Emulation.verdicts``; defaults in
:data:`TOLERANCES`, documented there). None of these is what the trainer optimised,
except in part the bigrams (words of 5 contain them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import positive
from .._result import Result
from .hmm import HMM, check_symbols
from .model import NoiseRNN, check_rnn, sample

__all__ = ["compare", "Emulation", "Check", "Verdicts", "TOLERANCES", "emission_marginals",
           "bigram_matrix", "switch_rate", "dwell_times", "dwell_histogram",
           "shuffle_symbols", "ngram_counts", "total_variation", "permutation_tv_test"]


# ----------------------------------------------------------------- empirical statistics
def emission_marginals(symbols, n_symbols: int) -> np.ndarray:
    """Fraction of each symbol over all sequences and steps, shape (K,)."""
    x = check_symbols(symbols, n_symbols)
    return np.bincount(x.ravel(), minlength=n_symbols) / x.size


def bigram_matrix(symbols, n_symbols: int) -> np.ndarray:
    """Empirical P(o_{t+1} = b | o_t = a), pooled over sequences (rows of unseen symbols
    are zero)."""
    x = check_symbols(symbols, n_symbols)
    if x.shape[1] < 2:
        raise ValueError("symbols: need sequences of at least 2 steps for bigrams")
    counts = np.zeros((n_symbols, n_symbols))
    np.add.at(counts, (x[:, :-1].ravel(), x[:, 1:].ravel()), 1.0)
    rows = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)


def switch_rate(symbols) -> float:
    """Fraction of steps with o_{t+1} ≠ o_t."""
    x = np.asarray(symbols)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"symbols: need (n, L ≥ 2) sequences, got shape {x.shape}")
    return float((x[:, 1:] != x[:, :-1]).mean())


def dwell_times(symbols) -> np.ndarray:
    """Lengths of the complete runs of one symbol (runs cut by the ends of a sequence are
    left out, so HMM and RNN samples of the same length are comparable)."""
    x = np.asarray(symbols)
    if x.ndim == 1:
        x = x[None]
    out = []
    for row in x:
        change = np.flatnonzero(row[1:] != row[:-1]) + 1
        out.append(np.diff(change))
    return np.concatenate(out) if out else np.zeros(0, dtype=int)


def dwell_histogram(symbols, max_length: int) -> np.ndarray:
    """Distribution of complete run lengths 1..max_length (longer runs pooled in the last
    bin), normalised to sum 1."""
    d = np.minimum(dwell_times(symbols), max_length)
    h = np.bincount(d, minlength=max_length + 1)[1:].astype(float)
    return h / h.sum() if h.sum() else h


def shuffle_symbols(symbols, seed: int = 0) -> np.ndarray:
    """All symbols permuted across sequences and steps: same marginals, no temporal (or
    per-sequence) structure: the memoryless baseline."""
    x = np.asarray(symbols)
    return np.random.default_rng(seed).permutation(x.ravel()).reshape(x.shape)


def ngram_counts(symbols, n_symbols: int, n: int) -> np.ndarray:
    """Counts of every word of length ``n`` in each sequence (all positions), shape
    (n_sequences, K**n); word (w_0..w_{n−1}) has index Σ_i w_i K^(n−1−i)."""
    x = check_symbols(symbols, n_symbols)
    n = positive(n, "n", integer=True)
    N, L = x.shape
    if n > L:
        raise ValueError(f"n: words of {n} do not fit in sequences of {L} steps")
    code = np.zeros((N, L - n + 1), dtype=np.int64)
    for i in range(n):
        code = code * n_symbols + x[:, i: L - n + 1 + i]
    W = n_symbols ** n
    flat = (np.arange(N)[:, None] * W + code).ravel()
    return np.bincount(flat, minlength=N * W).reshape(N, W).astype(float)


def total_variation(p, q) -> float:
    """½ Σ |p − q| between two count or probability vectors (each normalised first)."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    return 0.5 * float(np.abs(p / p.sum() - q / q.sum()).sum())


def _dwell_counts(symbols, max_length: int) -> np.ndarray:
    """Per-sequence counts of complete runs of length 1..max_length (longer: last bin)."""
    x = np.asarray(symbols)
    out = np.zeros((len(x), max_length))
    for i, row in enumerate(x):
        change = np.flatnonzero(row[1:] != row[:-1]) + 1
        d = np.minimum(np.diff(change), max_length)
        if len(d):
            out[i] = np.bincount(d, minlength=max_length + 1)[1:]
    return out


def permutation_tv_test(counts_a, counts_b, n_permutations: int = 200, seed: int = 0):
    """Two-sample permutation test of "same distribution" on per-sequence counts
    (n_a, B) and (n_b, B): the statistic is the total variation between the pooled,
    normalised counts; the sequences are exchanged between the two sets at random
    (sequences are independent under the null, so the test is exact). Returns
    ``(tv, p_value)`` with p = (1 + #{TV_perm ≥ TV}) / (1 + n_permutations)."""
    A, B = np.asarray(counts_a, float), np.asarray(counts_b, float)
    both = np.concatenate([A, B])
    tv = total_variation(A.sum(0), B.sum(0)) if A.sum() and B.sum() else 0.0
    rng = np.random.default_rng(seed)
    n_a, total = len(A), both.sum(0)
    masks = np.zeros((n_permutations, len(both)))
    for k in range(n_permutations):
        masks[k, rng.permutation(len(both))[:n_a]] = 1.0
    first = masks @ both
    second = total[None] - first
    s1 = first.sum(1, keepdims=True)
    s2 = second.sum(1, keepdims=True)
    ok = (s1[:, 0] > 0) & (s2[:, 0] > 0)
    perm = 0.5 * np.abs(first[ok] / s1[ok] - second[ok] / s2[ok]).sum(1)
    p = (1 + int((perm >= tv - 1e-12).sum())) / (1 + len(perm))
    return float(tv), float(p)


def _expected(hmm: HMM, length: int):
    """Exact pooled expectations for sequences of ``length`` steps from hmm.start:
    marginals (K,), bigram P(b | a) (K, K) and switch rate."""
    E, T = hmm.emission, hmm.transition
    states = np.empty((length, hmm.n_states))
    states[0] = hmm.start
    for t in range(1, length):
        states[t] = states[t - 1] @ T
    marg = (states @ E).mean(0)
    joint = sum((states[t][:, None] * E).T @ T @ E for t in range(length - 1)) / (length - 1)
    rows = joint.sum(1, keepdims=True)
    bigram = np.divide(joint, rows, out=np.zeros_like(joint), where=rows > 0)
    return marg, bigram, float(1.0 - np.trace(joint))


# ----------------------------------------------------------------- verdicts
#: Default tolerance of each check of :func:`compare` (override with ``tolerances=``):
#:
#: ``switch_rate`` relative error of the switch rate (0.15); ``bigram`` largest absolute
#: error of P(b | a) (0.03); ``ngram_floor_ratio``: the n-gram total variation to the HMM
#: sample may be at most this many times the HMM-vs-HMM floor (3); ``dwell_alpha``: the
#: dwell-time permutation test fails below this p-value (0.01); ``log_likelihood``:
#: largest gap of the per-step log-likelihood to HMM samples, nats (0.05);
#: ``shuffled_fraction``: the RNN's log-likelihood must lie more than this fraction of
#: the way from the shuffled value to the HMM's (0.5); ``sinkhorn_fraction``: the
#: held-out Sinkhorn divergence may exceed the HMM's by at most this fraction of the gap
#: between shuffled and HMM sequences, or by 3× the spread between two HMM samples,
#: whichever is larger (0.1).
TOLERANCES = {"switch_rate": 0.15, "bigram": 0.03, "ngram_floor_ratio": 3.0,
              "dwell_alpha": 0.01, "log_likelihood": 0.05, "shuffled_fraction": 0.5,
              "sinkhorn_fraction": 0.1}


@dataclass(frozen=True)
class Check:
    """One verdict: ``value`` compared with ``tolerance`` by ``rule`` ("≤" or "≥")."""

    name: str
    value: float
    tolerance: float
    rule: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class Verdicts(Result):
    """The checks of one :func:`compare` call; ``passed`` is True when all pass."""

    checks: tuple

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list:
        return [c.name for c in self.checks if not c.passed]

    def __getitem__(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"name: no check {name!r}; checks are {[c.name for c in self.checks]}")

    def to_frame(self):
        """One row per check: value, rule, tolerance, verdict and what was measured."""
        import pandas as pd

        return pd.DataFrame([{"check": c.name, "value": c.value, "rule": c.rule,
                              "tolerance": c.tolerance,
                              "verdict": "pass" if c.passed else "FAIL",
                              "detail": c.detail} for c in self.checks]).set_index("check")

    def plot(self):
        """Each check's value as a fraction of its tolerance (≤ 1 passes for "≤" rules;
        the p-value check is drawn as α / p)."""
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        rows = []
        for c in self.checks:
            if c.rule == "≤":
                r = c.value / c.tolerance if c.tolerance > 0 else float("inf")
            else:
                r = c.tolerance / c.value if c.value > 0 else float("inf")
            rows.append((c.name, min(float(r), 10.0), "pass" if c.passed else "fail"))
        bars = hv.Bars(rows, "check", ["value / tolerance", "verdict"]).opts(
            color="verdict", cmap={"pass": PALETTE[2], "fail": PALETTE[3]}, xrotation=45,
            title="verdicts (≤ 1 passes; capped at 10)", ylim=(0, None))
        return bars * hv.HLine(1.0).opts(color="black", line_dash="dashed")


# ----------------------------------------------------------------- the report
# ----------------------------------------------------------------- the report
@dataclass(frozen=True)
class Emulation(Result):
    """How well generated sequences match an HMM. ``*_rnn`` from the RNN's sequences,
    ``*_hmm`` from HMM samples (the baseline a perfect emulator reaches), ``*_analytic``
    exact values. Log-likelihoods are per step (nats) under the true HMM.

    Whole-sequence checks: ``sequence_ll_ks``/``_p`` the two-sample Kolmogorov–Smirnov
    statistic and p-value between the per-sequence log-likelihoods of RNN and HMM
    sequences; ``switch_count_ks``/``_p`` the same for the number of switches per
    sequence (a perfect emulator gives uniformly distributed p-values)."""

    hmm_name: str
    n_sequences: int
    length: int
    marginals_rnn: np.ndarray
    marginals_hmm: np.ndarray
    marginals_analytic: np.ndarray
    bigram_rnn: np.ndarray
    bigram_hmm: np.ndarray
    bigram_analytic: np.ndarray
    switch_rate_rnn: float
    switch_rate_hmm: float
    switch_rate_analytic: float
    dwell_rnn: np.ndarray
    dwell_hmm: np.ndarray
    log_likelihood_rnn: float
    log_likelihood_hmm: float
    log_likelihood_shuffled: float
    sinkhorn_rnn: float
    sinkhorn_hmm: float
    sequence_ll_ks: float
    sequence_ll_p: float
    switch_count_ks: float
    switch_count_p: float
    # whole-distribution checks (issue 18); floors from a second, independent HMM sample
    ngram_n: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    ngram_tv_rnn: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ngram_tv_floor: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ngram_p: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dwell_tv_rnn: float = float("nan")
    dwell_tv_floor: float = float("nan")
    dwell_p: float = float("nan")
    log_likelihood_se: float = float("nan")
    sinkhorn_shuffled: float = float("nan")
    sinkhorn_floor: float = float("nan")
    bigram_floor: float = float("nan")
    tolerances: dict = field(default_factory=lambda: dict(TOLERANCES))

    # ------------------------------------------------------------- verdicts
    @property
    def verdicts(self) -> Verdicts:
        """A verdict per check, with its tolerance (see :data:`TOLERANCES`)."""
        tol = {**TOLERANCES, **self.tolerances}
        checks = []
        e = self.errors()
        checks.append(Check(
            "switch rate", e["switch_rate_rel"], tol["switch_rate"], "≤",
            bool(e["switch_rate_rel"] <= tol["switch_rate"]),
            f"relative error: RNN {self.switch_rate_rnn:.4f}, exact "
            f"{self.switch_rate_analytic:.4f} (HMM sample {self.switch_rate_hmm:.4f})"))
        checks.append(Check(
            "bigram", e["bigram_max_abs"], tol["bigram"], "≤",
            bool(e["bigram_max_abs"] <= tol["bigram"]),
            f"max |P(b|a) − exact|; an HMM sample of this size is off by "
            f"{self.bigram_floor:.4f}"))
        for n, tv, fl, p in zip(self.ngram_n, self.ngram_tv_rnn, self.ngram_tv_floor,
                                self.ngram_p):
            ratio = tv / fl if fl > 0 else float("inf")
            checks.append(Check(
                f"{n}-gram TV / floor", float(ratio), tol["ngram_floor_ratio"], "≤",
                bool(ratio <= tol["ngram_floor_ratio"]),
                f"TV {tv:.4f} vs HMM-vs-HMM floor {fl:.4f}; permutation p = {p:.3g}"))
        if np.isfinite(self.dwell_p):
            checks.append(Check(
                "dwell times (p-value)", self.dwell_p, tol["dwell_alpha"], "≥",
                bool(self.dwell_p >= tol["dwell_alpha"]),
                f"two-sample permutation test; TV {self.dwell_tv_rnn:.4f}, HMM-vs-HMM "
                f"{self.dwell_tv_floor:.4f}"))
        gap = e["log_likelihood_gap"]
        checks.append(Check(
            "log-likelihood gap", gap, tol["log_likelihood"], "≤",
            bool(gap <= tol["log_likelihood"]),
            f"nats/step: RNN {self.log_likelihood_rnn:.4f}, HMM {self.log_likelihood_hmm:.4f}"
            f" (± {self.log_likelihood_se:.4f})"))
        span = self.log_likelihood_hmm - self.log_likelihood_shuffled
        frac = (self.log_likelihood_rnn - self.log_likelihood_shuffled) / span if span > 0 \
            else float("nan")
        checks.append(Check(
            "log-likelihood above shuffled", float(frac), tol["shuffled_fraction"], "≥",
            bool(frac > tol["shuffled_fraction"]),
            f"fraction of the way from shuffled ({self.log_likelihood_shuffled:.4f}) to HMM"))
        if np.isfinite(self.sinkhorn_rnn):
            excess = self.sinkhorn_rnn - self.sinkhorn_hmm
            allowed = max(tol["sinkhorn_fraction"] * (self.sinkhorn_shuffled - self.sinkhorn_hmm),
                          3.0 * abs(self.sinkhorn_floor - self.sinkhorn_hmm))
            checks.append(Check(
                "Sinkhorn excess", float(excess), float(allowed), "≤", bool(excess <= allowed),
                f"held-out divergence: RNN {self.sinkhorn_rnn:.3f}, HMM "
                f"{self.sinkhorn_hmm:.3f} / {self.sinkhorn_floor:.3f} (two samples), "
                f"shuffled {self.sinkhorn_shuffled:.3f}"))
        return Verdicts(tuple(checks))

    @property
    def passed(self) -> bool:
        """True when every check of :attr:`verdicts` passes."""
        return self.verdicts.passed

    # ------------------------------------------------------------- summaries
    def errors(self) -> dict:
        """Deviations from the analytic values and from the HMM-sample baseline."""
        return {
            "switch_rate_rel": abs(self.switch_rate_rnn / self.switch_rate_analytic - 1)
            if self.switch_rate_analytic > 0 else float("nan"),
            "bigram_max_abs": float(np.abs(self.bigram_rnn - self.bigram_analytic).max()),
            "marginals_max_abs": float(np.abs(self.marginals_rnn - self.marginals_analytic).max()),
            "log_likelihood_gap": abs(self.log_likelihood_rnn - self.log_likelihood_hmm),
            "dwell_tv": 0.5 * float(np.abs(self.dwell_rnn - self.dwell_hmm).sum()),
            "sinkhorn_excess": self.sinkhorn_rnn - self.sinkhorn_hmm,
            "sequence_ll_ks": self.sequence_ll_ks,
            "switch_count_ks": self.switch_count_ks,
        }

    def passes(self, *, switch_rate: float = 0.10, bigram: float = 0.02,
               marginals: float = 0.02, log_likelihood: float = 0.05) -> dict:
        """Which of the issue's bars hold (defaults: the 2-state chain's bars; the
        log-likelihood bar also asks for the RNN to be far from the shuffled value)."""
        e = self.errors()
        # and far from the memoryless value: more than half-way from shuffled to HMM
        ll_far = (self.log_likelihood_rnn - self.log_likelihood_shuffled) > \
            0.5 * (self.log_likelihood_hmm - self.log_likelihood_shuffled)
        return {"switch_rate": e["switch_rate_rel"] <= switch_rate,
                "bigram": e["bigram_max_abs"] <= bigram,
                "marginals": e["marginals_max_abs"] <= marginals,
                "log_likelihood": e["log_likelihood_gap"] <= log_likelihood and ll_far}

    def to_frame(self):
        """One row per statistic: RNN, HMM samples, analytic."""
        import pandas as pd

        rows = [("switch rate", self.switch_rate_rnn, self.switch_rate_hmm,
                 self.switch_rate_analytic)]
        for a, (r, h, t) in enumerate(zip(self.marginals_rnn, self.marginals_hmm,
                                          self.marginals_analytic)):
            rows.append((f"P(o = {a})", r, h, t))
        K = len(self.marginals_rnn)
        for a in range(K):
            for b in range(K):
                rows.append((f"P({b} | {a})", self.bigram_rnn[a, b], self.bigram_hmm[a, b],
                             self.bigram_analytic[a, b]))
        rows += [("log-likelihood / step", self.log_likelihood_rnn, self.log_likelihood_hmm,
                  np.nan),
                 ("log-likelihood / step, shuffled", np.nan, self.log_likelihood_shuffled,
                  np.nan),
                 ("mean dwell time", _mean_dwell(self.dwell_rnn), _mean_dwell(self.dwell_hmm),
                  np.nan),
                 ("Sinkhorn divergence to held-out HMM set", self.sinkhorn_rnn,
                  self.sinkhorn_hmm, np.nan),
                 ("KS p-value, per-sequence log-likelihood", self.sequence_ll_p, np.nan,
                  np.nan),
                 ("KS p-value, switches per sequence", self.switch_count_p, np.nan, np.nan)]
        return pd.DataFrame(rows, columns=["statistic", "rnn", "hmm samples", "analytic"]
                            ).set_index("statistic")

    def plot(self):
        """Verdicts, n-gram TV against the floor, marginals, bigram matrices, dwell-time
        distributions and log-likelihoods."""
        import holoviews as hv

        from .. import viz
        from ..viz import PALETTE

        viz._ensure_theme()
        K = len(self.marginals_rnn)
        bars = hv.Bars([(str(a), src, float(v)) for a in range(K) for src, v in
                        (("rnn", self.marginals_rnn[a]), ("hmm", self.marginals_hmm[a]),
                         ("analytic", self.marginals_analytic[a]))],
                       kdims=["symbol", "source"], vdims=["probability"]).opts(
            title="emission marginals", color="source",
            cmap={"rnn": PALETTE[0], "hmm": PALETTE[1], "analytic": PALETTE[2]})
        b_rnn = viz.heatmap(self.bigram_rnn, xlabel="next symbol", ylabel="symbol",
                            title="bigram P(b | a): RNN").opts(clim=(0, 1))
        b_true = viz.heatmap(self.bigram_analytic, xlabel="next symbol", ylabel="symbol",
                             title="bigram P(b | a): analytic").opts(clim=(0, 1))
        n = np.arange(1, len(self.dwell_rnn) + 1)
        pos = lambda d: np.where(d > 0, d, np.nan)  # noqa: E731 (empty bins off the log axis)
        dwell = (hv.Curve((n, pos(self.dwell_hmm)), "run length", "fraction of runs",
                          label="HMM").opts(color=PALETTE[1]) *
                 hv.Curve((n, pos(self.dwell_rnn)), "run length", "fraction of runs",
                          label="RNN").opts(color=PALETTE[0])).opts(
            title="output dwell times", logy=True)
        ll = hv.Bars([("RNN", self.log_likelihood_rnn), ("HMM", self.log_likelihood_hmm),
                      ("shuffled", self.log_likelihood_shuffled)], "sequences",
                     "log-likelihood / step").opts(title="under the true HMM",
                                                   color=PALETTE[0])
        panels = [self.verdicts.plot()]
        if len(self.ngram_n):
            panels.append((hv.Curve((self.ngram_n, self.ngram_tv_floor), "n", "total variation",
                                    label="HMM vs HMM (floor)").opts(color=PALETTE[1]) *
                           hv.Curve((self.ngram_n, self.ngram_tv_rnn), "n", "total variation",
                                    label="RNN vs HMM").opts(color=PALETTE[0]) *
                           hv.Scatter((self.ngram_n, self.ngram_tv_rnn)).opts(
                               color=PALETTE[0], size=6)).opts(title="n-gram distributions"))
        return hv.Layout(panels + [bars, b_rnn, b_true, dwell, ll]).cols(3)


def _mean_dwell(hist) -> float:
    n = np.arange(1, len(hist) + 1)
    return float((hist * n).sum()) if hist.sum() else float("nan")


def compare(rnn, hmm, *, n_sequences: int = 2000, length: int | None = None,
            seed: int = 0, n_sinkhorn: int = 1000, max_dwell: int | None = None,
            max_ngram: int = 4, n_permutations: int = 200, tolerances: dict | None = None
            ) -> Emulation:
    """Compare ``rnn`` (a :class:`NoiseRNN`, or integer sequences (n, L) it generated)
    with ``hmm`` (an :class:`HMM`, a fitted hmmlearn ``CategoricalHMM``, or matrices; see
    :func:`toolkit.hmmrnn.as_hmm`) on ``n_sequences`` sequences of ``length`` steps
    (default: :func:`toolkit.hmmrnn.default_length`).

    Draws four independent HMM sets of the same size: ``y`` (what the RNN is compared
    with), ``w`` (the floor: a perfect emulator's score, HMM vs HMM), ``z`` (held-out
    Sinkhorn reference) and the shuffled ``y`` (memoryless baseline). ``n_sinkhorn``
    sequences of each enter the Sinkhorn divergence (0 skips it). n-grams for n = 1 to
    ``max_ngram``; ``n_permutations`` for the permutation tests; ``tolerances`` overrides
    entries of :data:`TOLERANCES`. Verdicts: ``.verdicts``, ``.passed``.
    """
    from .hmm import as_hmm
    from .train import default_length

    if isinstance(hmm, str):
        raise TypeError(f"hmm: expected a toolkit.hmmrnn.HMM (or hmmlearn model / matrices), "
                        f"got the string {hmm!r}; use make_hmm({hmm!r})")
    hmm = as_hmm(hmm)
    K = hmm.n_symbols
    if isinstance(rnn, NoiseRNN):
        check_rnn(rnn, K)
        length = default_length(hmm) if length is None else length
        length = positive(length, "length", integer=True)
        n_sequences = positive(n_sequences, "n_sequences", integer=True)
        x = sample(rnn, n_sequences, length, seed=seed)
    elif hasattr(rnn, "parameters"):
        raise TypeError(f"rnn: expected a toolkit.hmmrnn.NoiseRNN or symbol sequences, got "
                        f"{type(rnn).__name__}; wrap your model with NoiseRNN.from_torch")
    else:
        x = check_symbols(rnn, K, "rnn")
        n_sequences, length = x.shape
    if length < 2:
        raise ValueError(f"length: need at least 2 steps to compare sequences, got {length}")
    max_ngram = positive(max_ngram, "max_ngram", integer=True)
    n_permutations = positive(n_permutations, "n_permutations", integer=True)
    tol = dict(TOLERANCES)
    if tolerances:
        unknown = set(tolerances) - set(TOLERANCES)
        if unknown:
            raise ValueError(f"tolerances: unknown checks {sorted(unknown)}; known: "
                             f"{sorted(TOLERANCES)}")
        tol.update({k: float(v) for k, v in tolerances.items()})
    y, _ = hmm.sample(n_sequences, length, seed=seed + 1, engine="numpy")
    w, _ = hmm.sample(n_sequences, length, seed=seed + 3, engine="numpy")
    m = max(1, min(n_sinkhorn, n_sequences))
    z, _ = hmm.sample(m, length, seed=seed + 2, engine="numpy")
    shuffled = shuffle_symbols(y, seed)
    max_dwell = max_dwell or min(length - 2, 60) or 1
    sk = {"rnn": float("nan"), "hmm": float("nan"), "floor": float("nan"),
          "shuffled": float("nan")}
    if n_sinkhorn:
        from .sinkhorn import flatten_onehot, sinkhorn_divergence

        ref = flatten_onehot(z[:m], K)
        for key, data in (("rnn", x), ("hmm", y), ("floor", w), ("shuffled", shuffled)):
            sk[key] = float(sinkhorn_divergence(flatten_onehot(data[:m], K), ref))
    from scipy.stats import ks_2samp

    ll_x, ll_y = hmm.log_likelihood(x), hmm.log_likelihood(y)
    ks_ll = ks_2samp(ll_x, ll_y)
    ks_sw = ks_2samp((x[:, 1:] != x[:, :-1]).sum(1), (y[:, 1:] != y[:, :-1]).sum(1))
    # n-grams: TV to the HMM sample y, floor TV(w, y), permutation p-value (x vs y)
    ns = [n for n in range(1, min(max_ngram, length) + 1) if K ** n <= 200_000]
    tv_rnn, tv_floor, tv_p = [], [], []
    for n in ns:
        cx, cy, cw = (ngram_counts(d, K, n) for d in (x, y, w))
        tv, p = permutation_tv_test(cx, cy, n_permutations, seed=seed + 10 + n)
        tv_rnn.append(tv)
        tv_p.append(p)
        tv_floor.append(total_variation(cw.sum(0), cy.sum(0)))
    dx, dy, dw = (_dwell_counts(d, max_dwell) for d in (x, y, w))
    dwell_tv, dwell_p = permutation_tv_test(dx, dy, n_permutations, seed=seed + 20) \
        if dx.sum() and dy.sum() else (float("nan"), float("nan"))
    dwell_floor = total_variation(dw.sum(0), dy.sum(0)) if dw.sum() and dy.sum() \
        else float("nan")
    marg, bigram, sw = _expected(hmm, length)
    return Emulation(
        hmm_name=hmm.name, n_sequences=int(n_sequences), length=int(length),
        marginals_rnn=emission_marginals(x, K), marginals_hmm=emission_marginals(y, K),
        marginals_analytic=marg,
        bigram_rnn=bigram_matrix(x, K), bigram_hmm=bigram_matrix(y, K),
        bigram_analytic=bigram,
        switch_rate_rnn=switch_rate(x), switch_rate_hmm=switch_rate(y),
        switch_rate_analytic=sw,
        dwell_rnn=dwell_histogram(x, max_dwell), dwell_hmm=dwell_histogram(y, max_dwell),
        log_likelihood_rnn=float(ll_x.mean() / length),
        log_likelihood_hmm=float(ll_y.mean() / length),
        log_likelihood_shuffled=float(hmm.log_likelihood(shuffled).mean() / length),
        sinkhorn_rnn=sk["rnn"], sinkhorn_hmm=sk["hmm"],
        sequence_ll_ks=float(ks_ll.statistic), sequence_ll_p=float(ks_ll.pvalue),
        switch_count_ks=float(ks_sw.statistic), switch_count_p=float(ks_sw.pvalue),
        ngram_n=np.asarray(ns, dtype=np.int64), ngram_tv_rnn=np.asarray(tv_rnn),
        ngram_tv_floor=np.asarray(tv_floor), ngram_p=np.asarray(tv_p),
        dwell_tv_rnn=float(dwell_tv), dwell_tv_floor=float(dwell_floor),
        dwell_p=float(dwell_p),
        log_likelihood_se=float(ll_y.std(ddof=1) / np.sqrt(len(ll_y)) / length)
        if len(ll_y) > 1 else float("nan"),
        sinkhorn_shuffled=sk["shuffled"], sinkhorn_floor=sk["floor"],
        bigram_floor=float(np.abs(bigram_matrix(y, K) - bigram).max()),
        tolerances=tol)
