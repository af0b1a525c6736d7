"""Input validation shared by every public function.

Each check raises ``ValueError`` (or ``TypeError``) whose message starts with the
parameter's name, so a user sees at once which argument was wrong.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np


def as_array(
    x,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    min_length: int | None = None,
    finite: bool = True,
    dtype=float,
    shape: tuple[int | None, ...] | None = None,
) -> np.ndarray:
    """Convert ``x`` to an array and check it; errors name ``name``.

    ``min_length`` applies to the first axis (time or samples). ``shape`` may hold
    ``None`` for free axes.
    """
    if x is None:
        raise ValueError(f"{name}: expected an array, got None")
    try:
        if hasattr(x, "detach"):  # torch tensor
            x = x.detach().cpu().numpy()
        arr = np.asarray(x, dtype=dtype) if dtype is not None else np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: could not be read as a numeric array ({exc})") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name}: expected a {want}-D array, got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(
            s is not None and s != a for s, a in zip(shape, arr.shape)
        ):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name}: expected shape {want}, got {arr.shape}")
    if min_length is not None:
        n = arr.shape[0] if arr.ndim else 0
        if n < min_length:
            raise ValueError(f"{name}: series too short: {n} entries, need at least {min_length}")
    if finite and arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name}: contains {bad} NaN or infinite value(s)")
    return arr


def positive(value, name: str, *, strict: bool = True, integer: bool = False):
    """Check that ``value`` is a (strictly) positive number, optionally an integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    if integer and int(value) != value:
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    if (value <= 0) if strict else (value < 0):
        word = "positive" if strict else "non-negative"
        raise ValueError(f"{name}: must be {word}, got {value!r}")
    return int(value) if integer else value


def in_range(value, name: str, low=None, high=None, *, inclusive: tuple[bool, bool] = (True, True)):
    """Check ``low <= value <= high`` (bounds optional; inclusivity per side)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    lo_ok = low is None or (value >= low if inclusive[0] else value > low)
    hi_ok = high is None or (value <= high if inclusive[1] else value < high)
    if not (lo_ok and hi_ok):
        lb = "[" if inclusive[0] else "("
        rb = "]" if inclusive[1] else ")"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name}: must lie in {lb}{lo}, {hi}{rb}, got {value!r}")
    return value


def one_of(value, name: str, options: Iterable):
    """Check that ``value`` is one of ``options``."""
    options = list(options)
    if value not in options:
        raise ValueError(f"{name}: unknown value {value!r}; choose one of {options}")
    return value
