"""Probes and the history they fill.

A :class:`Probe` is a name and a function of ``(model, data)`` returning a number or a
dict of numbers. A trainer calls its probes every logging interval and returns a
:class:`ProbeHistory`: a tidy table (step, probe, value) that plots itself.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .._checks import positive
from .._result import Result

__all__ = ["Probe", "ProbeHistory", "HistoryRecorder", "probe"]


@dataclass(frozen=True)
class Probe:
    """A named measurement of a model during training.

    ``fn(model, data)`` returns a number, or a dict of numbers that are logged as
    ``f"{name}/{key}"`` (``name`` empty: keys as they are). ``every`` logs only at every
    ``every``-th logging step (for expensive probes such as the NTK).
    """

    name: str
    fn: Callable
    every: int = 1

    def __post_init__(self):
        if not callable(self.fn):
            raise TypeError(f"fn: probe {self.name!r} needs a callable, "
                            f"got {type(self.fn).__name__}")
        positive(self.every, "every", integer=True)

    def __call__(self, model, data) -> dict[str, float]:
        out = self.fn(model, data)
        if isinstance(out, Mapping):
            prefix = f"{self.name}/" if self.name else ""
            return {prefix + str(k): _to_float(v, f"{self.name}/{k}") for k, v in out.items()}
        return {self.name: _to_float(out, self.name)}


def probe(name: str = "", every: int = 1):
    """Decorator form: ``@probe("weight_norm")`` over ``def f(model, data): ...``."""
    def wrap(fn):
        return Probe(name or fn.__name__, fn, every)
    return wrap


def _to_float(v, name) -> float:
    if hasattr(v, "item"):
        v = v.item()
    if not isinstance(v, numbers.Real):
        raise TypeError(f"probe {name!r} returned {type(v).__name__}, expected a number")
    return float(v)


@dataclass(frozen=True)
class ProbeHistory(Result):
    """Values of probes over training, one row per logged step.

    ``steps`` (n,), ``values`` name → (n,) with NaN where a probe was not logged, and
    ``meta`` (JSON values: stop reason, timings, configuration).
    """

    steps: np.ndarray
    values: dict
    meta: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.values)

    def __len__(self) -> int:
        return len(self.steps)

    def __contains__(self, name) -> bool:
        return name in self.values

    def __getitem__(self, name):
        """The series of one probe, indexed by step (NaN rows dropped)."""
        import pandas as pd

        if name not in self.values:
            raise KeyError(f"name: no probe {name!r}; have {self.names}")
        s = pd.Series(self.values[name], index=pd.Index(self.steps, name="step"), name=name)
        return s.dropna()

    def last(self, name) -> float:
        s = self[name]
        return float(s.iloc[-1]) if len(s) else float("nan")

    def first_step(self, name, predicate: Callable[[float], bool]) -> int | None:
        """First logged step at which ``predicate(value)`` holds, else None."""
        s = self[name]
        hits = np.flatnonzero([bool(predicate(v)) for v in s.to_numpy()])
        return int(s.index[hits[0]]) if len(hits) else None

    def wide(self):
        """One row per step, one column per probe."""
        import pandas as pd

        return pd.DataFrame(self.values, index=pd.Index(self.steps, name="step"))

    def to_frame(self):
        """Tidy table with columns step, probe, value."""
        return (self.wide().reset_index().melt(id_vars="step", var_name="probe",
                                               value_name="value").dropna())

    def plot(self, names: Iterable[str] | str | None = None, *, logy: bool = False,
             title: str = ""):
        """Curves of the chosen probes (default: all) against step, one overlay."""
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        if isinstance(names, str):
            names = [names]
        names = list(names) if names is not None else self.names
        curves = []
        for i, name in enumerate(names):
            s = self[name]
            curves.append(hv.Curve((s.index.to_numpy(), s.to_numpy()), "step", "value",
                                   label=name).opts(color=PALETTE[i % len(PALETTE)]))
        return hv.Overlay(curves).opts(title=title, logy=logy)


class HistoryRecorder:
    """Mutable collector used inside training loops; ``.freeze()`` gives a ProbeHistory."""

    def __init__(self):
        self._rows: list[tuple[int, dict[str, float]]] = []

    def log(self, step: int, values: Mapping[str, float]):
        if self._rows and self._rows[-1][0] == step:
            self._rows[-1][1].update(values)
        else:
            self._rows.append((int(step), dict(values)))

    def __len__(self):
        return len(self._rows)

    def steps(self) -> list[int]:
        return [s for s, _ in self._rows]

    def freeze(self, meta: dict | None = None) -> ProbeHistory:
        names: list[str] = []
        for _, row in self._rows:
            names.extend(k for k in row if k not in names)
        steps = np.array([s for s, _ in self._rows], dtype=np.int64)
        values = {n: np.array([row.get(n, np.nan) for _, row in self._rows], dtype=float)
                  for n in names}
        return ProbeHistory(steps, values, dict(meta or {}))
