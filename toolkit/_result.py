"""Base class of every result: a frozen dataclass of arrays that can plot and tabulate itself."""

from __future__ import annotations

import dataclasses


class Result:
    """Mixin for frozen result dataclasses.

    Subclasses implement ``plot()`` (a HoloViews object) and ``to_frame()`` (a pandas
    DataFrame). ``save(path)`` stores the result with ``toolkit.io`` (safetensors + JSON).
    """

    def plot(self):  # pragma: no cover - overridden
        raise NotImplementedError(f"{type(self).__name__} has no plot()")

    def to_frame(self):  # pragma: no cover - overridden
        raise NotImplementedError(f"{type(self).__name__} has no to_frame()")

    def save(self, path, *, overwrite: bool = False):
        from . import io

        return io.save(self, path, overwrite=overwrite)

    def _repr_summary(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            shape = getattr(v, "shape", None)
            text = f"array{tuple(shape)}" if shape is not None else repr(v)
            parts.append(f"{f.name}={text}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __repr__(self) -> str:
        return self._repr_summary()
