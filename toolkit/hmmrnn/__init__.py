"""RNNs that emulate hidden Markov models, and their dissection.

Follows Torre, Viscione, Pompe, Grewe & Mante, "Mechanistic Interpretability of RNNs
emulating Hidden Markov Models" (NeurIPS 2025)::

    import toolkit as tk
    rnn = tk.hmmrnn.load_pretrained("linear_chain_2")
    hmm = tk.hmmrnn.pretrained_hmm("linear_chain_2")
    tk.hmmrnn.compare(rnn, hmm).plot()                    # does it emulate the HMM?
    tk.hmmrnn.kick_neurons(rnn)                          # who starts the transitions?
    tk.hmmrnn.explore(rnn, hmm)                          # everything, with sliders

    em = tk.hmmrnn.emulate(my_hmm, budget_s=600)         # any HMM (or hmmlearn model)
    em.report.verdicts.to_frame()                        # a verdict per check

Modules: ``hmm`` (HMMs, sampling, exact statistics), ``model`` (the noise-driven RNN),
``train`` (fast statistics objective; the Sinkhorn reference recipe), ``emulate`` (one
call from any HMM to a checked emulator), ``compare`` (whole-distribution verdicts),
``dissect`` (fixed point, orbits, residency, Jacobians, noise sensitivity), ``kick``
(kick-neuron detector, ablation), ``evolution`` (over training checkpoints),
``pretrained``, ``explore``.
"""

from .compare import (
    TOLERANCES,
    Check,
    Emulation,
    Verdicts,
    bigram_matrix,
    compare,
    dwell_histogram,
    dwell_times,
    emission_marginals,
    ngram_counts,
    permutation_tv_test,
    shuffle_symbols,
    switch_rate,
    total_variation,
)
from .dissect import (
    RESIDENCY_CLASSES,
    FixedPoint,
    JacobianSpectra,
    NoiseSensitivity,
    Orbit,
    Residency,
    cayley,
    fixed_point,
    jacobian_spectra,
    noise_sensitivity,
    orbit,
    residency,
)
from .emulate import (
    MIN_STEPS,
    Emulator,
    check_emulable,
    emulate,
    emulation_settings,
    temporal_information,
)
from .evolution import TrainingEvolution, change_point, load_checkpoints, training_evolution
from .explore import explore
from .hmm import HMM, HMM_NAMES, as_hmm, cyclic, fully_connected, linear_chain, make_hmm
from .kick import (
    Ablation,
    KickNeurons,
    ablate,
    ablation_test,
    detect_kick_neurons,
    expected_switch_rate,
    kick_neurons,
    strongest_inputs,
    switch_triggered_activity,
)
from .model import NoiseRNN, noise, run, sample
from .pretrained import (
    PRETRAINED,
    load_pretrained,
    pretrained_checkpoints,
    pretrained_hmm,
    pretrained_info,
)
from .sinkhorn import flatten_onehot, sinkhorn_divergence
from .train import (
    StatisticsObjective,
    default_length,
    emulation_probes,
    length_rule,
    statistics_loss,
    train,
)

__all__ = [
    "HMM", "HMM_NAMES", "linear_chain", "fully_connected", "cyclic", "make_hmm", "as_hmm",
    "NoiseRNN", "sample", "run", "noise",
    "train", "StatisticsObjective", "statistics_loss", "default_length", "length_rule",
    "emulation_probes",
    "emulate", "Emulator", "check_emulable", "emulation_settings", "temporal_information",
    "MIN_STEPS",
    "sinkhorn_divergence", "flatten_onehot",
    "compare", "Emulation", "emission_marginals", "bigram_matrix", "switch_rate",
    "dwell_times", "dwell_histogram", "shuffle_symbols", "Verdicts", "Check", "TOLERANCES",
    "ngram_counts", "total_variation", "permutation_tv_test",
    "fixed_point", "FixedPoint", "orbit", "Orbit", "residency", "Residency",
    "RESIDENCY_CLASSES", "jacobian_spectra", "JacobianSpectra", "noise_sensitivity",
    "NoiseSensitivity", "cayley",
    "kick_neurons", "detect_kick_neurons", "KickNeurons", "ablate", "ablation_test",
    "Ablation", "expected_switch_rate", "strongest_inputs", "switch_triggered_activity",
    "training_evolution", "TrainingEvolution", "load_checkpoints", "change_point",
    "load_pretrained", "pretrained_hmm", "pretrained_checkpoints", "pretrained_info",
    "PRETRAINED",
    "explore",
]
