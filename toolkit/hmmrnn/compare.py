"""Does an RNN emulate an HMM? Output statistics, against analytic values and HMM samples.

:func:`compare` draws sequences from the RNN and from the HMM (twice: the second HMM
sample gives the baseline every statistic would have for a perfect emulator) and
measures emission marginals, the output bigram matrix, the switch rate, the dwell-time
(run-length) distribution, the per-step log-likelihood under the true HMM (against HMM
samples and time-shuffled ones), and a held-out Sinkhorn divergence between the
flattened sequence clouds: statistics the trainer never looked at.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import positive
from .._result import Result
from .hmm import HMM, check_symbols
from .model import NoiseRNN, check_rnn, sample

__all__ = ["compare", "Emulation", "emission_marginals", "bigram_matrix", "switch_rate",
           "dwell_times", "dwell_histogram", "shuffle_symbols"]


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
        """Marginals, bigram matrices, dwell-time distributions and log-likelihoods."""
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
        return (bars + b_rnn + b_true + dwell + ll).cols(3)


def _mean_dwell(hist) -> float:
    n = np.arange(1, len(hist) + 1)
    return float((hist * n).sum()) if hist.sum() else float("nan")


def compare(rnn, hmm: HMM, *, n_sequences: int = 2000, length: int | None = None,
            seed: int = 0, n_sinkhorn: int = 1000, max_dwell: int | None = None
            ) -> Emulation:
    """Compare ``rnn`` (a :class:`NoiseRNN`, or integer sequences (n, L) it generated)
    with ``hmm`` on ``n_sequences`` sequences of ``length`` steps.

    ``n_sinkhorn`` sequences of each set enter the held-out Sinkhorn divergence (0 skips
    it); its baseline is the divergence between two independent HMM samples.
    """
    from .train import default_length

    if not isinstance(hmm, HMM):
        raise TypeError(f"hmm: expected a toolkit.hmmrnn.HMM, got {type(hmm).__name__}")
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
    y, _ = hmm.sample(n_sequences, length, seed=seed + 1)
    z, _ = hmm.sample(max(1, min(n_sinkhorn, n_sequences)), length, seed=seed + 2)
    max_dwell = max_dwell or min(length - 2, 60) or 1
    sk_rnn = sk_hmm = float("nan")
    if n_sinkhorn:
        from .sinkhorn import flatten_onehot, sinkhorn_divergence

        m = min(n_sinkhorn, n_sequences)
        ref = flatten_onehot(z[:m], K)
        sk_rnn = float(sinkhorn_divergence(flatten_onehot(x[:m], K), ref))
        sk_hmm = float(sinkhorn_divergence(flatten_onehot(y[:m], K), ref))
    from scipy.stats import ks_2samp

    ll_x, ll_y = hmm.log_likelihood(x), hmm.log_likelihood(y)
    ks_ll = ks_2samp(ll_x, ll_y)
    ks_sw = ks_2samp((x[:, 1:] != x[:, :-1]).sum(1), (y[:, 1:] != y[:, :-1]).sum(1))
    return Emulation(
        hmm_name=hmm.name, n_sequences=int(n_sequences), length=int(length),
        marginals_rnn=emission_marginals(x, K), marginals_hmm=emission_marginals(y, K),
        marginals_analytic=hmm.emission_marginals(),
        bigram_rnn=bigram_matrix(x, K), bigram_hmm=bigram_matrix(y, K),
        bigram_analytic=hmm.bigram(),
        switch_rate_rnn=switch_rate(x), switch_rate_hmm=switch_rate(y),
        switch_rate_analytic=hmm.switch_rate(),
        dwell_rnn=dwell_histogram(x, max_dwell), dwell_hmm=dwell_histogram(y, max_dwell),
        log_likelihood_rnn=float(ll_x.mean() / length),
        log_likelihood_hmm=float(ll_y.mean() / length),
        log_likelihood_shuffled=float(hmm.log_likelihood(shuffle_symbols(y, seed)).mean()
                                      / length),
        sinkhorn_rnn=sk_rnn, sinkhorn_hmm=sk_hmm,
        sequence_ll_ks=float(ks_ll.statistic), sequence_ll_p=float(ks_ll.pvalue),
        switch_count_ks=float(ks_sw.statistic), switch_count_p=float(ks_sw.pvalue))
