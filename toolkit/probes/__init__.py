"""Learning-dynamics probes shared by every trainer in the toolkit.

A probe is a name and a function of ``(model, data)``; a trainer calls its probes every
logging interval (``toolkit.training.fit``) and returns a :class:`ProbeHistory`. The
probes here work on any torch module. Unless a probe says otherwise, ``data`` is a dict
of named splits of (inputs, targets) tensors, ``{"train": (x, y), "test": (x, y)}``.

- :func:`loss_and_accuracy`: ``"<split>/loss"``, ``"<split>/accuracy"``
- :func:`weight_norm`, :func:`parameter_movement`, :func:`weight_effective_rank`,
  :func:`activation_effective_rank`
- :func:`gradient_norm`
- :func:`ntk_probe` (:func:`empirical_ntk`, :func:`ntk_alignment`, :func:`kernel_distance`)
- :func:`softmax_collapse`
- :func:`default_probes`: the cheap set every trainer can log by default
"""

from .core import HistoryRecorder, Probe, ProbeHistory, probe
from .gradients import gradient_norm, loss_gradient
from .loss import evaluate, loss_and_accuracy
from .ntk import empirical_ntk, jacobian, kernel_distance, ntk_alignment, ntk_probe
from .softmax import softmax_collapse, softmax_collapse_fraction
from .weights import (
    activation_effective_rank,
    effective_rank,
    parameter_movement,
    weight_effective_rank,
    weight_norm,
)

__all__ = ["Probe", "ProbeHistory", "HistoryRecorder", "probe", "loss_and_accuracy",
           "evaluate", "weight_norm", "parameter_movement", "effective_rank",
           "weight_effective_rank", "activation_effective_rank", "gradient_norm",
           "loss_gradient", "jacobian", "empirical_ntk", "ntk_alignment", "kernel_distance",
           "ntk_probe", "softmax_collapse", "softmax_collapse_fraction", "default_probes"]


def default_probes(model=None, splits=None) -> list:
    """Loss and accuracy on every split, weight norm, gradient norm (from the last step)
    and, given the model before training, the movement from initialisation."""
    out = [loss_and_accuracy(splits), weight_norm(), gradient_norm()]
    if model is not None:
        out.append(parameter_movement(model))
    return out
