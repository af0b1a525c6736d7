"""Grids of parameter points, the stable key of each point and the seed it gets.

A point is a dict of plain JSON values (numbers, strings, booleans, None, lists of
those). Its **key** is the first 16 hex digits of the SHA-256 of its canonical JSON
(keys sorted, no spaces, floats written as Python's shortest round-trip repr), so the
same point has the same key on every machine and in every Python session. Its **seed**
is the first 32 bits of that key, ``int(key[:8], 16)``: a number in ``[0, 2**32)`` that
numpy, torch and scikit-learn all accept.

Values are normalised before hashing: numpy scalars become ``int``/``float``/``bool``
and tuples become lists. ``1`` and ``1.0`` are different points (as in JSON).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import numbers
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["expand_grid", "point_key", "point_seed", "canonical"]


def _plain(value, name: str):
    """``value`` as a plain JSON value, or an error naming the parameter ``name``."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"grid: parameter {name!r} has the value {value!r}; "
                             "parameter values must be finite")
        return value
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v, name) for v in value]
    if isinstance(value, Mapping):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise TypeError(f"grid: parameter {name!r} holds a dict with a non-string key "
                            f"{bad[0]!r}")
        return {k: _plain(v, name) for k, v in value.items()}
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    raise TypeError(f"grid: parameter {name!r} has a value of type {type(value).__name__} "
                    f"({text}); use numbers, strings, booleans, None, or lists of those")


def canonical(point: Mapping) -> str:
    """The canonical JSON text of a point (what its key hashes)."""
    plain = {k: _plain(v, k) for k, v in point.items()}
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def point_key(point: Mapping) -> str:
    """Stable 16-hex-digit key of a point: SHA-256 of :func:`canonical`, truncated."""
    return hashlib.sha256(canonical(point).encode()).hexdigest()[:16]


def point_seed(point: Mapping) -> int:
    """The seed a point gets: the first 32 bits of its key, ``int(point_key(point)[:8], 16)``."""
    return int(point_key(point)[:8], 16)


def _check_name(name):
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"grid: parameter names must be valid Python identifiers (they are "
                         f"passed as keyword arguments), got {name!r}")


def expand_grid(grid) -> list[dict]:
    """The list of points of ``grid``, each a dict of plain values, in grid order.

    ``grid`` is either a dict of lists (every combination, the last parameter varying
    fastest, as in ``itertools.product``) or a list of dicts (the points themselves, all
    with the same parameter names). Duplicate points are an error.
    """
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError("grid: is empty; give a dict of lists such as "
                             "{'lr': [1e-3, 1e-2], 'width': [32, 64]} or a list of dicts")
        columns = []
        for name, values in grid.items():
            _check_name(name)
            if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
                raise TypeError(f"grid: parameter {name!r} needs a list of values, got "
                                f"{type(values).__name__} (wrap a single value in a list)")
            values = [_plain(v, name) for v in values]
            if not values:
                raise ValueError(f"grid: parameter {name!r} has no values")
            seen = set()
            for v in values:
                text = json.dumps(v, sort_keys=True)
                if text in seen:
                    raise ValueError(f"grid: parameter {name!r} lists the value {v!r} twice")
                seen.add(text)
            columns.append(values)
        names = list(grid)
        return [dict(zip(names, combo)) for combo in itertools.product(*columns)]

    if isinstance(grid, str | bytes) or not isinstance(grid, Iterable):
        raise TypeError(f"grid: expected a dict of lists or a list of dicts, got "
                        f"{type(grid).__name__}")
    points = list(grid)
    if not points:
        raise ValueError("grid: is an empty list of points")
    first = None
    seen: dict[str, int] = {}
    out = []
    for i, p in enumerate(points):
        if not isinstance(p, Mapping):
            raise TypeError(f"grid: point {i} is a {type(p).__name__}, expected a dict of "
                            "parameter values")
        if not p:
            raise ValueError(f"grid: point {i} is an empty dict")
        for name in p:
            _check_name(name)
        if first is None:
            first = list(p)
        elif set(p) != set(first):
            raise ValueError(f"grid: point {i} has parameters {sorted(p)}, point 0 has "
                             f"{sorted(first)}; every point needs the same parameters")
        plain = {k: _plain(p[k], k) for k in first}
        text = canonical(plain)
        if text in seen:
            raise ValueError(f"grid: point {i} repeats point {seen[text]} ({plain})")
        seen[text] = i
        out.append(plain)
    return out
