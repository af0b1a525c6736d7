"""Benchmark: what prefetching buys the koopman and hmmrnn explorers (kernel side).

    python benchmarks/explorer_prefetch.py [--moves 3] [--pause 1.5]

Each explorer is opened twice in the same run, with ``prefetch=False`` (the baseline)
and ``prefetch=True``, and rendered with HoloViews' Bokeh renderer as a notebook would.
Each control is then moved ``--moves`` times, one step at a time, with ``--pause``
seconds between moves (a user looking at the plot; the prefetch works in them). A
move's time is the kernel's: the widget callback, the compute and the Bokeh update,
not the browser's redraw (benchmarks/explorer_latency.py measures that). Prints the
median per control and the ratio prefetch / baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def koopman(prefetch):
    from toolkit import koopman as kp

    box = kp.explore("van_der_pol", dt=0.05, size=80, n_steps=2000, prefetch=prefetch)
    c = box.controls
    systems = list(c["system"].options)
    kinds = list(c["dictionary"].options)
    moves = {
        "system (next)": lambda k: setattr(c["system"], "value", systems[
            (systems.index(c["system"].value) + 1) % len(systems)]),
        "size N (+1)": lambda k: setattr(c["size"], "value", c["size"].value + 1),
        "dictionary (next)": lambda k: setattr(c["dictionary"], "value", kinds[
            (kinds.index(c["dictionary"].value) + 1) % len(kinds)]),
        "residual ε": lambda k: setattr(c["eps"], "value", [1e-2, 1e-3][k % 2]),
    }
    return box, list(box.dmaps.values()), moves


def hmmrnn(prefetch):
    import toolkit as tk

    rnn = tk.hmmrnn.load_pretrained("linear_chain_2")
    box = tk.hmmrnn.explore(rnn, tk.hmmrnn.pretrained_hmm("linear_chain_2"),
                            checkpoints=tk.hmmrnn.pretrained_checkpoints("linear_chain_2"),
                            length=1500, n_sequences=100, prefetch=prefetch)
    options = list(box.step.options)
    moves = {
        "gain (+0.1)": lambda k: setattr(box.gain, "value", round(box.gain.value + 0.1, 4)),
        "colour (toggle)": lambda k: setattr(box.color, "value", [
            "residency class", "argmax output"][k % 2]),
        "step (previous)": lambda k: setattr(box.step, "value", options[
            max(options.index(box.step.value) - 1, 0)]),
    }
    return box, [box.dmap], moves


def measure(make, prefetch, n_moves, pause):
    import holoviews as hv

    box, dmaps, moves = make(prefetch)
    renderer = hv.renderer("bokeh")
    _plots = [renderer.get_plot(d) for d in dmaps]   # noqa: F841 - keeps the streams live
    time.sleep(pause)
    out = {}
    for name, move in moves.items():
        times = []
        for k in range(n_moves):
            t0 = time.perf_counter()
            move(k)
            times.append(time.perf_counter() - t0)
            time.sleep(pause)
        out[name] = statistics.median(times) * 1000
    box.prefetched(60)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=3)
    parser.add_argument("--pause", type=float, default=1.5)
    args = parser.parse_args(argv)
    import toolkit as tk

    tk.viz.setup()
    t_start = time.time()
    rows = []
    for name, make in (("koopman", koopman), ("hmmrnn", hmmrnn)):
        base = measure(make, False, args.moves, args.pause)
        ahead = measure(make, True, args.moves, args.pause)
        rows += [(name, control, base[control], ahead[control]) for control in base]
    print(f"\nkernel-side time per move, median of {args.moves}, {args.pause} s between "
          f"moves; {os.cpu_count()} cores; {time.time() - t_start:.0f} s in all\n")
    print(f"{'explorer':10s} {'control':20s} {'baseline ms':>11s} {'prefetch ms':>11s} "
          f"{'ratio':>6s}")
    for name, control, b, a in rows:
        print(f"{name:10s} {control:20s} {b:11.0f} {a:11.0f} {a / b:6.2f}")


if __name__ == "__main__":
    main()
