"""Explorer: the dissection of one emulator in a single widget.

Every panel is a public call you can run headless:

* orbit: ``orbit(ablate(rnn, neurons, gain), length, seed, basis=orbit(rnn, ...))`` with
  colours from the argmax output or from ``residency(...)`` classes, kick neurons'
  activity marked;
* switch rate: ``switch_rate(sample(ablate(rnn, neurons, gain), ...))`` for the kick set
  and for a random control set;
* checkpoints: ``orbit(checkpoint_rnn, ..., basis=...)`` for the chosen training step.
"""

from __future__ import annotations

import html

import numpy as np

from .._checks import positive
from .._prefetch import Prefetch
from .compare import switch_rate
from .dissect import RESIDENCY_CLASSES, orbit, residency
from .hmm import HMM
from .kick import _units, ablate, detect_kick_neurons
from .model import check_rnn, sample

__all__ = ["explore"]


def explore(rnn, hmm: HMM | None = None, *, checkpoints=None, neurons=None,
            length: int = 3000, n_sequences: int = 300, seed: int = 0,
            prefetch: bool = True):
    """Widgets over the dissection of ``rnn`` (and its training ``checkpoints``: a list of
    (step, network) pairs or a folder, for the checkpoint slider).

    Controls: colour by argmax output or residency class; gain on the recurrent input of
    the kick neurons (``neurons``; default: detected, and where there is no clear kick
    set the header says why and the gain acts on the units the search came closest with)
    and, side by side, of a random control set of as many units; a training-step slider.
    The returned VBox keeps handles for headless use: ``box.gain``, ``box.color``,
    ``box.step`` (sliders), ``box.stream`` (the HoloViews stream), ``box.neurons``,
    ``box.controls``, ``box.rates`` (the last switch rates shown).

    ``prefetch``: after each change (and at open) a background thread computes what one
    step of a control away shows (gain ± 0.1, the other colouring, the neighbouring
    checkpoints); ``box.prefetched()`` waits for it. The orbits of the six gains and six
    checkpoints used last are held (``box.cached("orbit")``, ``box.cached("checkpoint")``);
    older ones are computed again when picked, so memory stays ~50 MB for a 150-unit net.
    """
    import holoviews as hv
    import ipywidgets as widgets

    from .. import viz
    from ..viz import PALETTE, REGION_PALETTE

    viz._ensure_theme()
    check_rnn(rnn, hmm.n_symbols if hmm is not None else None)
    length = positive(length, "length", integer=True)
    heading, note = "Kick neurons", ""
    if neurons is None:
        found = detect_kick_neurons(rnn)
        neurons = np.sort(found.neurons)
        if not found.found:
            # say so, and let the gain act on the units that come closest, not on nothing
            k = max(2, rnn.n_hidden // 10)
            neurons = np.sort(found.tried) if len(found.tried) else \
                np.sort(np.argsort(-found.single_drop)[:k])
            heading = "No clear kick set"
            note = (f" ({found.reason}); the gain acts on the {len(neurons)} units whose "
                    "silencing lowers the switch rate most:")
    else:
        neurons = _units(rnn, neurons)
    rng = np.random.default_rng(seed)
    others = np.setdiff1d(np.arange(rnn.n_hidden), neurons)
    controls = np.sort(rng.choice(others, min(len(neurons), len(others)), replace=False))
    base = orbit(rnn, length, seed)
    if checkpoints is not None:
        from pathlib import Path

        from .evolution import load_checkpoints

        if isinstance(checkpoints, str | Path):
            checkpoints = load_checkpoints(checkpoints)
        checkpoints = list(checkpoints)
    seq_len = 100
    if hmm is not None:
        from .train import default_length

        seq_len = default_length(hmm)
    # an orbit of a 150-unit emulator at length 4000 is ~4 MB: keep the six used last
    cache = Prefetch(prefetch, name="hmmrnn-prefetch", limits={"orbit": 6, "checkpoint": 6})
    visited = {1.0}   # the gains the switch-rate plot shows: those the user picked
    # one colour per output symbol and per residency class, the same in every panel
    symbols = [f"output {k}" for k in range(rnn.n_symbols)]
    symbol_colors = dict(zip(symbols, REGION_PALETTE))
    residency_colors = dict(zip(RESIDENCY_CLASSES, REGION_PALETTE[rnn.n_symbols:]))
    kick_list = ", ".join(str(int(n)) for n in neurons)

    def by_output(o):
        return np.asarray(symbols, dtype=object)[o.output]

    def rates(gain):
        return cache.get(("rates", round(float(gain), 4)), lambda: tuple(
            switch_rate(sample(ablate(rnn, s, gain), n_sequences, seq_len, seed=seed))
            for s in (neurons, controls)))

    def ablated(gain):
        def compute():
            net = ablate(rnn, neurons, gain)
            return net, orbit(net, length, seed, basis=base)

        return cache.get(("orbit", round(float(gain), 4)), compute)

    def classes(gain):
        def compute():
            net, o = ablated(gain)
            res = residency(net, o.hidden[::3], n_rollouts=8, seed=seed)
            return np.repeat(res.names, 3)[: len(o.pcs)]

        return cache.get(("residency", round(float(gain), 4)), compute)

    def scatter(gain, o, color_by, title):
        if color_by == "residency class":
            c = classes(gain)
            data = {"PC1": o.pcs[:, 0], "PC2": o.pcs[:, 1], "c": c}
            el = hv.Points(data, ["PC1", "PC2"], "c").opts(
                color="c", cmap=residency_colors, size=3)
        else:
            data = {"PC1": o.pcs[:, 0], "PC2": o.pcs[:, 1], "c": by_output(o)}
            el = hv.Points(data, ["PC1", "PC2"], "c").opts(color="c", cmap=symbol_colors,
                                                             size=3)
        # mark the steps where the kick neurons fire strongly
        if len(neurons):
            drive = o.hidden[:, neurons].sum(1)
            hot = drive > np.quantile(base.hidden[:, neurons].sum(1), 0.98)
            el = el * hv.Points((o.pcs[hot, 0], o.pcs[hot, 1]), ["PC1", "PC2"],
                                label="kick neurons firing").opts(
                marker="x", size=7, color="black")
        return el.opts(title=title, legend_position="top_left", width=460, height=380)

    Controls = hv.streams.Stream.define("Controls", gain=1.0, color_by="argmax output",
                                        step=-1)
    stream = Controls()
    box_rates = {}

    def ablation_view(gain, color_by, step):
        _, o = ablated(gain)
        kick_rate, ctrl_rate = rates(gain)
        box_rates.update(kick=kick_rate, control=ctrl_rate, intact=rates(1.0)[0])
        return scatter(gain, o, color_by, f"orbit, gain {gain:.2f} on kick neurons")

    def rate_view(gain, color_by, step):
        gs = sorted(visited | {round(float(gain), 4)})
        kick = [rates(g)[0] for g in gs]
        ctrl = [rates(g)[1] for g in gs]
        # the control set first, so that the kick neurons' points stay visible on top
        return (hv.Scatter((gs, ctrl), "gain", "switch rate", label="random units").opts(
                    color="#777777", size=8) *
                hv.Scatter((gs, kick), "gain", "switch rate", label="kick neurons").opts(
                    color=PALETTE[1], size=8, marker="diamond") *
                hv.VLine(gain).opts(color="#999999", line_dash="dashed")).opts(
            title="switch rate vs gain", width=400, height=380,
            legend_position="top_right", ylim=(0, None), xlim=(-0.05, 2.05))

    def checkpoint_view(gain, color_by, step):
        if not checkpoints:
            return hv.Points([], ["PC1", "PC2"]).opts(title="no checkpoints given")
        steps = [s for s, _ in checkpoints]
        i = len(steps) - 1 if step < 0 else int(np.argmin(np.abs(np.asarray(steps) - step)))
        rate, o = checkpoint_at(i)
        if o is None:  # early checkpoints can be unstable over long runs
            return hv.Points([], ["PC1", "PC2"]).opts(
                width=460, height=380, title=f"training step {steps[i]}: switch rate "
                f"{rate:.3f}; activity diverges over {length} steps")
        data = {"PC1": o.pcs[:, 0], "PC2": o.pcs[:, 1], "c": by_output(o)}
        return hv.Points(data, ["PC1", "PC2"], "c").opts(
            color="c", cmap=symbol_colors, size=3, width=460, height=380,
            legend_position="top_left",
            title=f"training step {steps[i]}: switch rate {rate:.3f}")

    def checkpoint_at(i):
        def compute():
            net = checkpoints[i][1]
            rate = switch_rate(sample(net, n_sequences, seq_len, seed=seed))
            try:
                return rate, orbit(net, length, seed, basis=base)
            except ValueError:
                return rate, None

        return cache.get(("checkpoint", i), compute)

    gain_step = 0.1

    def ahead(gain, color_by, step_index=None):
        # what one step of each control away shows, nearest first
        jobs = [lambda: classes(gain)] if color_by == "argmax output" else []
        for g in (gain + gain_step, gain - gain_step):
            if -1e-9 <= g <= 2.0 + 1e-9:
                g = round(g, 4)
                jobs += [lambda g=g: ablated(g), lambda g=g: rates(g)]
                if color_by == "residency class":
                    jobs.append(lambda g=g: classes(g))
        if checkpoints and step_index is not None:
            jobs += [lambda j=j: checkpoint_at(j) for j in (step_index - 1, step_index + 1)
                     if 0 <= j < len(checkpoints)]
        cache.ahead(jobs)

    def on_gain(change):
        visited.add(round(float(change["new"]), 4))
        stream.event(gain=change["new"])
        ahead(change["new"], color.value)

    def on_color(change):
        stream.event(color_by=change["new"])
        ahead(gain.value, change["new"])

    def on_step(change):
        cstream.event(step=change["new"])
        ahead(gain.value, color.value, step_slider.index)

    dmap = hv.DynamicMap(ablation_view, streams=[stream])
    rmap = hv.DynamicMap(rate_view, streams=[stream])
    gain = widgets.FloatSlider(value=1.0, min=0.0, max=2.0, step=gain_step,
                               continuous_update=False, description="gain")
    color = widgets.ToggleButtons(options=["argmax output", "residency class"],
                                  description="colour")
    gain.observe(on_gain, names="value")
    color.observe(on_color, names="value")
    rows = [widgets.HTML(f"<b>{heading}</b>{html.escape(note)} " + kick_list +
                         " &nbsp; <b>random control units</b> " +
                         ", ".join(map(str, controls))),
            widgets.HBox([gain, color]), widgets.HBox([viz.as_widget(dmap),
                                                       viz.as_widget(rmap)])]
    step_slider = cstream = None
    if checkpoints:
        steps = [s for s, _ in checkpoints]
        step_slider = widgets.SelectionSlider(options=steps, value=steps[-1],
                                              description="step", continuous_update=False)
        cstream = Controls(step=steps[-1])
        cmap = hv.DynamicMap(checkpoint_view, streams=[cstream])
        step_slider.observe(on_step, names="value")
        rows += [widgets.HTML("<b>Training</b>: the orbit of a checkpoint, in the final "
                              "network's PCA coordinates"), step_slider, viz.as_widget(cmap)]
    box = widgets.VBox(rows)
    box.stream, box.gain, box.color, box.step = stream, gain, color, step_slider
    box.checkpoint_stream = cstream
    box.neurons, box.controls, box.rates, box.dmap = neurons, controls, box_rates, dmap
    box.prefetched = cache.wait
    # the gains (or checkpoint indices) whose orbits are held
    box.cached = lambda what="orbit": sorted(k[1] for k in cache.keys() if k[0] == what)
    ahead(1.0, color.value, len(checkpoints) - 1 if checkpoints else None)
    return box
