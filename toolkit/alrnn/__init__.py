"""Almost-linear RNNs: fast training, symbolic codes of linear regions, exact cycles.

Brenner, Hemmer, Monfared, Durstewitz, "Almost-Linear RNNs Yield Highly Interpretable
Symbolic Codes in Dynamical Systems Reconstruction" (NeurIPS 2024); Hess et al.,
"Generalized Teacher Forcing" (ICML 2023); Eisenmann et al. (NeurIPS 2023, SCYFI).

    model = tk.alrnn.load_pretrained("lorenz63")
    x, z = model.generate(x0, 10_000, return_latent=True)
    code = tk.alrnn.symbolic_code(model, z)          # regions, graph, entropy, ...
    cycles = tk.alrnn.find_cycles(model, max_period=8)
"""

from .calibrate import Calibration, calibrate
from .cycles import Cycle, CycleSet, find_cycles
from .evaluate import Evaluation, evaluate
from .explore import explore
from .model import ALRNN, OrbitDiverged, region_bits, region_ids
from .panel import Panel, PanelRow, judge, run_panel, surrogate_dstsp, verdicts
from .pretrained import PRETRAINED, load_pretrained
from .reconstruct import (
    Reconstruction,
    ReconstructionFailed,
    bounded_run,
    delay_embed,
    reconstruct,
)
from .symbolic import SymbolicCode, region_label, symbolic_code, topological_entropy
from .train import free_run_scores, train

__all__ = ["ALRNN", "train", "free_run_scores", "symbolic_code", "SymbolicCode",
           "topological_entropy", "region_label", "region_ids", "region_bits",
           "find_cycles", "Cycle", "CycleSet", "evaluate", "Evaluation",
           "load_pretrained", "PRETRAINED", "explore", "calibrate", "Calibration",
           "reconstruct", "Reconstruction", "ReconstructionFailed", "delay_embed",
           "bounded_run", "OrbitDiverged", "run_panel", "Panel", "PanelRow", "judge",
           "surrogate_dstsp", "verdicts"]
