"""Plotting set-up, shared styling and shared HoloViews views.

Every notebook starts with ``tk.viz.setup()``. Every explorer in the toolkit combines
ipywidgets controls with HoloViews plots the same way: plots become real ipywidgets via
:func:`as_widget` (Panel + jupyter_bokeh), and controls drive them through HoloViews
streams, so a container is a plain ``ipywidgets.VBox``.
"""

from __future__ import annotations

import os
import socket
import threading

import numpy as np

from ._checks import as_array, positive

__all__ = [
    "setup",
    "PALETTE",
    "REGION_PALETTE",
    "as_widget",
    "phase_portrait",
    "phase_portraits",
    "time_series",
    "heatmap",
    "graph",
    "LiveCurves",
    "explore_system",
]

#: one consistent set of colours (colour-blind safe, Okabe–Ito order)
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
           "#000000"]
#: categorical colours for linear regions / symbols / HMM states
REGION_PALETTE = PALETTE + ["#999999", "#882255", "#44AA99", "#117733", "#332288", "#AA4499"]

WIDTH, HEIGHT = 420, 320
_SETUP_DONE = False


def _network_available(host="cdn.bokeh.org", port=443, timeout=1.0) -> bool:
    result = []

    def probe():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout + 0.5)
    return bool(result and result[0])


def setup(inline: bool | None = None, *, width: int = WIDTH, height: int = HEIGHT):
    """Load HoloViews with the Bokeh backend and the toolkit's theme.

    ``inline``: embed BokehJS in the notebook (works offline, but executed notebooks grow
    by ~6 MB). Default: the ``DYNALENS_INLINE`` environment variable if set, else inline
    exactly when the Bokeh CDN cannot be reached.
    """
    global _SETUP_DONE
    import holoviews as hv
    import panel as pn

    if inline is None:
        env = os.environ.get("DYNALENS_INLINE")
        inline = (env.strip().lower() not in ("0", "false", "no")) if env else \
            not _network_available()
    hv.extension("bokeh", inline=inline, logo=False)
    pn.extension(inline=inline)
    _inline_panel_css(inline)
    _apply_theme(width, height)
    _SETUP_DONE = True
    return hv


def _apply_theme(width=WIDTH, height=HEIGHT):
    import holoviews as hv
    from holoviews import opts

    common = dict(width=width, height=height, tools=["hover"], fontscale=1.05,
                  show_grid=True)
    hv.opts.defaults(
        opts.Curve(**common, line_width=1.6, color=PALETTE[0]),
        # no hover on paths: HoloViews would split a path into one segment per step
        # for it (a 20k-step orbit: 6 MB of JSON and seconds of rendering)
        opts.Path(**{**common, "tools": []}, line_width=1.0, color=PALETTE[0]),
        opts.Scatter(**common, size=4, color=PALETTE[0]),
        opts.Points(**common, size=4, color=PALETTE[0]),
        opts.Spikes(**common),
        opts.Area(**common, alpha=0.4),
        opts.HeatMap(width=width, height=height, tools=["hover"], cmap="viridis",
                     colorbar=True),
        opts.Image(width=width, height=height, tools=["hover"], cmap="viridis",
                   colorbar=True),
        opts.QuadMesh(width=width, height=height, tools=["hover"], cmap="viridis",
                      colorbar=True),
        opts.Contours(width=width, height=height),
        opts.Graph(width=width, height=height, tools=["hover"], xaxis=None, yaxis=None,
                   node_size=14, directed=True, arrowhead_length=0.03),
        opts.Bars(**common),
        opts.Histogram(**common, alpha=0.7, color=PALETTE[0]),
        opts.Overlay(legend_position="right"),
    )


def _ensure_theme():
    # Views may be built without setup() (tests, scripts): apply styling once anyway.
    global _SETUP_DONE
    if not _SETUP_DONE:
        import holoviews as hv

        if "bokeh" not in hv.Store.renderers:
            hv.extension("bokeh", logo=False)
        _apply_theme()
        _SETUP_DONE = True


def as_widget(obj):
    """A HoloViews (or Panel) object as a real ipywidget, to place in VBox/HBox containers.

    The one way the toolkit combines widgets and plots; streams keep it live.
    """
    import panel as pn

    return pn.ipywidget(pn.panel(obj))


def _inline_panel_css(on: bool):
    """Inline Panel's own stylesheets in every rendered plot (or stop doing so).

    With inline resources BokehJS is embedded, but Panel still points each plot's
    stylesheets at cdn.holoviz.org, except in its own display path: HoloViews' notebook
    display and ``pn.ipywidget`` keep the CDN links, so offline every plot asks the
    network for CSS. A preprocessing hook (run on the first render and on every
    re-render that adds models) swaps them for the same files from Panel's package.
    """
    from panel.viewable import Viewable

    hooks = Viewable._preprocessing_hooks
    if on and _inline_stylesheets not in hooks:
        hooks.append(_inline_stylesheets)
    elif not on and _inline_stylesheets in hooks:
        hooks.remove(_inline_stylesheets)


_INLINE_CSS: dict = {}  # id(root) -> {url: InlineStyleSheet}, one per document


def _inline_stylesheets(view, root, changed=None, old_models=None):
    """Replace Panel's CDN stylesheets under ``root`` by the same files, inlined."""
    import weakref

    from bokeh.models import ImportedStyleSheet, InlineStyleSheet, UIElement
    from panel.io.resources import CDN_DIST, DIST_DIR

    sheets = _INLINE_CSS.get(id(root))
    if sheets is None:
        sheets = _INLINE_CSS[id(root)] = {}
        weakref.finalize(root, _INLINE_CSS.pop, id(root), None)
    for model in root.select({"type": UIElement}):
        current = list(model.stylesheets)
        patched = []
        for sheet in current:
            if isinstance(sheet, ImportedStyleSheet) and sheet.url.startswith(CDN_DIST):
                url = sheet.url.split("?")[0]
                if url not in sheets:
                    path = DIST_DIR / url[len(CDN_DIST):]
                    sheets[url] = (InlineStyleSheet(css=path.read_text(encoding="utf-8"))
                                   if path.is_file() else sheet)
                sheet = sheets[url]
            patched.append(sheet)
        if any(a is not b for a, b in zip(patched, current)):
            model.stylesheets = patched


def _labels(d, labels):
    if labels is None:
        return [f"x{i}" for i in range(d)]
    labels = list(labels)
    if len(labels) != d:
        raise ValueError(f"labels: expected {d} names, got {len(labels)}")
    return labels


def phase_portrait(x, dims=(0, 1), *, labels=None, color=None, title="", kind="path"):
    """2-D projection of a trajectory (T, d) onto ``dims``.

    ``kind="path"`` draws a line; ``"points"`` draws points, coloured by ``color`` (an
    array of length T, e.g. the linear region or HMM output) when given.
    """
    import holoviews as hv

    _ensure_theme()
    x = as_array(x, "x", ndim=2, min_length=2)
    labels = _labels(x.shape[1], labels)
    i, j = dims
    for k, name in ((i, "dims[0]"), (j, "dims[1]")):
        if not 0 <= k < x.shape[1]:
            raise ValueError(f"{name}: {k} is not a dimension of x (d = {x.shape[1]})")
    kd, vd = labels[i], labels[j]
    if kind == "path" and color is None:
        return hv.Path([x[:, [i, j]]], kdims=[kd, vd]).opts(title=title)
    if color is None:
        return hv.Points(x[:, [i, j]], kdims=[kd, vd]).opts(title=title)
    color = as_array(color, "color", ndim=1, dtype=None, finite=False)
    if len(color) != len(x):
        raise ValueError(f"color: length {len(color)} differs from x's {len(x)}")
    data = {kd: x[:, i], vd: x[:, j], "c": color}
    cat = color.dtype.kind in "iub" or color.dtype.kind in "OU"
    el = hv.Points(data, kdims=[kd, vd], vdims=["c"])
    if cat:
        data["c"] = np.asarray(color).astype(str)
        el = hv.Points(data, kdims=[kd, vd], vdims=["c"])
        return el.opts(color="c", cmap=REGION_PALETTE, title=title, legend_position="right")
    return el.opts(color="c", cmap="viridis", colorbar=True, title=title)


def phase_portraits(x, *, labels=None, pairs=None, color=None, linked=True, max_points=20000):
    """All 2-D projections of a trajectory, with linked selection (box-select in one
    panel highlights the same time points in the others)."""
    import holoviews as hv
    import pandas as pd

    _ensure_theme()
    x = as_array(x, "x", ndim=2, min_length=2)
    labels = _labels(x.shape[1], labels)
    if pairs is None:
        pairs = [(i, j) for i in range(x.shape[1]) for j in range(i + 1, x.shape[1])][:6]
    step = max(1, len(x) // max_points)
    df = pd.DataFrame(x[::step], columns=labels)
    df["t"] = np.arange(len(x))[::step]
    vdims = ["t"]
    if color is not None:
        color = as_array(color, "color", ndim=1, dtype=None, finite=False)
        if len(color) != len(x):
            raise ValueError(f"color: length {len(color)} differs from x's {len(x)}")
        df["c"] = np.asarray(color)[::step].astype(str)
        vdims.append("c")
    ds = hv.Dataset(df)
    panels = []
    for i, j in pairs:
        el = hv.Points(ds, kdims=[labels[i], labels[j]], vdims=vdims).opts(
            size=2, width=300, height=280, tools=["box_select", "lasso_select", "hover"])
        if color is not None:
            el = el.opts(color="c", cmap=REGION_PALETTE)
        panels.append(el)
    layout = hv.Layout(panels).cols(3)
    if linked:
        return hv.link_selections.instance()(layout)
    return layout


def time_series(x, dt: float = 1.0, *, labels=None, title="", max_points=20000):
    """Each column of ``x`` (T, d) against time, stacked in one overlay."""
    import holoviews as hv

    _ensure_theme()
    x = as_array(x, "x", ndim=(1, 2), min_length=2)
    if x.ndim == 1:
        x = x[:, None]
    dt = positive(dt, "dt")
    labels = _labels(x.shape[1], labels)
    step = max(1, len(x) // max_points)
    t = np.arange(len(x))[::step] * dt
    curves = [hv.Curve((t, x[::step, i]), "time", "value", label=labels[i]).opts(
        color=PALETTE[i % len(PALETTE)]) for i in range(x.shape[1])]
    return hv.Overlay(curves).opts(title=title, width=2 * WIDTH)


def heatmap(matrix, *, xlabel="column", ylabel="row", title="", xticks=None, yticks=None,
            cmap="viridis", symmetric=False):
    """A matrix as a heatmap (row 0 at the top), with optional tick labels."""
    import holoviews as hv

    _ensure_theme()
    m = as_array(matrix, "matrix", ndim=2, finite=False)
    xt = list(xticks) if xticks is not None else [str(j) for j in range(m.shape[1])]
    yt = list(yticks) if yticks is not None else [str(i) for i in range(m.shape[0])]
    if len(xt) != m.shape[1] or len(yt) != m.shape[0]:
        raise ValueError("xticks/yticks: lengths must match the matrix shape")
    rows = [(xt[j], yt[i], float(m[i, j])) for i in range(m.shape[0]) for j in range(m.shape[1])]
    el = hv.HeatMap(rows, kdims=[xlabel, ylabel], vdims=["value"]).opts(
        title=title, cmap=cmap, invert_yaxis=True)
    if symmetric:
        lim = float(np.nanmax(np.abs(m))) or 1.0
        el = el.opts(clim=(-lim, lim), cmap="RdBu_r")
    return el


def graph(g, *, weight: str = "weight", layout: str = "circular", title="", node_labels=True,
          node_colors: dict | None = None):
    """A (weighted, directed) ``networkx`` graph; edge width follows ``weight``.

    A self-loop (staying in a state, often the heaviest edge) is drawn as a ring on the
    outer side of its node, with the width its weight gives. ``node_colors`` maps nodes to
    colours (e.g. the region colours of the portrait); default: one colour for all.
    """
    import holoviews as hv
    import networkx as nx

    _ensure_theme()
    if not isinstance(g, nx.Graph):
        raise TypeError(f"g: expected a networkx graph, got {type(g).__name__}")
    if g.number_of_nodes() == 0:
        raise ValueError("g: the graph has no nodes")
    positions = {"circular": nx.circular_layout, "spring": lambda G: nx.spring_layout(G, seed=0),
                 "kamada_kawai": nx.kamada_kawai_layout}
    if layout not in positions:
        raise ValueError(f"layout: choose one of {sorted(positions)}")
    node_colors = dict(node_colors or {})
    pos = {n: np.asarray(xy, dtype=float) for n, xy in positions[layout](g).items()}
    ws = np.array([d.get(weight, 1.0) for *_, d in g.edges(data=True)], dtype=float)
    wmax = ws.max() if len(ws) else 1.0
    h = nx.DiGraph() if g.is_directed() else nx.Graph()
    h.add_nodes_from((n, {"label": str(n), "color": node_colors.get(n, PALETTE[0])})
                     for n in g.nodes)
    loops = []
    for (u, v), w in zip(g.edges(), ws):
        width = 0.5 + 5.0 * float(w) / wmax
        if u == v:
            loops.append((u, width))
        else:
            h.add_edge(u, v, weight=float(w), width=width)
    el = hv.Graph.from_networkx(h, pos)
    xy = np.array(list(pos.values()))
    centre = xy.mean(axis=0)
    span = float(np.ptp(xy, axis=0).max()) if len(xy) > 1 else 0.0
    span = span or 1.0
    if g.is_directed() and h.number_of_edges():
        # bow each edge to the right of its direction (so u→v and v→u stay apart) and end
        # it at the node's rim, where its arrowhead shows
        rim, head, t = 0.06 * span, 0.05 * span, np.linspace(0.0, 1.0, 25)[:, None]
        paths = []
        for u, v in zip(el.data["start"], el.data["end"]):
            p0, p1 = pos[u], pos[v]
            d = p1 - p0
            bend = np.array([d[1], -d[0]]) * 0.12
            c = (p0 + p1) / 2 + bend
            curve = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t ** 2 * p1
            keep = (np.hypot(*(curve - p0).T) > rim) & (np.hypot(*(curve - p1).T) > rim)
            curve = curve[keep] if keep.sum() >= 2 else curve[[0, -1]]
            # HoloViews draws no arrowheads on given edge paths: trace one into the line
            end, a = curve[-1], np.arctan2(*(curve[-1] - curve[-2])[::-1])
            wing = [end - head * np.array([np.cos(a + s), np.sin(a + s)])
                    for s in (np.pi / 7, -np.pi / 7)]
            paths.append(np.vstack([curve, wing[0], end, wing[1]]))
        el = hv.Graph((el.data, el.nodes, hv.EdgePaths(paths)), vdims=el.vdims)
    el = el.opts(title=title, edge_line_width="width", node_color="color",
                 edge_color="#555555", node_size=22, show_grid=False)
    layers = []
    if loops:
        r = 0.09 * span
        t = np.linspace(0, 2 * np.pi, 49)
        for n, width in loops:
            out = pos[n] - centre
            norm = np.hypot(*out)
            out = out / norm if norm > 1e-9 else np.array([0.0, 1.0])
            c = pos[n] + r * out
            layers.append(hv.Polygons([np.column_stack([c[0] + r * np.cos(t),
                                                    c[1] + r * np.sin(t)])]).opts(
                line_color="#555555", line_width=width, fill_alpha=0.0, show_grid=False,
                xaxis=None, yaxis=None))
    layers.append(el)
    if node_labels:
        xs = [pos[n][0] for n in g.nodes]
        ys = [pos[n][1] for n in g.nodes]
        layers.append(hv.Labels({"x": xs, "y": ys, "text": [str(n) for n in g.nodes]},
                                ["x", "y"], "text").opts(text_color="black",
                                                         text_font_size="9pt",
                                                         show_grid=False))
    if len(layers) == 1:
        return el
    # square, so that rings stay round on the (symmetric) layouts
    return hv.Overlay(layers).opts(title=title, padding=0.1, show_grid=False, width=320,
                                   height=320)


class LiveCurves:
    """Curves that grow while a loop runs: ``live.update(step, {"train/acc": 0.5, ...})``.

    ``live.view()`` returns a DynamicMap backed by a ``hv.streams.Buffer``; pass
    ``live.update`` as a trainer's ``on_log`` callback. Kernel-to-browser messages flow
    while a cell runs, so the plot updates during training.
    """

    def __init__(self, names, *, xlabel="step", ylabel="value", title="", logy=False,
                 length=100_000):
        import holoviews as hv
        import pandas as pd

        _ensure_theme()
        self.names = list(names)
        if not self.names:
            raise ValueError("names: give at least one curve name")
        self._columns = ["step"] + [n.replace("/", "_") for n in self.names]
        empty = pd.DataFrame({c: np.zeros(0) for c in self._columns})
        self.buffer = hv.streams.Buffer(empty, length=length, index=False)
        self.xlabel, self.ylabel, self.title, self.logy = xlabel, ylabel, title, logy

    def view(self):
        import holoviews as hv

        def draw(data):
            curves = [hv.Curve(data, "step", col, label=name).opts(
                color=PALETTE[i % len(PALETTE)])
                for i, (name, col) in enumerate(zip(self.names, self._columns[1:]))]
            return hv.Overlay(curves).opts(title=self.title, logy=self.logy)

        return hv.DynamicMap(draw, streams=[self.buffer]).opts(
            hv.opts.Curve(framewise=True, ylabel=self.ylabel, xlabel=self.xlabel))

    def update(self, step, values: dict):
        import pandas as pd

        row = {"step": [float(step)]}
        for name, col in zip(self.names, self._columns[1:]):
            v = values.get(name, np.nan)
            row[col] = [float(v) if v is not None else np.nan]
        self.buffer.send(pd.DataFrame(row))


def explore_system(name: str = "lorenz63", *, n_steps: int = 5000, dt: float | None = None):
    """Sliders for a system's parameters driving its phase portrait and time series.

    Every figure is ``tk.viz.phase_portrait(tk.systems.trajectory(name, n_steps, dt,
    params=...))``: the same call you can run headless.
    """
    import dataclasses

    import holoviews as hv
    import ipywidgets as widgets

    from . import systems

    _ensure_theme()
    system = systems.make(name)
    fields = [f for f in dataclasses.fields(system) if isinstance(getattr(system, f.name), float)]
    sliders = {}
    for f in fields:
        v = float(getattr(system, f.name))
        span = max(abs(v), 1.0)
        sliders[f.name] = widgets.FloatSlider(value=v, min=v - span, max=v + span,
                                              step=span / 50, description=f.name,
                                              continuous_update=False)
    Params = hv.streams.Stream.define("Params", **{k: s.value for k, s in sliders.items()})
    stream = Params()

    def portrait(**params):
        try:
            x = systems.trajectory(system.name, n_steps, dt, params=params)
        except (ValueError, RuntimeError) as exc:
            return hv.Path([]).opts(title=f"{system.name}: {exc}")
        desc = ", ".join(f"{k} = {v:.3g}" for k, v in params.items())
        dims = (0, 2) if x.shape[1] >= 3 else (0, 1)
        return phase_portrait(x, dims=dims, title=f"{system.name}: {desc}")

    dmap = hv.DynamicMap(portrait, streams=[stream])
    for key, slider in sliders.items():
        slider.observe(lambda ch, key=key: stream.event(**{key: ch["new"]}), names="value")
    controls = widgets.VBox(list(sliders.values()))
    box = widgets.VBox([controls, as_widget(dmap)])
    box.stream, box.sliders, box.dmap = stream, sliders, dmap  # for headless use and tests
    return box
