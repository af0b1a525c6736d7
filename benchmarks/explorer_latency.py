"""Benchmark: in-browser latency of every explorer control (median of 5 moves).

    python benchmarks/explorer_latency.py [--moves 5] [--notebooks alrnn koopman ...]

For each curated notebook with an explorer it starts JupyterLab on 127.0.0.1 (the
browser tests' set-up: a copy of the notebooks, quick mode, inline resources), opens the
notebook in Debian's Chromium, runs all cells, then moves each control of the explorer
``--moves`` times, the way a user would (a key press on a slider handle, the next option
of a dropdown, the other toggle button). A move's latency is the time from the action to
the last change it causes in what Bokeh draws (every plot's data, titles, axis labels,
colour maps and ranges, checked every 50 ms, quiet for 500 ms after the last change):
kernel work, transfer and the browser's redraw together. The target is 300 ms for every
control that does not retrain; the grokking explorer's Train button (which retrains, and
streams curves while it runs) is reported on its own row. Prints one table.
Needs /usr/bin/chromium (the browser tests install it with apt).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))

import lab_helpers as H  # noqa: E402
import pytest  # noqa: E402

TARGET = 0.300
GROKKING_SETTINGS = ("task", "p", "train fraction", "weight decay", "learning rate",
                     "activation", "output scale", "max steps", "probes")
NOTEBOOKS = {
    "alrnn": ("notebooks/alrnn_symbolic_coding.ipynb", None),
    "hmmrnn": ("notebooks/hmm_rnn_dissection.ipynb", None),
    "koopman": ("notebooks/koopman_spectra.ipynb", None),
    "grokking": ("notebooks/grokking_probes.ipynb", "Train"),
}


def measure(page, lab, notebook, run_button, moves):
    rows = []
    H.open_and_run(page, lab, notebook)
    for explorer in H.explorers(page):
        controls = H.controls_of(explorer)
        if run_button:
            button = next(c for k, c in controls if k == "button"
                          and H.label_of(c) == run_button)
            before = H.settle(page)
            t0 = time.perf_counter()
            button.click()
            H.wait_changed(page, before, f"{run_button} (first live update)", timeout=120)
            first = time.perf_counter() - t0
            H.wait_for(page, lambda b=button: not b.is_disabled(), 400, "the run to end", 1000)
            rows.append((notebook, f"button {run_button} (first curve update)", [first], True))
            rows.append((notebook, f"button {run_button} (whole run)",
                         [time.perf_counter() - t0], True))
        for kind, control in controls:
            label = H.label_of(control)
            if kind == "button" or (run_button and
                                    any(label.startswith(s) for s in GROKKING_SETTINGS)):
                continue   # settings of the next training run change nothing drawn
            times = []
            for _ in range(moves):
                before = H.settle(page)
                t0 = time.perf_counter()
                H.move(page, kind, control)
                try:
                    _, t_last = H.wait_settled(page, before, f"{kind} {label!r}", timeout=20)
                except pytest.fail.Exception:   # this move drew nothing new: counted apart
                    times.append(None)
                    continue
                times.append(t_last - t0)
            rows.append((notebook, f"{kind} {label}", times, False))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=5)
    parser.add_argument("--notebooks", nargs="*", default=list(NOTEBOOKS),
                        choices=list(NOTEBOOKS))
    args = parser.parse_args(argv)
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        sys.exit("needs /usr/bin/chromium (apt-get install chromium)")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    rows = []
    t_start = time.time()
    with tempfile.TemporaryDirectory(prefix="dynalens_latency_") as root, \
            H.start_lab(root) as lab:
        for name in args.notebooks:
            notebook, run_button = NOTEBOOKS[name]
            with H.chromium_page(chromium) as page:
                rows += measure(page, lab, notebook, run_button, args.moves)
            H.shutdown_kernels(lab)
    print(f"\nexplorer latency in JupyterLab + Chromium (1400 px), median of {args.moves} "
          f"moves; load average at the end {os.getloadavg()[0]:.2f} on {os.cpu_count()} "
          f"cores; {time.time() - t_start:.0f} s in all\n")
    print(f"{'explorer':28s} {'control':40s} {'median ms':>9s} {'max ms':>7s}  ≤ 300 ms"
          "  (moves that changed nothing drawn)")
    for notebook, control, all_times, retrains in rows:
        times = [t for t in all_times if t is not None]
        idle = len(all_times) - len(times)
        if not times:
            print(f"{Path(notebook).stem:28s} {control[:40]:40s} {'—':>9s} {'—':>7s}  "
                  f"NO ({idle} of {len(all_times)} moves changed nothing)")
            continue
        med, worst = statistics.median(times) * 1000, max(times) * 1000
        verdict = "(retrains)" if retrains else ("yes" if med <= TARGET * 1000 else "NO")
        print(f"{Path(notebook).stem:28s} {control[:40]:40s} {med:9.0f} {worst:7.0f}  "
              f"{verdict}" + (f" ({idle} unchanged)" if idle else ""))


if __name__ == "__main__":
    main()
