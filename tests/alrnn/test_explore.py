import holoviews as hv
import ipywidgets as widgets
import numpy as np
import pytest

from toolkit.alrnn import ALRNN, explore, find_cycles, symbolic_code


def rotation_model():
    th = 0.3
    A = np.array([1.0, 0.0, 0.0])
    W = np.zeros((3, 3))
    W[0, 0], W[0, 1], W[1, 0], W[1, 1] = np.cos(th) - 1.0, -np.sin(th), np.sin(th), np.cos(th)
    W[2, 0] = 1.0
    return ALRNN.from_params(A, W, np.zeros(3), P=2, N=2)


def test_explorer_builds_and_reacts_headless():
    model = rotation_model()
    data = model.generate(np.array([1.0, 0.0]), 300)
    box = explore(model, data, n_steps=400, max_period=3)
    assert isinstance(box, widgets.VBox)
    # the figures are the public calls
    x, latent = model.generate(data[0], 400, transient=100, return_latent=True)
    np.testing.assert_array_equal(box.code.symbols, symbolic_code(model, latent).symbols)
    assert len(box.cycles) == len(find_cycles(model, 3, latent=latent))
    region = int(box.code.regions[0])
    box.region.value = region
    assert box.region_stream.contents["region"] == region
    assert "#ffe9a8" in box.table.value
    box.window.value = (50, 250)
    assert (box.window_stream.contents["start"], box.window_stream.contents["stop"]) == \
        (50, 250)
    for dmap in box.dmaps:
        hv.render(dmap[()] if isinstance(dmap, hv.DynamicMap) else dmap)


def test_explorer_bad_input():
    model = rotation_model()
    with pytest.raises(ValueError, match="^data"):
        explore(model, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="^dims"):
        explore(model, dims=(0, 5))
    with pytest.raises(TypeError, match="^model"):
        explore(None)


def test_a_region_move_recolours_the_points_without_sending_them_again():
    from bokeh.models import CategoricalColorMapper, ColumnDataSource

    model = rotation_model()
    box = explore(model, n_steps=400, max_period=2)
    plot = hv.renderer("bokeh").get_plot(box.dmaps[0])
    biggest = max(plot.state.select(ColumnDataSource),
                  key=lambda s: max((len(v) for v in s.data.values()), default=0))
    data = dict(biggest.data)
    assert len(next(iter(data.values()))) == 400   # the portrait's points
    region = int(box.code.regions[0])
    box.region.value = region
    palettes = [m.palette for m in plot.state.select(CategoricalColorMapper)]
    grey = [c == "#dddddd" for c in palettes[0]]
    assert sum(not g for g in grey) == 1 and sum(grey) == len(box.code.table_regions) - 1
    assert all(biggest.data[k] is v for k, v in data.items())
