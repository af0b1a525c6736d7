"""The default grokking recipe: a run that groks on a CPU in seconds, on every task and modulus.

MLP on summed embeddings (E_a[a] + E_b[b], x² activation) → p logits, full-batch AdamW
(β = (0.9, 0.98), weight decay 1), cross-entropy. What must change with the task and the
modulus p is set by documented rules (:data:`RULES`, :func:`recipe_settings`) wherever a
setting is left at ``"auto"``:

- ``train_fraction`` = min(0.8, 6·ln p / p): a fixed multiple of the ln p / p scaling of
  the critical data fraction (Tian 2025 gives 2.75·ln M / M for his one-hot setting);
  0.82 → 0.8 at p = 23, 0.28 at p = 97, 0.15 at p = 211. Below 3·ln p / p the recipe warns
  (:class:`NotExpectedToGrok`, naming ``train_fraction``): too little data.
- ``hidden`` = max(128, the power of two ≥ p): 128 up to p = 128, 256 up to 256, ….
- ``lr`` = 1e-2 for the MLP (1e-3 for the transformer, Nanda et al.).
- ``n_steps`` = 3000 (an upper bound: the run stops ``stop_after`` steps after test
  accuracy first reaches 0.99).

The rules were chosen on a tuning subset (p ∈ {23, 97}, seed 0, every task) and judged on
the rest of ``benchmarks/grokking_panel.py`` (p ∈ {59, 113, 211} and seeds 1, 2), which
was not used to choose them. ``quadratic`` (a² + ab + b²) is not expected to grok with
this model: a two-layer x² network's a–b interaction is a sum of rank-one terms, and
χ(k·ab) has rank p for every frequency k, so it needs far more than the data it is given
(tuning runs at p = 23 with widths up to 1024, x² and ReLU, train fractions up to 0.9
reached test accuracy 0.91 at best); ``make_run`` warns, naming ``task``.

    history = tk.grokking.run_recipe("add", 97, seed=0)
    tk.grokking.steps_to_grok(history)     # GrokSteps(train=…, test=…, phases)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

from .._checks import one_of, positive
from ..probes.core import Probe, ProbeHistory

__all__ = ["DEFAULT_RECIPE", "RULES", "critical_fractions", "GrokkingRun", "make_run", "run_recipe",
           "recipe_probes", "recipe_settings", "expected_to_grok", "NotExpectedToGrok"]

AUTO = "auto"

#: the documented rules behind every ``"auto"`` setting (see the module docstring)
RULES = {
    "train_fraction": "min(0.8, 6·ln p / p); warn below 3·ln p / p",
    "hidden": "max(128, smallest power of two ≥ p) (transformer: d_mlp 512)",
    "lr": "1e-2 (MLP), 1e-3 (transformer)",
    "n_steps": "3000, an upper bound (stop_after ends the run once grokked)",
}
TRAIN_FRACTION_FACTOR = 6.0   # train_fraction = factor · ln p / p
MIN_FRACTION_FACTOR = 3.0     # below factor · ln p / p: not expected to grok
MAX_TRAIN_FRACTION = 0.8


class NotExpectedToGrok(UserWarning):
    """The recipe's rules say this setting is not expected to grok (too little data, or a
    task the model cannot generalise on); the message names the parameter."""

#: every override ``run_recipe`` accepts, with its default
DEFAULT_RECIPE = dict(
    train_fraction=AUTO,    # share of the p² pairs used for training (auto: RULES)
    model="mlp",            # "mlp" (EmbedMLP) or "transformer" (Nanda et al.)
    hidden=AUTO,            # MLP width (transformer: d_mlp) (auto: RULES)
    activation="square",    # "square" (x²) or "relu"
    embed="sum",            # MLP: "sum" or "concat"
    init_scale=1.0,         # MLP initialisation scale
    output_scale=1.0,       # α multiplying the MLP's logits (lazy ↔ rich)
    optimizer="adamw",      # "adamw" or "sgd"
    lr=AUTO,                # auto: RULES
    weight_decay=1.0,
    betas=(0.9, 0.98),
    momentum=0.0,           # SGD only
    batch_size=None,        # None: full batch
    loss="cross_entropy",   # or "stablemax", "mse"
    grokfast=None,          # None, "ema" or "ma"
    grokfast_lamb=None,
    warmup_steps=0,
    n_steps=3000,           # upper bound on optimiser steps
    stop_after=100,         # stop this many steps after test accuracy ≥ 0.99 (None: never)
    log_every=50,           # probe interval (steps)
    fourier_every=10,       # Fourier probe every so many logging steps (None: off)
    probes=None,            # None: recipe_probes(); or a list of Probes (replaces them)
    extra_probes=(),        # added to the default probes
)


def recipe_probes(model, task, *, fourier_every: int | None = 10) -> list[Probe]:
    """The recipe's default probes: loss and accuracy on train and test, weight norm,
    gradient norm, movement from initialisation, softmax collapse (every 5th log) and,
    every ``fourier_every`` logs, the Fourier probe (odd p only)."""
    from .. import probes as P
    from .fourier import fourier_probe

    out = [P.loss_and_accuracy(), P.weight_norm(), P.gradient_norm(),
           P.parameter_movement(model), P.softmax_collapse(every=5)]
    if fourier_every is not None and task.p % 2 == 1:
        out.append(fourier_probe(task, every=positive(fourier_every, "fourier_every",
                                                      integer=True)))
    return out


class GrokkingRun:
    """A configured run: ``.task``, ``.model``, ``.data``, ``.probes``, ``.settings``.

    ``.train()`` trains it (once) and returns the history; ``.snapshots`` keeps the model
    state at every logging step when ``keep_snapshots=True`` (for step sliders).
    """

    def __init__(self, task, model, settings: dict, probes: list[Probe]):
        self.task, self.model, self.settings, self.probes = task, model, settings, probes
        self.data = task.splits()
        self.history: ProbeHistory | None = None
        self.snapshots: dict[int, dict] = {}

    def train(self, *, on_log: Callable | None = None, should_stop: Callable | None = None,
              progress: bool = True, keep_snapshots: bool = False) -> ProbeHistory:
        from ..training import snapshot
        from .train import train

        if self.history is not None:
            raise RuntimeError("train: this run has been trained already; make a new one")
        s = self.settings
        state = {"step": 0, "grokked": None}
        if keep_snapshots:
            self.snapshots[0] = snapshot(self.model)

        def log(step, values):
            acc = values.get("test/accuracy")
            if state["grokked"] is None and acc is not None and acc >= 0.99:
                state["grokked"] = step
            if keep_snapshots:
                self.snapshots[step] = snapshot(self.model)
            if on_log is not None:
                on_log(step, values)

        def stop():
            state["step"] += 1
            if should_stop is not None and should_stop():
                return True
            g = state["grokked"]
            return s["stop_after"] is not None and g is not None and \
                state["step"] >= g + s["stop_after"]

        self.history = train(
            self.model, self.data, s["n_steps"], optimizer=s["optimizer"], lr=s["lr"],
            weight_decay=s["weight_decay"], betas=s["betas"], momentum=s["momentum"],
            batch_size=s["batch_size"], loss=s["loss"], grokfast=s["grokfast"],
            grokfast_lamb=s["grokfast_lamb"], warmup_steps=s["warmup_steps"],
            probes=self.probes, log_every=s["log_every"], on_log=log, should_stop=stop,
            progress=progress, seed=s["seed"], meta=_json_settings(s))
        return self.history

    def model_at(self, step: int):
        """A copy of the model at a logged step (needs ``keep_snapshots=True``)."""
        import copy

        if step not in self.snapshots:
            raise KeyError(f"step: no snapshot at {step}; have {sorted(self.snapshots)[:5]}…")
        m = copy.deepcopy(self.model)
        m.load_state_dict(self.snapshots[step])
        return m


def _json_settings(s):
    out = {}
    for k, v in s.items():
        if k in ("probes", "extra_probes"):
            continue
        out[k] = list(v) if isinstance(v, tuple) else v
    return out


def _is_auto(v) -> bool:
    return isinstance(v, str) and v == AUTO


def critical_fractions(p: int) -> tuple[float, float]:
    """(the smallest train fraction the recipe expects to grok with, the fraction it uses):
    (3·ln p / p, min(0.8, 6·ln p / p))."""
    p = positive(p, "p", integer=True)
    if p < 2:
        raise ValueError(f"p: must be at least 2, got {p}")
    scale = math.log(p) / p
    return MIN_FRACTION_FACTOR * scale, min(MAX_TRAIN_FRACTION, TRAIN_FRACTION_FACTOR * scale)


def expected_to_grok(task: str, p: int, train_fraction: float, model: str = "mlp"):
    """``(True, "")`` if the recipe's rules expect ``task`` mod ``p`` to grok with this much
    data, else ``(False, why)``, ``why`` naming the parameter at fault."""
    from .tasks import OPERATIONS

    one_of(task, "task", OPERATIONS)
    if task == "quadratic" and model == "mlp":
        return False, ("task: 'quadratic' (a² + ab + b²) is not expected to grok with the MLP "
                       "recipe (its a·b term needs rank p per frequency; tuning runs at p = 23 "
                       "up to train_fraction 0.9 and width 1024 stayed below 0.99 test "
                       "accuracy)")
    low, _ = critical_fractions(p)
    if train_fraction < low:
        return False, (f"train_fraction: {train_fraction:g} is below 3·ln p / p = {low:.3f} "
                       f"for p = {p}: too little data, not expected to grok")
    return True, ""


def recipe_settings(task: str = "add", p: int = 97, **overrides) -> dict:
    """Every setting of the recipe for ``task`` mod ``p``, with the ``"auto"`` ones resolved
    by :data:`RULES` (overrides win). Adds ``auto`` (the names that were resolved) and
    ``expected_to_grok`` / ``why_not`` (see :func:`expected_to_grok`)."""
    unknown = sorted(set(overrides) - set(DEFAULT_RECIPE))
    if unknown:
        raise TypeError(f"overrides: unknown {unknown}; run_recipe accepts "
                        f"{sorted(DEFAULT_RECIPE)}")
    s = dict(DEFAULT_RECIPE, **overrides)
    one_of(s["model"], "model", ("mlp", "transformer"))
    p = positive(p, "p", integer=True)
    auto = sorted(k for k, v in s.items() if _is_auto(v))
    transformer = s["model"] == "transformer"
    if _is_auto(s["train_fraction"]):
        s["train_fraction"] = round(critical_fractions(p)[1], 4)
    if _is_auto(s["hidden"]):
        s["hidden"] = 512 if transformer else max(128, 1 << max(0, (p - 1).bit_length()))
    if _is_auto(s["lr"]):
        s["lr"] = 1e-3 if transformer else 1e-2
    if _is_auto(s["n_steps"]):
        s["n_steps"] = 3000
    for k in ("train_fraction", "lr", "hidden", "n_steps"):
        if isinstance(s[k], str):
            raise ValueError(f"{k}: expected a number or 'auto', got {s[k]!r}")
    ok, why = expected_to_grok(task, p, float(s["train_fraction"]), s["model"])
    s.update(auto=auto, expected_to_grok=ok, why_not=why)
    return s


def make_run(task: str = "add", p: int = 97, seed: int = 0, **overrides) -> GrokkingRun:
    """Build the recipe's task, model and probes without training (see :func:`run_recipe`
    for the overrides). Warns :class:`NotExpectedToGrok` when the rules say it won't grok."""
    from .models import ACTIVATIONS, EmbedMLP, Transformer
    from .tasks import OPERATIONS, modular_task

    one_of(task, "task", OPERATIONS)
    s = recipe_settings(task, p, **overrides)
    one_of(s["activation"], "activation", ACTIVATIONS)
    positive(s["n_steps"], "n_steps", integer=True)
    positive(s["hidden"], "hidden", integer=True)
    if s["stop_after"] is not None:
        positive(s["stop_after"], "stop_after", strict=False, integer=True)
    data_task = modular_task(task, p, s["train_fraction"], seed)
    if not s["expected_to_grok"]:
        warnings.warn(s["why_not"], NotExpectedToGrok, stacklevel=3)
    if s["model"] == "mlp":
        model = EmbedMLP(p, s["hidden"], activation=s["activation"], embed=s["embed"],
                         init_scale=s["init_scale"], output_scale=s["output_scale"], seed=seed)
    else:
        model = Transformer(p, d_mlp=s["hidden"], activation=s["activation"], seed=seed)
    if s["probes"] is None:
        probes = recipe_probes(model, data_task, fourier_every=s["fourier_every"])
    else:
        probes = list(s["probes"])
    probes += list(s["extra_probes"])
    for pr in probes:
        if not isinstance(pr, Probe):
            raise TypeError(f"probes: expected Probe objects, got {type(pr).__name__}")
    s.update(task=task, p=int(p), seed=int(seed))
    return GrokkingRun(data_task, model, s, probes)


def run_recipe(task: str = "add", p: int = 97, seed: int = 0, *, on_log: Callable | None = None,
               progress: bool = True, **overrides) -> ProbeHistory:
    """Run the default grokking recipe and return its probe history.

    ``task``: ``"add"``, ``"subtract"``, ``"multiply"``, ``"divide"`` or ``"quadratic"``;
    ``p``: the modulus (prime for multiply/divide); ``seed``: data split and init.
    ``on_log(step, values)`` is called at every logging step (``tk.viz.LiveCurves.update``);
    ``progress=False`` runs silently.

    Overrides (defaults in ``DEFAULT_RECIPE``; ``"auto"`` follows :data:`RULES`):
    ``train_fraction`` (auto: min(0.8, 6·ln p / p)), ``model`` ("mlp" | "transformer"),
    ``hidden`` (auto: max(128, power of two ≥ p)), ``activation`` ("square" | "relu"),
    ``embed`` ("sum" | "concat"), ``init_scale`` (1), ``output_scale`` (α, 1),
    ``optimizer`` ("adamw" | "sgd"), ``lr`` (auto: 1e-2), ``weight_decay`` (1), ``betas``
    ((0.9, 0.98)), ``momentum`` (0), ``batch_size`` (None = full batch), ``loss``
    ("cross_entropy" | "stablemax" | "mse"), ``grokfast`` (None | "ema" | "ma"),
    ``grokfast_lamb``, ``warmup_steps`` (0), ``n_steps`` (3000, an upper bound),
    ``stop_after`` (stop 100 steps after test accuracy ≥ 0.99; None runs all n_steps),
    ``log_every`` (50), ``fourier_every`` (10 logs; None turns the Fourier probe off),
    ``probes`` (replace the default probes), ``extra_probes`` (add to them).

    A setting the rules do not expect to grok (too little data, or ``"quadratic"``) warns
    :class:`NotExpectedToGrok` naming the parameter, and runs anyway. The history's
    ``meta`` holds every setting (auto ones resolved, listed in ``meta["auto"]``, and
    ``expected_to_grok``); :func:`steps_to_grok` reads it.
    """
    return make_run(task, p, seed, **overrides).train(on_log=on_log, progress=progress)
