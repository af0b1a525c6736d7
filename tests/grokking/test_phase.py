import numpy as np
import pytest

from toolkit.grokking import PhaseDiagram, phase_diagram, run_recipe, steps_to_grok


@pytest.fixture(scope="module")
def diagram(tmp_path_factory):
    # p = 23: 0.8 of the pairs with weight decay 1 groks in a few hundred steps; 0.2 of the
    # pairs (below the recipe's 3·ln p / p = 0.41) and no weight decay do not, in 600 steps
    store = tmp_path_factory.mktemp("phase")
    return phase_diagram("add", 23, train_fractions=[0.2, 0.8], weight_decays=[0.0, 1.0],
                         n_steps=600, store=store, fourier_every=None), store


def test_phase_diagram_matches_direct_runs(diagram):
    pd_, store = diagram
    assert isinstance(pd_, PhaseDiagram) and pd_.steps_to_grok.shape == (2, 2)
    assert pd_.grokked_share[1, 1] == 1.0 and np.isfinite(pd_.steps_to_grok[1, 1])
    assert pd_.grokked_share[0, 0] == 0.0 and np.isnan(pd_.steps_to_grok[0, 0])
    assert pd_.grokked_share[1, 0] == 0.0   # train fraction 0.2: too little data
    # cross-check one cell against the recipe run directly (same seed, same settings)
    g = steps_to_grok(run_recipe("add", 23, 0, train_fraction=0.8, weight_decay=1.0,
                                 n_steps=600, fourier_every=None, progress=False))
    assert pd_.steps_to_grok[1, 1] == g.test and pd_.steps_to_memorise[1, 1] == g.train
    f = pd_.to_frame()
    assert len(f) == 4 and set(f["weight_decay"]) == {0.0, 1.0}
    # resumable: a second call reads the store instead of training
    again = phase_diagram("add", 23, train_fractions=[0.2, 0.8], weight_decays=[0.0, 1.0],
                          n_steps=600, store=store, fourier_every=None)
    np.testing.assert_array_equal(again.steps_to_grok, pd_.steps_to_grok)


def test_phase_diagram_plot_renders(diagram):
    import holoviews as hv

    plot = diagram[0].plot()
    assert isinstance(plot, hv.Overlay)
    heat = plot.get(0)
    assert heat.kdims[0].name == "train fraction" and heat.kdims[1].name == "weight decay"
    labels = plot.get(1).dimension_values("text")
    assert "·" in labels
    hv.render(plot, backend="bokeh")


@pytest.mark.parametrize("kw, err, match", [
    (dict(train_fractions=[0.0, 0.5]), ValueError, "train_fractions"),
    (dict(weight_decays=[-1.0]), ValueError, "weight_decays"),
    (dict(seeds=[]), ValueError, "seeds"),
    (dict(weight_decay=1.0), TypeError, "weight_decay: set by the diagram"),
    (dict(lrr=1.0), TypeError, "overrides: unknown"),
])
def test_phase_diagram_bad_input_is_named(kw, err, match):
    with pytest.raises(err, match=match):
        phase_diagram("add", 23, **kw)
