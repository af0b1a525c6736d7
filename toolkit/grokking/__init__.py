"""Grokking and learning dynamics: tasks, models, training, Fourier probes, theory, explorer.

    history = tk.grokking.run_recipe("add", 97, seed=0)     # groks on a CPU in seconds
    tk.grokking.steps_to_grok(history)                      # GrokSteps(train=…, test=…)
    tk.grokking.explore()                                   # widgets + live curves

Modules: ``tasks`` (modular arithmetic, Kumar's polynomial regression, Saxe's linear
task), ``models`` (EmbedMLP, Transformer, KumarNet, DeepLinear), ``train`` (AdamW/SGD,
Grokfast, StableMax on ``toolkit.training.fit``), ``fourier`` (spectra, key frequencies,
restricted/excluded loss), ``theory`` (Saxe, Kumar), ``summary`` (steps_to_grok,
phases), ``recipes`` (run_recipe and its rules), ``phase`` (phase_diagram), ``explore``;
``data/`` ships Nanda's transformer run.
"""

from .explore import explore  # the function (light: widgets load when called)
from .fourier import (
    EmbeddingSpectrum,
    KeyFrequencies,
    NeuronFrequencies,
    all_pairs,
    embedding_spectrum,
    excluded_loss,
    fourier_basis,
    fourier_probe,
    gini,
    key_frequencies_of_logits,
    model_logits,
    neuron_frequencies,
    restricted_loss,
    single_frequency_fraction,
)
from .models import DeepLinear, EmbedMLP, KumarNet, Transformer
from .phase import PhaseDiagram, phase_diagram
from .recipes import (
    DEFAULT_RECIPE,
    RULES,
    GrokkingRun,
    NotExpectedToGrok,
    critical_fractions,
    expected_to_grok,
    make_run,
    recipe_probes,
    recipe_settings,
    run_recipe,
)
from .summary import GrokkingPhases, GrokSteps, grokking_phases, steps_to_grok
from .tasks import (
    LinearTask,
    ModularTask,
    PolynomialTask,
    linear_task,
    modular_task,
    polynomial_task,
)
from .theory import (
    AlphaSweep,
    KumarStatistics,
    ModeDynamics,
    balanced_init,
    kumar_alpha_sweep,
    kumar_probe,
    kumar_statistics,
    mode_strength_probe,
    mode_strengths,
    monte_carlo_test_loss,
    saxe_learning_time,
    saxe_mode_strength,
    simulate_deep_linear,
    train_kumar,
)
from .train import GrokfastEMA, GrokfastMA, stablemax, stablemax_cross_entropy, train


def load_transformer_history():
    """The shipped probe history of Nanda et al.'s transformer on (a + b) mod 113
    (made by ``scripts/make_grokking_history.py``)."""
    from .data import load_transformer_history as _load

    return _load()


def load_transformer_model():
    """The final model of that run (a :class:`Transformer`)."""
    from .data import load_transformer_model as _load

    return _load()


__all__ = [
    "run_recipe", "make_run", "GrokkingRun", "DEFAULT_RECIPE", "recipe_probes",
    "recipe_settings", "RULES", "expected_to_grok", "critical_fractions", "NotExpectedToGrok",
    "phase_diagram", "PhaseDiagram",
    "steps_to_grok", "GrokSteps", "grokking_phases", "GrokkingPhases",
    "key_frequencies_of_logits", "KeyFrequencies", "embedding_spectrum", "EmbeddingSpectrum",
    "neuron_frequencies", "NeuronFrequencies", "single_frequency_fraction", "fourier_basis",
    "all_pairs", "gini", "restricted_loss", "excluded_loss", "fourier_probe", "model_logits",
    "EmbedMLP", "Transformer", "KumarNet", "DeepLinear",
    "modular_task", "ModularTask", "polynomial_task", "PolynomialTask", "linear_task",
    "LinearTask",
    "train", "stablemax", "stablemax_cross_entropy", "GrokfastEMA", "GrokfastMA",
    "saxe_mode_strength", "saxe_learning_time", "balanced_init", "mode_strengths",
    "mode_strength_probe", "simulate_deep_linear", "ModeDynamics", "kumar_statistics",
    "KumarStatistics", "monte_carlo_test_loss", "kumar_probe", "train_kumar",
    "kumar_alpha_sweep", "AlphaSweep",
    "explore", "load_transformer_history", "load_transformer_model",
]
