"""Learning-dynamics probes shared by every trainer in the toolkit."""

from .core import HistoryRecorder, Probe, ProbeHistory, probe

__all__ = ["Probe", "ProbeHistory", "HistoryRecorder", "probe"]
