import numpy as np
import pytest

from toolkit.grokking import embedding_spectrum, explore, neuron_frequencies


def test_explorer_trains_headless_and_drives_the_step_view():
    box = explore(p=17, n_steps=60, log_every=20, train_fraction=0.5)
    assert box.run is None
    box.controls["probes"].value = ("weight_norm", "movement")
    box.train_button.click()
    run = box.run
    assert run is not None and run.history is not None
    assert run.history.meta["p"] == 17 and run.history.meta["train_fraction"] == 0.5
    assert sorted(run.snapshots) == [0, 20, 40, 60]
    assert list(box.step_slider.options) == [0, 20, 40, 60]
    # the live curves received every logged row
    assert len(box.curves[0].buffer.data) == 3
    box.step_slider.value = 20
    assert box.stream.step == 20
    layout = box.dmap.callback.callable(step=20)
    # what the view shows is the public functions applied to the snapshot at that step
    spec = embedding_spectrum(run.model_at(20))
    np.testing.assert_allclose(layout[0].data["norm"].to_numpy(), spec.norms)
    nf = neuron_frequencies(run.model_at(20))
    assert f"{nf.threshold:.2f}" in layout[1].opts.get().kwargs["title"]
    assert "train 99%" in box.status.value


def test_explorer_reports_bad_settings_and_rejects_bad_p():
    with pytest.raises(ValueError, match="p: choose an odd prime"):
        explore(p=20)
    box = explore(p=17, n_steps=50)
    box.controls["task"].value = "multiply"
    box.controls["lr"].value = 1e-3
    box.train_button.click()
    assert box.run.history is not None and box.run.task.operation == "multiply"


def test_explore_stays_a_function_after_use():
    import toolkit as tk

    explore(p=17)
    assert callable(tk.grokking.explore)
    assert type(tk.grokking.explore(p=19)).__name__ == "VBox"
