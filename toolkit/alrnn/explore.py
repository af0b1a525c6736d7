"""Explorer for an AL-RNN: regions, symbols, transition graph, fixed points and cycles.

Every figure is one public call: ``symbolic_code(model, latent).portrait(...)``,
``.raster(...)``, ``.graph_view(...)``, ``.to_frame()`` and
``find_cycles(model, max_period).plot(...)``.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_array, positive
from .cycles import find_cycles
from .model import ALRNN
from .symbolic import region_label, symbolic_code

__all__ = ["explore"]


def explore(model: ALRNN, data=None, *, n_steps: int = 5000, max_period: int = 4,
            dims=(0, 1), labels=None, x0=None):
    """Widgets over the symbolic code of ``model``'s attractor.

    The model runs freely for ``n_steps`` from ``x0`` (default: the first point of
    ``data``, a (T, N) trajectory in data units, else the origin), after a transient of
    n_steps / 4. Shown: the attractor projection coloured by region (with ``data`` in
    grey behind, real fixed points as stars, and the cycles up to ``max_period``), the
    symbol raster, the transition graph, and the region table. A time-window slider
    draws the window on the attractor; a region selector highlights one region in
    every view.

    The returned VBox keeps handles for headless use: ``box.window_stream`` and
    ``box.region_stream`` (the HoloViews streams; each control redraws only the layers
    it changes), ``box.window`` and ``box.region`` (the controls), ``box.code`` (the
    :class:`SymbolicCode`), ``box.cycles`` (the :class:`CycleSet`), ``box.table``.
    """
    import holoviews as hv
    import ipywidgets as widgets

    from ..viz import _ensure_theme, as_widget

    _ensure_theme()
    if not isinstance(model, ALRNN):
        raise TypeError(f"model: expected an ALRNN, got {type(model).__name__}")
    n_steps = positive(n_steps, "n_steps", integer=True)
    if n_steps < 10:
        raise ValueError(f"n_steps: need at least 10 steps, got {n_steps}")
    max_period = positive(max_period, "max_period", integer=True)
    if data is not None:
        data = as_array(data, "data", ndim=2, min_length=2)
        if data.shape[1] != model.N:
            raise ValueError(f"data: has {data.shape[1]} dimensions, the model observes "
                             f"{model.N}")
    for d in dims:
        if not 0 <= int(d) < model.N:
            raise ValueError(f"dims: {d} is not an observed dimension (N = {model.N})")
    if x0 is None:
        x0 = data[0] if data is not None else np.zeros(model.N)
    x, latent = model.generate(x0, n_steps, transient=n_steps // 4, return_latent=True)
    if not np.all(np.isfinite(latent)):
        raise RuntimeError("model: the free orbit diverged; nothing to explore")
    code = symbolic_code(model, latent)
    cycles = find_cycles(model, max_period, latent=latent)
    labels = list(labels) if labels is not None else [f"x{i}" for i in range(model.N)]

    length0 = min(500, n_steps)
    window = widgets.IntRangeSlider(value=(0, length0), min=0, max=n_steps, step=10,
                                    description="window", continuous_update=False,
                                    layout=widgets.Layout(width="60%"))
    options = [("all regions", -1)] + [(f"{region_label(r, model.P)} (region {r})", int(r))
                                       for r in code.regions]
    region = widgets.Dropdown(options=options, value=-1, description="region")
    # Two streams, so that a control redraws only what it changes: the window moves a
    # short path and the raster; the region recolours the attractor, raster and graph.
    # The grey data and the cycles are static layers, drawn once.
    Window = hv.streams.Stream.define("Window", start=0, stop=length0)
    Region = hv.streams.Stream.define("Region", region=-1)
    window_stream, region_stream = Window(), Region()
    kdims = [labels[dims[0]], labels[dims[1]]]

    def highlight(r):
        return None if r is None or int(r) < 0 else int(r)

    # A region move recolours the points it drew before: a clone that keeps the points
    # (and their plot id), so Bokeh is sent the new colours, not 5000 points again.
    portrait = code.portrait(dims, labels=labels, title="attractor by region")
    rasters = {}   # the last window's raster, recoloured the same way

    def recoloured(el, region):
        return el.opts(hv.opts.Points(cmap=code.region_colors(highlight(region))), clone=True)

    def by_region(region):
        return recoloured(portrait, region)

    def window_path(start, stop):
        seg = code.observed[max(start, 0):max(stop, start + 2)][:, list(dims)]
        return hv.Path([seg], kdims=kdims, label="time window").opts(
            color="black", line_width=1.2)

    def raster(start, stop, region):
        if (start, stop) not in rasters:
            rasters.clear()
            rasters[start, stop] = code.raster(start, max(stop - start, 2)).opts(
                xlabel="time (steps)")
        return recoloured(rasters[start, stop], region)

    def graph_marker(region):
        return code.graph_marker(highlight(region))

    layers = []
    if data is not None:
        step = max(1, len(data) // 5_000)
        layers.append(hv.Points(data[::step][:, list(dims)], kdims=kdims,
                                label="data").opts(color="#cccccc", size=1))
    layers.append(hv.DynamicMap(by_region, streams=[region_stream]))
    if len(cycles):
        layers.append(cycles.plot(dims=dims, labels=labels))
    layers.append(hv.DynamicMap(window_path, streams=[window_stream]))
    attractor = layers[0]
    for layer in layers[1:]:
        attractor = attractor * layer
    attractor = attractor.opts(hv.opts.Overlay(
        title="attractor by region",
        width=460, height=400, legend_position="right"))
    dmaps = [attractor, code.graph_view() * hv.DynamicMap(graph_marker, streams=[region_stream]),
             hv.DynamicMap(raster, streams=[window_stream, region_stream])]
    table = widgets.HTML()

    def render_table(r):
        frame = code.to_frame()
        styled = frame.style.format(precision=3).hide(axis="index")
        if highlight(r) is not None:
            styled = styled.apply(lambda row: ["background-color: #ffe9a8"
                                               if row["region"] == r else "" for _ in row],
                                  axis=1)
        table.value = styled.to_html()

    render_table(-1)

    def on_window(change):
        a, b = change["new"]
        window_stream.event(start=int(a), stop=int(b))

    def on_region(change):
        region_stream.event(region=int(change["new"]))
        render_table(int(change["new"]))

    window.observe(on_window, names="value")
    region.observe(on_region, names="value")
    controls = widgets.HBox([window, region])
    figures = widgets.HBox([as_widget(dmaps[0]), as_widget(dmaps[1])])
    summary = widgets.HTML(
        f"<b>{code.n_regions}</b> of {2 ** model.P} regions visited; topological entropy "
        f"{code.topological_entropy:.3f} nats/step; {len(cycles)} cycles up to period "
        f"{max_period} ({'all' if cycles.complete else 'SCYFI search, not exhaustive'}). "
        "On the attractor: ★ fixed points, cycles ○ stable and × unstable, the black path "
        "the time window.")
    box = widgets.VBox([controls, summary, figures, as_widget(dmaps[2]), table])
    box.window_stream, box.region_stream = window_stream, region_stream
    box.window, box.region = window, region
    box.code, box.cycles, box.table, box.dmaps = code, cycles, table, dmaps
    return box
