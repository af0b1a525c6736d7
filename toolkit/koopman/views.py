"""HoloViews views of Koopman results, styled through ``toolkit.viz``."""

from __future__ import annotations

import numpy as np

from .. import viz
from .._checks import one_of

__all__ = ["unit_circle", "eigenvalue_plot", "eigenfunction_plot", "pseudospectrum_plot",
           "pseudospectrum_layers", "contour_lines", "verified_points", "spectral_measure_plot"]

GREY = "#999999"


def _phase_colors(n=64):
    """A cyclic hue wheel for phases (no colormap package needed)."""
    import colorsys

    out = []
    for h in np.linspace(0, 1, n, endpoint=False):
        r, g, b = (int(255 * c) for c in colorsys.hsv_to_rgb(h, 0.75, 0.9))
        out.append(f"#{r:02x}{g:02x}{b:02x}")
    return out


def unit_circle():
    import holoviews as hv

    t = np.linspace(0, 2 * np.pi, 361)
    return hv.Curve((np.cos(t), np.sin(t)), "Re λ", "Im λ").opts(
        color=GREY, line_dash="dashed", line_width=1, tools=[])


def _eigen_points(lam, res, *, eps=None):
    import holoviews as hv

    data = {"Re λ": lam.real, "Im λ": lam.imag,
            "log10 residual": np.log10(np.maximum(res, 1e-16)), "residual": res,
            "|λ|": np.abs(lam), "index": np.arange(len(lam))}
    pts = hv.Points(data, kdims=["Re λ", "Im λ"],
                    vdims=["log10 residual", "residual", "|λ|", "index"]).opts(
        color="log10 residual", cmap="viridis_r", colorbar=True, size=7, line_color="black",
        tools=["hover", "tap"], clim=(-16, 0))
    if eps is None:
        return pts
    ok = res <= eps
    ring = hv.Points((lam.real[ok], lam.imag[ok]), ["Re λ", "Im λ"],
                     label=f"residual ≤ {eps:g}").opts(
        size=14, fill_alpha=0, line_color=viz.PALETTE[1], line_width=2, color=viz.PALETTE[1])
    return pts * ring


def eigenvalue_plot(spectrum, eps=None, *, title=""):
    viz._ensure_theme()
    lam, res = spectrum.eigenvalues, spectrum.residuals
    n_ok = "" if eps is None else f", {int(np.sum(res <= eps))} with residual ≤ {eps:g}"
    title = title or f"{len(lam)} EDMD eigenvalues{n_ok}"
    lim = max(1.1, float(np.max(np.abs(lam), initial=0)) * 1.05)
    return (unit_circle() * _eigen_points(lam, res, eps=eps)).opts(
        title=title, width=viz.HEIGHT + 80, height=viz.HEIGHT, xlim=(-lim, lim),
        ylim=(-lim, lim), data_aspect=1, legend_position="bottom_right")


def eigenfunction_plot(spectrum, k, X, *, part="real", dims=(0, 1)):
    import holoviews as hv

    viz._ensure_theme()
    one_of(part, "part", ("real", "abs", "phase"))
    if not 0 <= int(k) < len(spectrum):
        raise ValueError(f"k: eigenpair {k} does not exist ({len(spectrum)} eigenpairs)")
    X = np.asarray(X, dtype=float)
    X = X[:, None] if X.ndim == 1 else X
    phi = spectrum.eigenfunctions(X)[:, int(k)]
    X = X[: len(phi)]  # a delay dictionary gives fewer rows than samples
    phi = phi / (np.max(np.abs(phi)) or 1.0)
    value = {"real": phi.real, "abs": np.abs(phi), "phase": np.angle(phi)}[part]
    lam, res = spectrum.eigenvalues[int(k)], spectrum.residuals[int(k)]
    title = (f"φ_{int(k)} ({part}): λ = {lam.real:.4f}{lam.imag:+.4f}i, "
             f"residual {res:.1e}")
    if X.shape[1] == 1:
        return hv.Scatter((X[:, 0], value), "x0", part).opts(title=title, size=3)
    i, j = dims
    cmap = _phase_colors() if part == "phase" else "RdBu_r" if part == "real" else "viridis"
    el = hv.Points({f"x{i}": X[:, i], f"x{j}": X[:, j], part: value},
                   [f"x{i}", f"x{j}"], [part]).opts(
        color=part, cmap=cmap, colorbar=True, size=3, title=title, tools=["hover"])
    if part == "real":
        lim = float(np.max(np.abs(value))) or 1.0
        el = el.opts(clim=(-lim, lim))
    elif part == "phase":
        el = el.opts(clim=(-np.pi, np.pi))
    return el


def pseudospectrum_layers(ps, levels=None, *, eps=None) -> dict:
    """The pieces of :func:`pseudospectrum_plot`, by name, in drawing order: ``"tau"``
    (log10 τ_N as an image, or points on an irregular grid), ``"contours"`` (at
    ``levels``; None off a regular grid), ``"circle"``, ``"eigenvalues"`` and, with
    ``eps``, ``"verified"`` (residual ≤ eps). An explorer keeps the pieces a control
    leaves alone and redraws only the others."""
    import holoviews as hv

    viz._ensure_theme()
    grid, tau = ps.grid, ps.tau
    levels = [1e-3, 1e-2, 1e-1, 0.3] if levels is None else levels
    levels = sorted(float(v) for v in np.atleast_1d(levels))
    logt = np.log10(np.maximum(tau, 1e-16))
    regular = grid.ndim == 2 and grid.shape[0] > 1 and grid.shape[1] > 1 and \
        np.allclose(grid.imag, grid.imag[:, :1]) and np.allclose(grid.real, grid.real[:1])
    out = {}
    if regular:
        xs, ys = grid.real[0], grid.imag[:, 0]
        out["tau"] = hv.Image((xs, ys, logt), ["Re z", "Im z"], "log10 τ").opts(
            cmap="Greys_r", colorbar=True, clim=(float(logt.min()), max(0.0, logt.max())))
        out["contours"] = contour_lines(out["tau"], levels).opts(
            cmap="plasma", line_width=1.5, colorbar=False, show_legend=False)
    else:
        z = grid.ravel()
        out["tau"] = hv.Points({"Re z": z.real, "Im z": z.imag, "log10 τ": logt.ravel()},
                               ["Re z", "Im z"], ["log10 τ"]).opts(
            color="log10 τ", cmap="Greys_r", colorbar=True, size=5)
        out["contours"] = None
    out["circle"] = unit_circle().redim(**{"Re λ": "Re z", "Im λ": "Im z"})
    lam = ps.eigenvalues
    out["eigenvalues"] = hv.Points((lam.real, lam.imag), ["Re z", "Im z"],
                                   label="EDMD eigenvalues").opts(
        color=viz.PALETTE[1], size=6, marker="x", line_width=2)
    if eps is not None:
        out["verified"] = verified_points(ps, eps)
    return out


def verified_points(result, eps):
    """The eigenvalues of ``result`` (a spectrum or pseudospectrum) with residual ≤ eps."""
    import holoviews as hv

    lam, res = result.eigenvalues, result.residuals
    ok = res <= eps
    return hv.Points((lam.real[ok], lam.imag[ok]), ["Re z", "Im z"],
                     label=f"residual ≤ {eps:g}").opts(color=viz.PALETTE[2], size=8,
                                                       line_color="black")


def contour_lines(image, levels):
    """Contours of a log10 τ image at values ``levels`` of ε (not of log10 ε)."""
    import holoviews as hv

    return hv.operation.contours(image, levels=[np.log10(float(v)) for v in levels],
                                 overlaid=False)


def pseudospectrum_plot(ps, levels=None, *, title="", eps=None):
    layers = pseudospectrum_layers(ps, levels, eps=eps)
    levels = sorted(float(v) for v in np.atleast_1d(
        [1e-3, 1e-2, 1e-1, 0.3] if levels is None else levels))
    title = title or "pseudospectrum: log10 τ_N(z)"
    over = None
    for el in layers.values():
        if el is not None:
            over = el if over is None else over * el
    lv = ", ".join(f"{v:g}" for v in levels)
    return over.opts(title=f"{title}  (contours: ε = {lv})", width=viz.HEIGHT + 120,
                     height=viz.HEIGHT, legend_position="bottom_right")


def spectral_measure_plot(measure, *, title="", frequency=False, logy=False):
    import holoviews as hv

    viz._ensure_theme()
    th = measure.theta
    xlabel = "θ (radians per step)"
    x = th
    if frequency:
        x = th / measure.dt
        xlabel = "ω (radians per time unit)"
    dens = measure.density
    extra = {}
    if logy:  # filtered densities dip slightly below zero where the measure is tiny
        floor = max(float(dens.max()) * 1e-6, 1e-300)
        dens = np.maximum(dens, floor)
        extra = {"ylim": (floor, None)}
    curve = hv.Curve((x, dens), xlabel, "density").opts(
        color=viz.PALETTE[0], logy=logy, tools=["hover"], **extra)
    label = f"{measure.method}" + (f", {measure.filter} filter, N = {measure.n_moments}"
                                   if measure.method == "moments"
                                   else f", ε = {measure.epsilon:g}")
    over = hv.Overlay([curve.relabel(f"smoothed measure ({label})")])
    if len(measure.atoms):
        ax = measure.atoms / (measure.dt if frequency else 1.0)
        top = float(np.max(measure.density)) if len(measure.density) else 1.0
        # spikes scaled to the curve's height so both are visible; hover shows the mass
        h = measure.atom_masses / max(float(np.max(measure.atom_masses)), 1e-300) * top
        spikes = hv.Spikes({xlabel: ax, "height": h, "mass": measure.atom_masses},
                           xlabel, ["height", "mass"], label="point spectrum (atoms)").opts(
            color=viz.PALETTE[1], line_width=2, tools=["hover"])
        over = over * spikes
    return over.opts(title=title or "spectral measure", width=2 * viz.WIDTH,
                     legend_position="top_right", logy=logy, **extra)
