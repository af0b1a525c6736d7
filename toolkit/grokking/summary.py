"""When did the model memorise, when did it generalise, and what happened in between.

:func:`steps_to_grok` reads the first steps at which train and test accuracy reach 0.99
and the three phases' boundaries; :func:`grokking_phases` splits a run into Nanda et al.'s
memorisation, circuit-formation and clean-up phases (operational definitions in its
docstring).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import in_range
from .._result import Result

__all__ = ["steps_to_grok", "GrokSteps", "grokking_phases", "GrokkingPhases"]


def _spans(memorised, cleanup_start, generalised) -> dict:
    b = [0, memorised, cleanup_start, generalised]
    names = ["memorisation", "circuit formation", "clean-up"]
    return {n: (b[i], b[i + 1]) for i, n in enumerate(names)
            if b[i] is not None and b[i + 1] is not None}


@dataclass(frozen=True, repr=False)
class GrokSteps(Result):
    """First logged steps at which train and test accuracy reached ``threshold`` (None if
    never), their ratio ``delay_ratio`` = test / train, and ``cleanup_start`` (the start of
    the clean-up phase, see :func:`grokking_phases`; None without logged losses).

    ``phases``: {"memorisation": (0, train), "circuit formation": (train, cleanup_start),
    "clean-up": (cleanup_start, test)}, the phases that were reached.
    """

    train: int | None
    test: int | None
    threshold: float = 0.99
    cleanup_start: int | None = None

    @property
    def phases(self) -> dict:
        return _spans(self.train, self.cleanup_start, self.test)

    @property
    def delay_ratio(self) -> float:
        if self.train is None or self.test is None or self.train == 0:
            return float("nan")
        return self.test / self.train

    @property
    def grokked(self) -> bool:
        return self.test is not None

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"split": ["train", "test"], "step": [self.train, self.test],
                             "threshold": self.threshold})

    def plot(self):
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        f = self.to_frame().dropna()
        return hv.Bars(f, "split", "step").opts(color=PALETTE[0],
                                                title=f"first step with accuracy ≥ "
                                                      f"{self.threshold:g}")

    def __repr__(self):
        phases = ", ".join(f"{n} {s}–{e}" for n, (s, e) in self.phases.items())
        return (f"GrokSteps(train={self.train}, test={self.test}, threshold={self.threshold}"
                + (f"; phases: {phases}" if phases else "") + ")")


def _accuracy_name(history, split):
    for name in (f"{split}/accuracy", f"{split}/acc"):
        if name in history:
            return name
    raise KeyError(f"history: no {split!r} accuracy logged (expected '{split}/accuracy'); "
                   f"have {history.names}")


def _crossings(history, threshold):
    in_range(threshold, "threshold", 0, 1)
    return [history.first_step(_accuracy_name(history, split), lambda v: v >= threshold)
            for split in ("train", "test")]


def _cleanup_start(test_loss, train_step, test_step, cleanup_fraction):
    if train_step is None or test_step is None or test_step <= train_step:
        return None
    window = test_loss[(test_loss.index >= train_step) & (test_loss.index <= test_step)]
    logs = np.log(np.maximum(window.to_numpy(), 1e-300))
    peak = int(np.argmax(logs))
    level = logs[peak] - cleanup_fraction * (logs[peak] - logs[-1])
    below = np.flatnonzero(logs[peak:] <= level)
    return int(window.index[peak + below[0]]) if len(below) else int(test_step)


def steps_to_grok(history, threshold: float = 0.99, *,
                  cleanup_fraction: float = 0.25) -> GrokSteps:
    """First logged steps at which ``train/accuracy`` and ``test/accuracy`` reach
    ``threshold`` (default 0.99), None where it never happens, and the phases:
    memorisation [0, train), circuit formation [train, cleanup_start), clean-up
    [cleanup_start, test) (``cleanup_start`` as in :func:`grokking_phases`; None when the
    history has no ``test/loss``)."""
    train, test = _crossings(history, threshold)
    in_range(cleanup_fraction, "cleanup_fraction", 0, 1, inclusive=(False, False))
    cleanup = None
    if "test/loss" in history:
        cleanup = _cleanup_start(history["test/loss"], train, test, cleanup_fraction)
    return GrokSteps(train, test, float(threshold), cleanup)


@dataclass(frozen=True, repr=False)
class GrokkingPhases(Result):
    """Boundaries (steps) of the three phases; None where a phase was not reached.

    memorisation: [0, ``memorised``); circuit formation: [``memorised``,
    ``cleanup_start``); clean-up: [``cleanup_start``, ``generalised``).
    """

    memorised: int | None
    cleanup_start: int | None
    generalised: int | None
    steps: np.ndarray
    test_loss: np.ndarray
    train_loss: np.ndarray

    @property
    def spans(self) -> dict:
        return _spans(self.memorised, self.cleanup_start, self.generalised)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([{"phase": n, "start": s, "end": e}
                             for n, (s, e) in self.spans.items()])

    def plot(self, title: str = "grokking phases"):
        import holoviews as hv

        from ..viz import PALETTE, REGION_PALETTE, _ensure_theme

        _ensure_theme()
        els = [hv.VSpan(s, e, label=n).opts(color=REGION_PALETTE[i + 2], alpha=0.15)
               for i, (n, (s, e)) in enumerate(self.spans.items())]
        els.append(hv.Curve((self.steps, self.train_loss), "step", "loss",
                            label="train loss").opts(color=PALETTE[0]))
        els.append(hv.Curve((self.steps, self.test_loss), "step", "loss",
                            label="test loss").opts(color=PALETTE[1]))
        return hv.Overlay(els).opts(logy=True, title=title, width=640,
                                    legend_position="right")


def grokking_phases(history, *, threshold: float = 0.99,
                    cleanup_fraction: float = 0.25) -> GrokkingPhases:
    """Memorisation, circuit formation and clean-up (Nanda et al.), from the losses.

    - memorisation ends when train accuracy first reaches ``threshold``;
    - clean-up starts when the test loss, on a log scale, has come down by
      ``cleanup_fraction`` of the way from its peak after memorisation to its value when
      test accuracy first reaches ``threshold`` (the sharp fall of the test loss);
    - clean-up ends (generalisation) when test accuracy first reaches ``threshold``.
    """
    in_range(cleanup_fraction, "cleanup_fraction", 0, 1, inclusive=(False, False))
    g = steps_to_grok(history, threshold, cleanup_fraction=cleanup_fraction)
    for name in ("train/loss", "test/loss"):
        if name not in history:
            raise KeyError(f"history: no {name!r} logged; have {history.names}")
    test = history["test/loss"]
    train = history["train/loss"].reindex(test.index)
    steps = test.index.to_numpy()
    cleanup = _cleanup_start(test, g.train, g.test, cleanup_fraction)
    return GrokkingPhases(g.train, cleanup, g.test, steps, test_loss=test.to_numpy(),
                          train_loss=train.to_numpy())
