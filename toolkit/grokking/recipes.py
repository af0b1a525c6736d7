"""The default grokking recipe: a run that groks on a CPU in seconds.

MLP on summed embeddings (E_a[a] + E_b[b], 256 hidden units, x² activation) → p logits,
30% of the pairs for training, full-batch AdamW (lr 3e-3, β = (0.9, 0.98), weight decay
1), cross-entropy. On (a + b) mod 97 train accuracy reaches 99% within about a hundred
steps and test accuracy a thousand steps later.

    history = tk.grokking.run_recipe("add", 97, seed=0)
    tk.grokking.steps_to_grok(history)          # GrokSteps(train=..., test=...)
"""

from __future__ import annotations

from collections.abc import Callable

from .._checks import one_of, positive
from ..probes.core import Probe, ProbeHistory

__all__ = ["DEFAULT_RECIPE", "GrokkingRun", "make_run", "run_recipe", "recipe_probes"]

#: every override ``run_recipe`` accepts, with its default
DEFAULT_RECIPE = dict(
    train_fraction=0.3,     # share of the p² pairs used for training
    model="mlp",            # "mlp" (EmbedMLP) or "transformer" (Nanda et al.)
    hidden=256,             # MLP width (transformer: d_mlp)
    activation="square",    # "square" (x²) or "relu"
    embed="sum",            # MLP: "sum" or "concat"
    init_scale=1.0,         # MLP initialisation scale
    output_scale=1.0,       # α multiplying the MLP's logits (lazy ↔ rich)
    optimizer="adamw",      # "adamw" or "sgd"
    lr=3e-3,
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


def make_run(task: str = "add", p: int = 97, seed: int = 0, **overrides) -> GrokkingRun:
    """Build the default recipe's task, model and probes without training (see
    :func:`run_recipe` for the overrides)."""
    from .models import ACTIVATIONS, EmbedMLP, Transformer
    from .tasks import OPERATIONS, modular_task

    one_of(task, "task", OPERATIONS)
    unknown = sorted(set(overrides) - set(DEFAULT_RECIPE))
    if unknown:
        raise TypeError(f"overrides: unknown {unknown}; run_recipe accepts "
                        f"{sorted(DEFAULT_RECIPE)}")
    s = dict(DEFAULT_RECIPE, **overrides)
    one_of(s["model"], "model", ("mlp", "transformer"))
    one_of(s["activation"], "activation", ACTIVATIONS)
    positive(s["n_steps"], "n_steps", integer=True)
    if s["stop_after"] is not None:
        positive(s["stop_after"], "stop_after", strict=False, integer=True)
    data_task = modular_task(task, p, s["train_fraction"], seed)
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

    Overrides (defaults in ``DEFAULT_RECIPE``): ``train_fraction`` (0.3), ``model``
    ("mlp" | "transformer"), ``hidden`` (256), ``activation`` ("square" | "relu"),
    ``embed`` ("sum" | "concat"), ``init_scale`` (1), ``output_scale`` (α, 1),
    ``optimizer`` ("adamw" | "sgd"), ``lr`` (3e-3), ``weight_decay`` (1), ``betas``
    ((0.9, 0.98)), ``momentum`` (0), ``batch_size`` (None = full batch), ``loss``
    ("cross_entropy" | "stablemax" | "mse"), ``grokfast`` (None | "ema" | "ma"),
    ``grokfast_lamb``, ``warmup_steps`` (0), ``n_steps`` (3000, an upper bound),
    ``stop_after`` (stop 100 steps after test accuracy ≥ 0.99; None runs all n_steps),
    ``log_every`` (50), ``fourier_every`` (10 logs; None turns the Fourier probe off),
    ``probes`` (replace the default probes), ``extra_probes`` (add to them).

    The history's ``meta`` holds every setting; :func:`steps_to_grok` reads it.
    """
    return make_run(task, p, seed, **overrides).train(on_log=on_log, progress=progress)
