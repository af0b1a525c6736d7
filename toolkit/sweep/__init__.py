"""Parameter sweeps that survive crashes and scale out on Dask.

    df = tk.sweep.run(fn, {"lr": [1e-3, 1e-2], "width": [32, 64]}, "runs/lr_width")
    df = tk.sweep.run(fn, grid, "runs/lr_width", client=Client(LocalCluster(n_workers=2)))

``fn(**point)`` returns a dict of numbers (and optionally arrays). Every finished point
is written at once, atomically, as one small JSON file under the store folder (arrays
next to it, with ``toolkit.io``), so a sweep killed at 90 % resumes with the last 10 %:
run the same call again. Each point gets a seed derived from the point itself
(:func:`point_seed`), so it computes the same in this process or on any Dask worker.

Dask is optional (the ``cluster`` extra): it is imported only when a client is given.
:mod:`toolkit.sweep.tasks` holds sweep-ready toolkit analyses (``grokking_point``,
``alrnn_point``) that Dask workers can import.
"""

from . import tasks
from .grid import canonical, expand_grid, point_key, point_seed
from .runner import compute_point, run
from .store import META_COLUMNS, StoreMismatch, load, load_arrays

__all__ = ["run", "load", "tasks", "load_arrays", "expand_grid", "point_key", "point_seed",
           "canonical", "compute_point", "StoreMismatch", "META_COLUMNS"]
