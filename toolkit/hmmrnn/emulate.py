"""One call from an HMM someone wrote down to a checked RNN emulator of it.

    import toolkit as tk
    em = tk.hmmrnn.emulate(hmm, budget_s=600)      # HMM, hmmlearn CategoricalHMM, matrices
    em.report.verdicts.to_frame()                   # a verdict per check, with tolerances
    em.rnn                                          # the trained NoiseRNN

:func:`emulate` checks that the HMM can be emulated (:func:`check_emulable`), picks the
settings from the HMM by the rules below (each can be overridden), times a few training
steps to fit the number of steps into ``budget_s``, trains with the default objective of
:func:`toolkit.hmmrnn.train`, and judges the result with :func:`toolkit.hmmrnn.compare`.

Rules (S states, K symbols):

* ``length``: :func:`toolkit.hmmrnn.default_length`: the reference's length for the
  reference HMMs, otherwise 3 × the slowest time scale of the chain (relaxation time
  1/(1 − |λ₂|) or longest mean dwell time, whichever is larger), rounded up to a
  multiple of 10, clipped to 30..100. Sequences must hold a few of the slowest events
  for the pair statistics to see them; the cost grows with the length.
* ``hidden``: 32·S units, clipped to 64..150 (150 is the reference's size).
* ``n_noise``: 8·S noise dimensions, clipped to 16..100 (the reference uses 100; the
  noise only has to supply a few independent random numbers per step, and a smaller
  input trains several times faster).
* ``word_length``: the longest n ≤ 5 with K^n ≤ 1024 (5 for K ≤ 4, 4 for K = 5).
* ``batch_size``: 1024 noise paths per step (twice :func:`~toolkit.hmmrnn.train`'s
  default). Set on the shipped fully connected HMM (not part of the panel benchmark):
  at 512 the sticky states' marginals stayed 3× the sampling floor off after 3,000
  steps (1-gram TV 0.031, floor 0.009); at 1024, 1.5× after 1,500 steps.
* ``n_steps``: as many steps as fit into 90% of ``budget_s`` after the timing and the
  final ``compare`` (capped at ``max_steps``); a wall-clock guard stops training early if
  the machine slows down. Passing ``n_steps`` makes the run reproducible across machines
  (same seed, same steps, same result); the report records the steps taken.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .._checks import positive
from .._result import Result
from .compare import Emulation, compare
from .hmm import HMM, as_hmm
from .model import NoiseRNN
from .train import default_length, train

__all__ = ["emulate", "Emulator", "check_emulable", "emulation_settings",
           "temporal_information", "MIN_STEPS"]

#: fewest training steps worth running: below this no emulator of the reference HMMs
#: gets its switch rate right (``budget_s`` too small raises)
MIN_STEPS = 300
#: the states carry less than this many nats per step of temporal structure (beyond the
#: marginals): the outputs are i.i.d. to within sampling error, so refuse
MIN_INFORMATION = 0.01


def temporal_information(hmm: HMM, n_sequences: int = 1000, length: int | None = None,
                         seed: int = 0) -> float:
    """Nats per step by which the HMM predicts its outputs better than their marginals:
    the per-step log-likelihood of HMM samples minus that of the same samples shuffled
    (an estimate of H(marginal) − entropy rate). Zero when the emissions make the states
    indistinguishable."""
    from .compare import shuffle_symbols

    length = default_length(hmm) if length is None else length
    x, _ = hmm.sample(n_sequences, length, seed=seed, engine="numpy")
    return float((hmm.log_likelihood(x).mean() -
                  hmm.log_likelihood(shuffle_symbols(x, seed)).mean()) / length)


def check_emulable(hmm) -> HMM:
    """The :class:`HMM` behind ``hmm`` (see :func:`toolkit.hmmrnn.as_hmm`), or a clear
    ValueError when there is nothing an emulator could be judged on: fewer than two
    symbols, a hidden chain that is not ergodic (reducible or periodic), or emissions that
    make the states indistinguishable (less than ``MIN_INFORMATION`` nats per step of
    temporal structure)."""
    hmm = as_hmm(hmm)
    if hmm.n_symbols < 2:
        raise ValueError("hmm.emission: the HMM has one output symbol; its sequences are "
                         "constant and there is nothing to emulate")
    erg = hmm.ergodicity()
    if not erg["irreducible"]:
        closed = erg["closed"]
        trap = f"the class {closed[0]}" if len(closed) == 1 else \
            f"whichever of {closed} it enters"
        raise ValueError(
            f"hmm.transition: the hidden chain is not ergodic: it splits into the classes "
            f"{erg['classes']} and never leaves {trap}, so long sequences depend on where "
            "they start rather than on a "
            "stationary law an emulator could match; make every state reachable from every "
            "other (e.g. add a small transition probability)")
    if not erg["aperiodic"]:
        raise ValueError(
            f"hmm.transition: the hidden chain is not ergodic: it is periodic (period "
            f"{erg['period']}), so its state distribution never settles; add some "
            "probability of staying (a positive diagonal) to make it aperiodic")
    E = hmm.emission
    spread = float(np.abs(E - E.mean(0)).max())
    if spread < 1e-6:
        raise ValueError("hmm.emission: every state emits with the same probabilities, so "
                         "the outputs are independent of the hidden state (i.i.d. symbols "
                         "with marginals " f"{np.round(E[0], 4).tolist()}); there is no "
                         "temporal structure to emulate")
    info = temporal_information(hmm)
    if info < MIN_INFORMATION:
        raise ValueError(
            f"hmm.emission: the emissions make the states nearly indistinguishable: the "
            f"outputs carry {info:.4f} nats/step of temporal structure beyond their "
            f"marginals (below {MIN_INFORMATION}), so no check could tell an emulator from "
            "i.i.d. symbols; make the emission rows differ more")
    return hmm


def _time_step(rnn: NoiseRNN, hmm: HMM, settings: dict) -> float:
    """Seconds per training step: the fastest of 3 timed repetitions (after a warm-up)
    of forward + objective + backward, weighted 60/40 between the KL and χ² phases of
    :func:`toolkit.hmmrnn.train`'s default schedule."""
    import torch

    from .train import StatisticsObjective

    obj = StatisticsObjective(hmm, settings["length"], settings["word_length"])
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(settings["batch_size"], settings["length"], rnn.n_noise, generator=gen)
    best = {}
    for divergence in ("kl", "chi2"):
        obj.divergence = divergence
        times = []
        for _ in range(4):
            t0 = time.perf_counter()
            rnn.zero_grad(set_to_none=True)
            obj(torch.softmax(rnn(x)[1], -1))["loss"].backward()
            times.append(time.perf_counter() - t0)
        best[divergence] = min(times[1:])
    return 0.6 * best["kl"] + 0.4 * best["chi2"]


def emulation_settings(hmm) -> dict:
    """The settings :func:`emulate` picks for ``hmm`` by its documented rules:
    ``length``, ``hidden``, ``n_noise``, ``word_length``."""
    hmm = as_hmm(hmm)
    S, K = hmm.n_states, hmm.n_symbols
    word = max(n for n in range(1, 6) if K ** n <= 1024) if K <= 1024 else 1
    return {"length": default_length(hmm), "hidden": int(np.clip(32 * S, 64, 150)),
            "n_noise": int(np.clip(8 * S, 16, 100)), "word_length": int(word)}


@dataclass(frozen=True, repr=False)
class Emulator(Result):
    """What :func:`emulate` returns: the trained ``rnn``, the ``hmm``, the ``report`` of
    :func:`toolkit.hmmrnn.compare` on fresh sequences, the ``settings`` used (with where
    each came from in ``sources``: "rule" or "given"), ``n_steps`` taken, the seconds
    spent (``seconds_train``, ``seconds``), the ``budget_s``, ``stopped_early`` (the
    wall-clock guard cut training short), and the training ``history``."""

    rnn: NoiseRNN
    hmm: HMM
    report: Emulation
    settings: dict
    sources: dict
    n_steps: int
    seconds_train: float
    seconds: float
    budget_s: float
    stopped_early: bool
    history: object = None

    @property
    def passed(self) -> bool:
        """All checks of the report pass."""
        return self.report.passed

    def to_frame(self):
        """The verdicts of the report (one row per check)."""
        return self.report.verdicts.to_frame()

    def plot(self):
        """The report's plot (verdicts first)."""
        return self.report.plot()

    def _repr_summary(self) -> str:
        v = self.report.verdicts
        return (f"Emulator({self.hmm.name}: hidden {self.settings['hidden']}, noise "
                f"{self.settings['n_noise']}, length {self.settings['length']}, "
                f"{self.n_steps} steps in {self.seconds_train:.0f} s; "
                f"{'all checks pass' if v.passed else 'FAILS ' + ', '.join(v.failed)})")


def emulate(hmm, hidden: int | None = None, budget_s: float = 600, seed: int = 0, *,
            n_noise: int | None = None, length: int | None = None,
            word_length: int | None = None, n_steps: int | None = None,
            max_steps: int = 3000, batch_size: int = 1024, n_sequences: int = 2000,
            check: bool = True, progress: bool = True, **train_kwargs) -> Emulator:
    """Train an RNN emulator of ``hmm`` within ``budget_s`` seconds and judge it.

    Parameters
    ----------
    hmm : a :class:`HMM`, a fitted ``hmmlearn.hmm.CategoricalHMM``, a dict or a tuple
        ``(transition, emission)`` / ``(start, transition, emission)``
        (:func:`toolkit.hmmrnn.as_hmm`).
    hidden, n_noise, length, word_length : override the rules (module docstring).
    budget_s : wall-clock seconds for the whole call (timing, training, ``compare``).
        Too small for ``MIN_STEPS`` steps raises a ValueError naming ``budget_s``.
    seed : seeds the network, the training noise and the report.
    n_steps : fix the number of training steps instead of filling the budget
        (reproducible across machines); ``max_steps`` caps the budget-filled count.
    n_sequences : sequences per set in the final ``compare``.
    check : refuse HMMs that cannot be emulated meaningfully (:func:`check_emulable`).
    progress : show the training progress bar.
    train_kwargs : passed to :func:`toolkit.hmmrnn.train` (e.g. ``lr``, ``divergence``,
        or ``checkpoint_every`` and ``checkpoint_dir`` for
        :func:`toolkit.hmmrnn.training_evolution`).
    """
    t_start = time.perf_counter()
    hmm = check_emulable(hmm) if check else as_hmm(hmm)
    budget_s = float(positive(budget_s, "budget_s"))
    max_steps = positive(max_steps, "max_steps", integer=True)
    rules = emulation_settings(hmm)
    given = {"hidden": hidden, "n_noise": n_noise, "length": length,
             "word_length": word_length}
    settings = {k: (positive(v, k, integer=True) if v is not None else rules[k])
                for k, v in given.items()}
    sources = {k: "given" if v is not None else "rule" for k, v in given.items()}
    if settings["length"] < 2:
        raise ValueError(f"length: need at least 2 steps, got {settings['length']}")
    settings["word_length"] = min(settings["word_length"], settings["length"])
    settings["batch_size"] = positive(batch_size, "batch_size", integer=True)
    rnn = NoiseRNN(settings["hidden"], settings["n_noise"], hmm.n_symbols, seed=seed)
    common = dict(length=settings["length"], word_length=settings["word_length"],
                  batch_size=settings["batch_size"], seed=seed, **train_kwargs)

    # time the step's core (forward, objective, backward) on a throw-away copy: the
    # fastest of 3 repetitions after a warm-up, for the KL phase and the χ² phase
    if n_steps is None:
        per_step = _time_step(rnn.copy(), hmm, settings)
        setup = time.perf_counter() - t_start
        # the final compare samples n_sequences × length and scores them (a few seconds)
        reserve = 5.0 + 2e-7 * n_sequences * settings["length"] * settings["hidden"] ** 2 \
            / 64 + 0.02 * budget_s
        available = 0.9 * (budget_s - setup - reserve)
        # the optimiser step, logging (probes, held-out scores every 100 steps) and load
        # cost about 10% more
        fit_steps = int(available / (1.1 * per_step)) if available > 0 else 0
        if fit_steps < MIN_STEPS:
            need = setup + reserve + MIN_STEPS * 1.1 * per_step / 0.9
            raise ValueError(
                f"budget_s: {budget_s:.0f} s leaves time for about {max(fit_steps, 0)} "
                f"training steps ({per_step * 1e3:.0f} ms each at hidden "
                f"{settings['hidden']}, noise {settings['n_noise']}, length "
                f"{settings['length']}), below the minimum of {MIN_STEPS}; give at least "
                f"{math.ceil(need)} s, or a smaller hidden/length")
        n_steps = min(fit_steps, max_steps)
        guard_at = t_start + budget_s - reserve
    else:
        n_steps = positive(n_steps, "n_steps", integer=True)
        guard_at = None
    state = {"stopped": False}

    def should_stop():
        if guard_at is not None and time.perf_counter() > guard_at:
            state["stopped"] = True
            return True
        return False

    t0 = time.perf_counter()
    history = train(rnn, hmm, n_steps, progress=progress, should_stop=should_stop, **common)
    seconds_train = time.perf_counter() - t0
    taken = n_steps
    if state["stopped"]:
        taken = int(history.meta.get("steps_run", n_steps))
    report = compare(rnn, hmm, n_sequences=n_sequences, length=settings["length"],
                     seed=seed + 1000)
    return Emulator(rnn=rnn, hmm=hmm, report=report, settings=settings, sources=sources,
                    n_steps=int(taken), seconds_train=float(seconds_train),
                    seconds=float(time.perf_counter() - t_start), budget_s=budget_s,
                    stopped_early=bool(state["stopped"]), history=history)
