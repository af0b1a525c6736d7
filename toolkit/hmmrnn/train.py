"""Training a noise-driven RNN to emulate an HMM.

Two objectives, one loop (:func:`toolkit.training.fit`):

``"statistics"`` (default, fast)
    Because the outputs of the RNN are conditionally independent given the noise path,
    the probability that it emits a word w = (w_0..w_{n−1}) at steps t..t+n−1 is an
    expectation over noise only: Q_t(w) = E_x[∏_i p_{t+i}(w_i | x)], with p = softmax of
    the logits. A batch of noise paths gives an unbiased, low-variance, differentiable
    estimate of Q, with no sampling of symbols at all. The HMM's own word probabilities
    P_t(w) are exact (forward algorithm). The loss is a sum of KL divergences
    KL(P ‖ Q), averaged over positions:
      * words of length ``word_length`` at every position (local structure: runs,
        switches, the rare symbol),
      * the joint P(o_t = a, o_s = b) for every pair of steps t < s (all lags: the slow
        decay of correlations that a memoryless model cannot fake),
      * the marginal P(o_t = a) at every step.
    Each term is zero exactly when the RNN's distribution over those words equals the
    HMM's, so the memoryless solution (right marginals, no correlations) has a large
    loss, and its gradient points directly at the missing temporal structure. Whether
    matching these statistics matches the whole sequence distribution is checked, not
    assumed: :func:`toolkit.hmmrnn.compare` measures a held-out Sinkhorn divergence,
    dwell times and log-likelihoods under the true HMM.

``"sinkhorn"`` (the reference recipe)
    Sinkhorn divergence (debiased, p = 2, blur 0.2, ε-scaling 0.5) between a batch of
    HMM sequences and straight-through Gumbel-softmax samples of the RNN, both flattened
    to one-hot vectors in R^{K·L}; batches cycle through a fixed training set, as in
    Torre et al. (batch 4096, Adam lr 1e-3, betas (0.9, 0.9), clip 0.9).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .._checks import in_range, one_of, positive
from ..probes.core import Probe, ProbeHistory
from ..training import fit
from .hmm import HMM
from .model import NoiseRNN, check_rnn, sample
from .sinkhorn import flatten_onehot, sinkhorn_divergence

__all__ = ["train", "StatisticsObjective", "statistics_loss", "default_length",
           "length_rule", "emulation_probes"]

#: sequence lengths of the reference, per HMM
_REFERENCE_LENGTHS = {"linear_chain_2": 100, "linear_chain_3": 30, "linear_chain_4": 30,
                      "linear_chain_5": 40, "fully_connected_3": 30, "cyclic_4": 40}


def default_length(hmm: HMM) -> int:
    """The sequence length the reference trains this HMM on; for any other HMM the rule of
    :func:`toolkit.hmmrnn.emulate`: three times the chain's slowest time scale (the
    larger of its relaxation time 1/(1 − |λ₂|) and its longest mean state dwell time),
    rounded up to a multiple of 10 and clipped to 30..100 steps."""
    if hmm.name in _REFERENCE_LENGTHS:
        return _REFERENCE_LENGTHS[hmm.name]
    return length_rule(hmm)


def length_rule(hmm: HMM) -> int:
    """3 × max(relaxation time, longest mean dwell time), rounded up to a multiple of 10,
    clipped to 30..100 (see :func:`default_length`)."""
    tau = max(hmm.relaxation_time(), float(np.max(hmm.dwell_means())))
    if not np.isfinite(tau):
        return 100
    return int(np.clip(10 * math.ceil(3 * tau / 10), 30, 100))


def _check_hmm(hmm, name="hmm") -> HMM:
    if not isinstance(hmm, HMM):
        raise TypeError(f"{name}: expected a toolkit.hmmrnn.HMM, got {type(hmm).__name__}")
    return hmm


def _entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * torch.log(p.clamp_min(1e-30))).sum(-1)


class StatisticsObjective:
    """Divergence between the HMM's and the RNN's word statistics: words of length
    ``word_length`` at every position, the joint of every pair of steps, and the per-step
    marginals (see the module docstring).

    ``divergence="chi2"`` (default): ½ Pearson χ², Σ_w (Q(w) − P(w))² / P(w), with
    (Q − P)² estimated by a U-statistic over pairs of distinct noise paths, so the
    loss and its gradient are unbiased for any batch size. ``"kl"``: KL(P ‖ Q) with Q
    replaced by its batch mean, biased by about Var(Q̂)/(2Q²) (the bias rewards blurry
    per-path outputs; larger batches shrink it). Near the optimum ½χ² ≈ KL.

    ``soften``: the χ² weights are 1 / (P + soften / n_words), finite for impossible
    words; the default 0.01 also damps the weight of rare words (a word of the rare
    symbol twice has P ≈ 1e-4), a smaller value makes their errors count.

    ``objective(probs)`` takes softmax probabilities (B, L, K) of B noise paths and
    returns a dict of 0-d tensors: ``loss`` (the sum) and its parts ``words``,
    ``pairs``, ``marginals`` (nats, averaged over positions).
    """

    def __init__(self, hmm: HMM, length: int, word_length: int = 5, *,
                 divergence: str = "chi2", max_lag: int | None = None,
                 soften: float = 0.01):
        self.hmm = _check_hmm(hmm)
        self.length = positive(length, "length", integer=True)
        if self.length < 2:
            raise ValueError(f"length: need at least 2 steps to train on, got {length}")
        self.word_length = positive(word_length, "word_length", integer=True)
        if self.word_length > self.length:
            raise ValueError(f"word_length: {word_length} is longer than length {length}")
        if hmm.n_symbols ** self.word_length > 20_000:
            raise ValueError(f"word_length: {hmm.n_symbols}^{word_length} words is too many; "
                             "use a shorter word length")
        self.divergence = one_of(divergence, "divergence", ("chi2", "kl"))
        L, K, n = self.length, hmm.n_symbols, self.word_length
        max_lag = L - 1 if max_lag is None else positive(max_lag, "max_lag", integer=True)
        pair = hmm.position_pair_joint(L + 1)[1:, 1:]  # outputs come from steps 1..L
        t_idx, s_idx = np.triu_indices(L, 1)
        keep = (s_idx - t_idx) <= max_lag
        self._t = torch.as_tensor(t_idx[keep])
        self._s = torch.as_tensor(s_idx[keep])
        f32 = torch.float32
        self.targets = {
            "words": torch.as_tensor(
                np.stack([hmm.word_probabilities(n, t) for t in range(1, L - n + 2)]),
                dtype=f32),
            "pairs": torch.as_tensor(pair[t_idx[keep], s_idx[keep]].reshape(-1, K * K),
                                     dtype=f32),
            "marginals": torch.as_tensor(
                np.stack([hmm.state_distribution(t) @ hmm.emission for t in range(1, L + 1)]),
                dtype=f32)}
        self._entropy = {k: _entropy(v).mean() for k, v in self.targets.items()}
        # χ² weights 1/P, softened for (near-)impossible words so they stay finite
        soften = float(positive(soften, "soften"))
        self._weight = {k: 1.0 / (v + soften / v.shape[-1]) for k, v in self.targets.items()}

    @staticmethod
    def _products(probs: torch.Tensor, m: int) -> torch.Tensor:
        """∏_{i<m} p_{t+i}(w_i) for every word w of length m and start t: (B, L−m+1, K^m)."""
        B, L, _ = probs.shape
        W = probs[:, : L - m + 1]
        for j in range(1, m):
            W = (W[..., :, None] * probs[:, j: L - m + 1 + j, None, :]).reshape(B, L - m + 1, -1)
        return W

    def _word_sums(self, probs: torch.Tensor, power: int) -> torch.Tensor:
        """Σ_paths (∏_i p_{t+i}(w_i))^power, shape (L − n + 1, K^n).

        Split as prefix × suffix, so that the sum over paths is one batched matrix
        product instead of a (B, L, K^n) tensor.
        """
        probs = probs if power == 1 else probs**power
        B, L, _ = probs.shape
        n = self.word_length
        m = (n + 1) // 2
        T = L - n + 1
        prefix = self._products(probs, m)[:, :T]
        if n == m:
            return prefix.sum(0)
        suffix = self._products(probs, n - m)[:, m: m + T]
        return torch.bmm(prefix.permute(1, 2, 0), suffix.permute(1, 0, 2)).reshape(T, -1)

    def _pair_sums(self, probs: torch.Tensor, power: int) -> torch.Tensor:
        probs = probs if power == 1 else probs**power
        B, L, K = probs.shape
        flat = probs.reshape(B, L * K)
        gram = (flat.T @ flat).reshape(L, K, L, K).permute(0, 2, 1, 3)
        return gram[self._t, self._s].reshape(-1, K * K)

    def expected_words(self, probs: torch.Tensor) -> torch.Tensor:
        """Q_t(w) = mean over paths of ∏_i p_{t+i}(w_i), shape (L − n + 1, K^n)."""
        return self._word_sums(probs, 1) / probs.shape[0]

    def expected_pairs(self, probs: torch.Tensor) -> torch.Tensor:
        """Q(o_t = a, o_s = b) for the kept pairs t < s, shape (n_pairs, K²)."""
        return self._pair_sums(probs, 1) / probs.shape[0]

    def __call__(self, probs: torch.Tensor) -> dict:
        if probs.ndim != 3 or probs.shape[1] != self.length or \
                probs.shape[2] != self.hmm.n_symbols:
            raise ValueError(f"probs: expected shape (batch, {self.length}, "
                             f"{self.hmm.n_symbols}), got {tuple(probs.shape)}")
        B = probs.shape[0]
        sums = {"words": self._word_sums, "pairs": self._pair_sums,
                "marginals": lambda p, k: (p if k == 1 else p**k).sum(0)}
        parts = {}
        for key, fn in sums.items():
            P = self.targets[key]
            s1 = fn(probs, 1)
            if self.divergence == "kl" or B < 2:
                q = s1 / B
                parts[key] = -(P * torch.log(q.clamp_min(1e-12))).sum(-1).mean() - \
                    self._entropy[key]
            else:
                s2 = fn(probs, 2)
                # Σ_{b≠b'} (φ_b − P)(φ_b' − P) / (B(B−1)): unbiased for (Q − P)²
                d1 = s1 - B * P
                d2 = s2 - 2 * P * s1 + B * P**2
                sq = (d1**2 - d2) / (B * (B - 1))
                parts[key] = 0.5 * (sq * self._weight[key]).sum(-1).mean()
        parts["loss"] = parts["words"] + parts["pairs"] + parts["marginals"]
        return parts


def statistics_loss(rnn: NoiseRNN, hmm: HMM, *, length: int | None = None,
                    n_paths: int = 2048, word_length: int = 5, divergence: str = "chi2",
                    seed: int = 0) -> dict:
    """The statistics objective of ``rnn`` against ``hmm`` on ``n_paths`` seeded noise
    paths, as floats (``loss``, ``words``, ``pairs``, ``marginals``; nats)."""
    hmm = _check_hmm(hmm)
    check_rnn(rnn, hmm.n_symbols)
    length = default_length(hmm) if length is None else length
    objective = StatisticsObjective(hmm, length, word_length, divergence=divergence)
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        x = torch.randn(positive(n_paths, "n_paths", integer=True), length, rnn.n_noise,
                        generator=gen)
        probs = torch.softmax(rnn(x)[1], -1)
        return {k: float(v) for k, v in objective(probs).items()}


def emulation_probes(hmm: HMM, *, n_sequences: int = 256, length: int | None = None,
                     seed: int = 12345) -> list[Probe]:
    """Probes for the trainer: output switch rate and per-step log-likelihood under ``hmm``
    of a small seeded sample (the same noise every time, so curves are smooth)."""
    length = default_length(hmm) if length is None else length

    def measure(model, _data):
        s = sample(model, n_sequences, length, seed=seed)
        return {"switch_rate": float((s[:, 1:] != s[:, :-1]).mean()),
                "log_likelihood": float(hmm.log_likelihood(s).mean() / length)}

    return [Probe("", measure)]


def train(rnn: NoiseRNN, hmm: HMM, n_steps: int = 2000, *, objective: str = "statistics",
          length: int | None = None, batch_size: int | None = None, lr: float | None = None,
          betas: tuple[float, float] | None = None, grad_clip: float | None = None,
          word_length: int = 5, divergence: str = "kl+chi2", chi2_fraction: float = 0.4,
          lr_final: float = 0.1, n_train: int = 10_000, l1_recurrent: float = 0.0,
          l1_input: float = 0.0, dropout_units: int = 0, parameters: str = "all",
          soften: float = 0.01, seed: int = 0, probes=(),
          track: bool = True, log_every: int = 100,
          score_every: int | None = None, restore_best: bool = True,
          checkpoint_every: int | None = None, checkpoint_dir: str | Path | None = None,
          on_log=None, progress: bool = True, max_loss: float | None = None,
          should_stop=None) -> ProbeHistory:
    """Train ``rnn`` in place to emulate ``hmm``; returns the :class:`ProbeHistory`.

    Parameters
    ----------
    objective : ``"statistics"`` (default; exact word and pair statistics, see the module
        docstring) or ``"sinkhorn"`` (the reference recipe).
    length : sequence length (default: the reference's length for this HMM).
    batch_size, lr, betas, grad_clip : defaults per objective: statistics 512, 3e-3,
        (0.9, 0.99), 1.0; sinkhorn 4096, 1e-3, (0.9, 0.9), 0.9 (the reference).
    word_length, divergence : word length n and divergence of the statistics objective
        (:class:`StatisticsObjective`): "kl", "chi2", or "kl+chi2" (default): KL, robust
        from a random start, for the first steps, then the unbiased χ² for the last
        ``chi2_fraction`` of the steps, which removes the small-batch bias of KL.
    lr_final : the learning rate decays along a cosine to ``lr * lr_final``.
    n_train : size of the fixed HMM training set of the sinkhorn objective.
    l1_recurrent : coefficient of an L1 penalty Σ|W_hh| added to the loss (0: none).
    l1_input : coefficient of a group penalty Σ_i ‖W_in[i]‖₂ (0: none); it drives whole
        rows to zero, so that few units take the noise (see
        scripts/make_hmmrnn_pretrained.py for what both do to the kick neurons).
    dropout_units : at every step, silence the recurrent input (gain 0, as in
        :func:`toolkit.hmmrnn.ablate`) of a fresh random set of this many units in half
        the batch, and match both halves to the HMM (0: none): a robustness term against
        random ablations of that size.
    soften : χ² weight softening of the statistics objective (see
        :class:`StatisticsObjective`).
    parameters : ``"all"`` (default) or ``"readout"``: train only the readout W_out, with
        the recurrent and noise weights fixed. A second stage that tunes the emission map
        without moving the dynamics (or the kick neurons found in them).
    seed : seeds the noise, the HMM samples and the Gumbel draws.
    probes : extra :class:`toolkit.probes.Probe` objects, passed to ``fit``.
    track : also log the switch rate and log-likelihood of a small seeded sample.
    score_every : evaluate the objective on held-out seeded noise (statistics) or on a
        held-out HMM set (sinkhorn) this often and keep the best state (``restore_best``).
    checkpoint_every, checkpoint_dir : save the model every so many steps (and at step 0)
        with ``toolkit.io``; :func:`toolkit.hmmrnn.training_evolution` reads the folder.
    should_stop : polled every step (``toolkit.training.fit``); True ends training early
        (:func:`toolkit.hmmrnn.emulate` uses it as a wall-clock guard).
    """
    hmm = _check_hmm(hmm)
    check_rnn(rnn, hmm.n_symbols)
    one_of(objective, "objective", ("statistics", "sinkhorn"))
    n_steps = positive(n_steps, "n_steps", integer=True)
    length = default_length(hmm) if length is None else positive(length, "length",
                                                                   integer=True)
    ref = objective == "sinkhorn"
    batch_size = positive(batch_size if batch_size is not None else (4096 if ref else 512),
                          "batch_size", integer=True)
    lr = positive(lr if lr is not None else (1e-3 if ref else 3e-3), "lr")
    betas = tuple(betas if betas is not None else ((0.9, 0.9) if ref else (0.9, 0.99)))
    grad_clip = positive(grad_clip if grad_clip is not None else (0.9 if ref else 1.0),
                         "grad_clip")
    in_range(lr_final, "lr_final", 0.0, 1.0)
    l1_recurrent = float(positive(l1_recurrent, "l1_recurrent", strict=False))
    l1_input = float(positive(l1_input, "l1_input", strict=False))
    dropout_units = int(positive(dropout_units, "dropout_units", integer=True, strict=False))
    if dropout_units >= rnn.n_hidden:
        raise ValueError(f"dropout_units: must be below the number of hidden units "
                         f"({rnn.n_hidden}), got {dropout_units}")
    if dropout_units and batch_size < 2:
        raise ValueError(f"dropout_units: splits each batch in two halves, so batch_size "
                         f"must be at least 2, got {batch_size}")
    one_of(parameters, "parameters", ("all", "readout"))
    trained = list(rnn.readout.parameters()) if parameters == "readout" else \
        list(rnn.parameters())
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(trained, lr=lr, betas=betas)

    def ablated_logits(x):
        # logits with a fresh random set of units' recurrent input silenced
        keep = torch.ones(rnn.n_hidden)
        keep[torch.randperm(rnn.n_hidden, generator=gen)[:dropout_units]] = 0.0
        W = rnn.W_hh * keep[:, None]
        return torch.func.functional_call(rnn, {"rnn.weight_hh_l0": W}, (x,))[1]

    def both(x, loss):
        # half the batch intact, half ablated, each matched to the HMM on its own
        if not dropout_units or len(x) < 2:  # (a last partial sinkhorn batch may be 1)
            return loss(rnn(x)[1])
        half = len(x) // 2
        return 0.5 * (loss(rnn(x[:half])[1]) + loss(ablated_logits(x[half:])))

    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: lr_final + (1 - lr_final) * 0.5 * (1 + math.cos(math.pi * i / n_steps)))

    if ref:
        data, _ = hmm.sample(positive(n_train, "n_train", integer=True), length, seed=seed)
        data = flatten_onehot(data, hmm.n_symbols)
        held_out, _ = hmm.sample(min(n_train, batch_size), length, seed=seed + 1)
        held_out = flatten_onehot(held_out, hmm.n_symbols)
        order = {"perm": None}

        def loss_fn(i):
            per_epoch = math.ceil(len(data) / batch_size)
            k = i % per_epoch
            if k == 0:
                order["perm"] = torch.randperm(len(data), generator=gen)
            idx = order["perm"][k * batch_size:(k + 1) * batch_size]
            x = torch.randn(len(idx), length, rnn.n_noise, generator=gen)
            return both(x, lambda logits: sinkhorn_divergence(
                rnn.emit(logits, gen).reshape(len(logits), -1), data[idx]))

        def score(model):
            g = torch.Generator().manual_seed(int(seed) + 2)
            with torch.no_grad():
                x = torch.randn(len(held_out), length, rnn.n_noise, generator=g)
                onehot = model.emit(model(x)[1], g)
                return float(sinkhorn_divergence(onehot.reshape(len(x), -1), held_out))
    else:
        one_of(divergence, "divergence", ("kl", "chi2", "kl+chi2"))
        in_range(chi2_fraction, "chi2_fraction", 0.0, 1.0)
        first = "kl" if divergence == "kl+chi2" else divergence
        obj = StatisticsObjective(hmm, length, word_length, divergence=first, soften=soften)
        switch_at = int(round(n_steps * (1 - chi2_fraction))) if divergence == "kl+chi2" \
            else n_steps + 1

        def loss_fn(i):
            if i == switch_at:
                obj.divergence = "chi2"
            x = torch.randn(batch_size, length, rnn.n_noise, generator=gen)
            return both(x, lambda logits: obj(torch.softmax(logits, -1))["loss"])

        # held-out score: the unbiased χ² on fixed noise, comparable across phases
        judge = StatisticsObjective(hmm, length, word_length, divergence="chi2",
                                    soften=soften)

        def score(model):
            g = torch.Generator().manual_seed(int(seed) + 2)
            with torch.no_grad():
                x = torch.randn(4 * batch_size, length, rnn.n_noise, generator=g)
                return float(judge(torch.softmax(model(x)[1], -1))["loss"])

    def step(i):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(i)
        if l1_recurrent > 0:
            loss = loss + l1_recurrent * rnn.W_hh.abs().sum()
        if l1_input > 0:
            loss = loss + l1_input * rnn.W_in.norm(dim=1).sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, grad_clip)
        opt.step()
        sched.step()
        return loss.detach()

    all_probes = list(probes) + (emulation_probes(hmm, length=length) if track else [])
    if checkpoint_every is not None and checkpoint_dir is not None:
        from .. import io

        first = Path(checkpoint_dir) / "step_0000000.safetensors"
        if first.exists():
            raise FileExistsError(f"checkpoint_dir: {first} already exists; choose a new "
                                  "folder (checkpoints are never overwritten)")
        io.save(rnn, first, metadata={"step": 0})
    meta = {"objective": objective, "hmm": hmm.name, "length": length,
            "batch_size": batch_size, "lr": lr, "seed": int(seed),
            "l1_recurrent": l1_recurrent, "l1_input": l1_input,
            "dropout_units": dropout_units, "parameters": parameters}
    frozen = [p for p in rnn.parameters() if p.requires_grad and
              not any(p is q for q in trained)]
    for p in frozen:
        p.requires_grad_(False)
    try:
        return fit(step, rnn, n_steps, probes=all_probes, log_every=log_every,
                   score=score if (score_every or restore_best) else None,
                   score_every=score_every, restore_best=restore_best, max_loss=max_loss,
                   checkpoint_every=checkpoint_every, checkpoint_dir=checkpoint_dir,
                   on_log=on_log, should_stop=should_stop, progress=progress,
                   desc=f"train {hmm.name}", meta=meta)
    finally:
        for p in frozen:
            p.requires_grad_(True)
