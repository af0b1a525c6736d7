import holoviews as hv
import ipywidgets as widgets
import networkx as nx
import numpy as np
import pytest

import toolkit as tk
from toolkit import viz


@pytest.fixture(scope="module", autouse=True)
def _setup():
    viz.setup(inline=True)


def _title(obj):
    return hv.render(obj, backend="bokeh").title.text


def test_phase_portrait_projects_requested_dims():
    x = np.arange(30.0).reshape(10, 3)
    el = viz.phase_portrait(x, dims=(0, 2), labels=["a", "b", "c"], title="t")
    np.testing.assert_array_equal(el.data[0], x[:, [0, 2]])
    assert [d.name for d in el.kdims] == ["a", "c"]
    assert _title(el) == "t"


def test_phase_portrait_path_is_sent_as_one_line():
    # with a hover tool HoloViews splits a path into one segment per step: 20k steps
    # became 6 MB of notebook output and seconds of rendering
    x = np.random.default_rng(0).standard_normal((5000, 3))
    fig = hv.render(viz.phase_portrait(x), backend="bokeh")
    (glyph,) = [r for r in fig.renderers if "xs" in r.data_source.data]
    assert len(glyph.data_source.data["xs"]) == 1
    assert len(glyph.data_source.data["xs"][0]) == 5000


def test_phase_portrait_coloured_by_region_is_categorical():
    x = np.random.default_rng(0).standard_normal((50, 2))
    regions = np.arange(50) % 3
    el = viz.phase_portrait(x, color=regions)
    assert set(el.dimension_values("c")) == {"0", "1", "2"}
    hv.render(el, backend="bokeh")


def test_phase_portraits_link_all_pairs():
    x = np.random.default_rng(0).standard_normal((200, 3))
    layout = viz.phase_portraits(x, labels=["x", "y", "z"])
    assert len(layout) == 3
    hv.render(layout, backend="bokeh")


def test_time_series_one_curve_per_column():
    x = np.random.default_rng(0).standard_normal((100, 3))
    ov = viz.time_series(x, dt=0.5)
    assert len(ov) == 3
    np.testing.assert_allclose(ov.get(0).dimension_values(0)[-1], 99 * 0.5)


def test_heatmap_and_graph_render():
    m = np.array([[0.9, 0.1], [0.2, 0.8]])
    hm = viz.heatmap(m, xlabel="to", ylabel="from")
    assert sorted(hm.dimension_values("value")) == sorted(m.ravel())
    g = nx.DiGraph()
    g.add_edge(0, 1, weight=3.0)
    g.add_edge(1, 0, weight=1.0)
    g.add_edge(1, 1, weight=2.0)
    hv.render(viz.graph(g), backend="bokeh")


def test_live_curves_accumulate():
    live = viz.LiveCurves(["train/acc", "test/acc"])
    dm = live.view()
    for step in (10, 20, 30):
        live.update(step, {"train/acc": step / 30, "test/acc": 0.1})
    data = live.buffer.data
    np.testing.assert_array_equal(data["step"], [10, 20, 30])
    np.testing.assert_allclose(data["train_acc"], [1 / 3, 2 / 3, 1])
    assert len(dm[()]) == 2


def test_explore_system_slider_changes_the_plot():
    box = viz.explore_system("lorenz63", n_steps=300)
    assert isinstance(box, widgets.VBox)
    before = _title(box.dmap[()])
    box.sliders["rho"].value = 20.0
    after = _title(box.dmap[()])
    assert "rho = 28" in before and "rho = 20" in after
    # the figure is the documented headless call
    x = tk.systems.trajectory("lorenz63", 300, params={"sigma": 10.0, "rho": 20.0,
                                                       "beta": 8 / 3})
    np.testing.assert_allclose(box.dmap[()].data[0][:, 0], x[:, 0])


def test_as_widget_is_an_ipywidget():
    w = viz.as_widget(hv.Curve([1, 2, 3]))
    assert isinstance(w, widgets.DOMWidget)


def test_inline_setup_leaves_no_cdn_stylesheet():
    """Offline: with inline resources no plot may point its stylesheets at a CDN, neither
    in an explorer's widget (also after a re-render) nor in HoloViews' notebook display."""
    from bokeh.models import ImportedStyleSheet

    Step = hv.streams.Stream.define("Step", a=0)
    stream = Step()
    dmap = hv.DynamicMap(lambda a: hv.Curve([0, a, 1]) * hv.Scatter([(a, a)]), streams=[stream])
    widget = viz.as_widget(dmap)

    def remote():
        return [s.url for s in widget._model.select({"type": ImportedStyleSheet})
                if s.url.startswith("http")]

    assert not remote()
    stream.event(a=2)
    assert not remote()
    data, _ = hv.renderer("bokeh").components(hv.Curve([1, 2]) + hv.Curve([3, 1]), comm=True)
    html = " ".join(map(str, data.values()))
    assert "cdn.holoviz.org" not in html and "InlineStyleSheet" in html
    # the check above fails without the hook: Panel's own default is the CDN
    viz._inline_panel_css(False)
    try:
        plain = viz.as_widget(hv.Curve([1, 2]))
        assert any(s.url.startswith("http")
                   for s in plain._model.select({"type": ImportedStyleSheet}))
    finally:
        viz._inline_panel_css(True)


@pytest.mark.parametrize("call,name", [
    (lambda: viz.phase_portrait(np.ones((10, 2)), dims=(0, 5)), "dims"),
    (lambda: viz.phase_portrait(np.ones((10, 2)), labels=["a"]), "labels"),
    (lambda: viz.phase_portrait(np.ones((10, 2)), color=np.ones(3)), "color"),
    (lambda: viz.phase_portrait(np.ones(10)), "x"),
    (lambda: viz.time_series(np.ones((10, 2)), dt=0), "dt"),
    (lambda: viz.heatmap(np.ones(3)), "matrix"),
    (lambda: viz.graph([1, 2]), "g"),
    (lambda: viz.graph(nx.DiGraph()), "g"),
    (lambda: viz.LiveCurves([]), "names"),
])
def test_bad_input_named(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


def test_graph_draws_self_loops_as_rings_and_arrows_clear_of_nodes():
    g = nx.DiGraph()
    g.add_edge("a", "b", weight=1.0)
    g.add_edge("b", "a", weight=1.0)
    g.add_edge("b", "b", weight=4.0)
    el = viz.graph(g, node_colors={"a": "#ff0000"})
    graphs = [e for e in el if isinstance(e, hv.Graph)]
    rings = [e for e in el if isinstance(e, hv.Polygons)]
    assert len(graphs) == 1 and len(rings) == 1       # one ring, for b's self-loop
    gr = graphs[0]
    pos = {n: (x, y) for x, y, n in zip(*(gr.nodes.dimension_values(i) for i in range(3)))}
    ring = rings[0].split(datatype="array")[0]
    # the ring touches b (passes within a few percent of its centre), not a
    assert np.hypot(*(ring[:, :2] - pos["b"]).T).min() < 0.05
    assert np.hypot(*(ring[:, :2] - pos["a"]).T).min() > 0.5
    # a→b and b→a bow apart, and each ends (after its arrowhead) off the target node
    paths = gr.edgepaths.split(datatype="array")
    mids = [p[len(p) // 3, :2] for p in paths]
    assert np.hypot(*(mids[0] - mids[1])) > 0.05
    for v, p in zip(gr.data["end"], paths):
        assert 0.05 < np.hypot(*(p[-4, :2] - pos[v])) < 0.3
    colors = dict(zip(gr.nodes.dimension_values(2), gr.nodes.dimension_values("color")))
    assert colors["a"] == "#ff0000" and colors["b"] == viz.PALETTE[0]
    hv.render(el, backend="bokeh")
