import numpy as np
import pytest

import toolkit as tk
from toolkit import koopman as kp


@pytest.fixture(scope="module")
def box():
    return kp.explore("van_der_pol", size=24, n_steps=1500, grid=12, eps=1e-3,
                      prefetch=False)


def test_explorer_shows_what_the_public_calls_compute(box):
    import holoviews as hv

    x = tk.systems.trajectory("van_der_pol", 1500, dt=tk.systems.VanDerPol.default_dt)
    spec = kp.edmd(x, None, kp.dictionary_of_size("rbf", 24, 2), dt=0.01)
    shown = box.spectrum()
    np.testing.assert_allclose(shown.eigenvalues, spec.eigenvalues)
    n_ok = len(spec.verified(1e-3))
    assert f"{n_ok} with residual" in box.status.value
    assert len(box.controls["eigenvalue"].options) == len(spec)
    for dm in box.dmaps.values():
        hv.render(dm[()])


def test_selecting_an_eigenvalue_shows_its_eigenfunction(box):
    box.controls["eigenvalue"].value = 2
    assert box.streams["eigenfunction"].contents["k"] == 2
    pts = box.dmaps["eigenfunction"][()]
    spec = box.spectrum()
    x = tk.systems.trajectory("van_der_pol", 1500, dt=0.01)
    phi = spec.eigenfunctions(x)[:, 2].real
    scale = np.max(np.abs(spec.eigenfunctions(x)[:, 2]))
    np.testing.assert_allclose(pts.dimension_values("φ"), phi / scale)
    assert "(real part)" in pts.opts.get().kwargs["title"]


def test_changing_dictionary_size_and_threshold_updates(box):
    box.controls["size"].value = 16
    assert len(box.spectrum()) == 16
    box.controls["eps"].value = 1e-1
    n_ok = len(box.spectrum().verified(1e-1))
    assert f"{n_ok} with residual" in box.status.value
    box.controls["dictionary"].value = "monomials"
    assert box.spectrum().dictionary.degree == 4   # C(6, 4) = 15 ≤ 16
    box.controls["observable"].value = 1
    assert box.streams["measure"].contents["observable"] == 1


def test_every_dictionary_or_size_move_is_named_even_where_the_spectrum_is_the_same():
    # monomials and Hermite polynomials of one degree span one space: EDMD's eigenvalues
    # agree (a cross-check of the basis change), and only the title tells them apart
    b = kp.explore("van_der_pol", dictionary="monomials", size=21, n_steps=1500, grid=8,
                   prefetch=False)

    def title():
        return b.dmaps["eigenvalues"][()].opts.get().kwargs["title"]

    before, lam = title(), np.sort_complex(b.spectrum().eigenvalues)
    b.controls["dictionary"].value = "hermite"
    np.testing.assert_allclose(np.sort_complex(b.spectrum().eigenvalues), lam, atol=1e-6)
    assert "monomials, N = 21" in before and "hermite, N = 21" in title()
    b.controls["size"].value = 22          # rounds down to degree 5: 21 functions
    assert b.spectrum().eigenvectors.shape[0] == 21
    assert "hermite, N = 22 (21 used)" in title()


def test_explorer_accepts_data():
    t = np.arange(600)
    x = np.stack([np.cos(0.3 * t), np.sin(0.3 * t)], 1)
    b = kp.explore(data=x, dictionary="delays", size=2, grid=6)
    assert b.controls["system"].value == "your data"
    assert len(b.spectrum()) > 0


def test_prefetch_computes_the_settings_one_step_away_and_they_match_a_direct_call():
    b = kp.explore("van_der_pol", size=20, n_steps=800, grid=8)
    n = len(tk.systems.SYSTEMS)
    assert f"of {n} trajectories ready" in b.warmth.value
    assert b.prefetched(timeout=300)
    systems = b.controls["system"].options
    assert f"trajectories of all {n} systems ready" in b.warmth.value
    assert b.cached("x") == sorted(systems)
    i = systems.index("van_der_pol")
    beside = {systems[(i + 1) % len(systems)], systems[i - 1]}
    assert beside | {"van_der_pol"} <= set(b.cached())
    # a prefetched system, shown on selection, is what a headless call computes
    b.controls["system"].value = systems[(i + 1) % len(systems)]
    name = b.controls["system"].value
    sys_ = tk.systems.make(name)
    dt = None if sys_.is_map else sys_.default_dt
    x = tk.systems.trajectory(name, 800, dt=dt)
    spec = kp.edmd(x, None, kp.dictionary_of_size("rbf", 20, x.shape[1]), dt=dt or 1.0)
    np.testing.assert_allclose(b.spectrum().eigenvalues, spec.eigenvalues)
    assert f"{len(spec.verified(1e-3))} with residual" in b.status.value
    quiet = kp.explore("van_der_pol", size=20, n_steps=800, grid=8, prefetch=False)
    assert quiet.prefetched() and quiet.cached() == ["van_der_pol"]
    assert quiet.warmth.value == ""


def test_prefetch_queues_the_neighbours_of_the_control_moved_last_first():
    b = kp.explore("van_der_pol", size=10, n_steps=400, grid=6)
    kinds = list(b.controls["dictionary"].options)
    assert [t[0] for t in b.prefetch_plan()[:2]] != ["van_der_pol"] * 2   # systems first
    b.controls["dictionary"].value = kinds[1]
    plan = b.prefetch_plan()
    assert {t[1] for t in plan[:2]} == {kinds[2 % len(kinds)], kinds[0]}
    assert all(t[0] == "van_der_pol" and t[2] == 10 for t in plan[:2])
    b.controls["size"].value = 11
    assert b.prefetch_plan()[:2] == [("van_der_pol", kinds[1], 12),
                                     ("van_der_pol", kinds[1], 10)]
    # the plan holds every neighbour once whichever control moved
    assert len(b.prefetch_plan()) == len(set(b.prefetch_plan())) == 6
    b.prefetched(timeout=300)


def test_a_rank_deficient_dictionary_is_reported_in_the_status_not_warned(recwarn):
    b = kp.explore("van_der_pol", size=60, n_steps=1500, grid=8, dictionary="monomials",
                   prefetch=False)
    spec = b.spectrum()
    assert spec.pencil.rank < spec.eigenvectors.shape[0]
    assert f"span only {spec.pencil.rank} dimensions" in b.status.value
    assert not [w for w in recwarn if "span only" in str(w.message)]


def test_an_eps_move_redraws_in_place_and_sends_only_what_changed():
    # a legend label that changes with ε made HoloViews add Bokeh renderers on every
    # move; the image, reference contours and eigenvalues are kept, not sent again
    import holoviews as hv
    from bokeh.models import GlyphRenderer

    b = kp.explore("van_der_pol", size=24, n_steps=1500, grid=12, eps=1e-3, prefetch=False)
    plot = hv.renderer("bokeh").get_plot(b.dmaps["eigenvalues"])
    renderers = set(plot.state.select(GlyphRenderer))
    image = next(r for r in renderers if type(r.glyph).__name__ == "Image")
    data = dict(image.data_source.data)
    for eps in (1e-2, 10 ** -1.5, 1e-1):
        b.controls["eps"].value = eps
        assert set(plot.state.select(GlyphRenderer)) == renderers
        assert f"ε = {eps:.1e}" in plot.state.title.text
        assert all(image.data_source.data[k] is v for k, v in data.items())
    ring = [r for r in renderers if getattr(r.glyph, "line_color", None) == tk.viz.PALETTE[2]]
    assert ring   # the ε-contour, drawn in the verified points' colour
    b.controls["size"].value = 20
    assert any(image.data_source.data[k] is not v for k, v in data.items())
