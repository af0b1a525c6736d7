"""Explorer: a Koopman spectrum you can steer, with every eigenvalue's certificate.

Every figure is a public call you can run headless::

    x = tk.systems.trajectory(system, n_steps, dt)          # or your data
    spec = kp.edmd(x, None, kp.dictionary_of_size(kind, size, d), dt=dt)
    spec.pseudospectrum(kp.complex_grid(...), rtol=1e-3).plot(levels=[eps, 1e-2, 1e-1])
    spec.plot_eigenfunction(k, x)
    kp.spectral_measure(x, observable, dt=dt).plot(frequency=True)
"""

from __future__ import annotations

import numpy as np

from .. import systems, viz
from .._checks import as_array, positive
from .._prefetch import Prefetch
from .dictionaries import DICTIONARY_KINDS, dictionary_of_size
from .edmd import edmd
from .measures import spectral_measure
from .pseudospectra import complex_grid
from .views import contour_lines, pseudospectrum_layers, verified_points

__all__ = ["explore"]

DATA = "your data"
REFERENCE_LEVELS = (1e-2, 1e-1)   # ε-contours drawn beside the chosen ε


def _eigenvalue_title(system, kind, size, spec, eps=None):
    """Names the dictionary and the size asked for, with the functions it has: polynomial
    bases of one degree span one space (the same eigenvalues) and sizes round to whole
    degrees, so without them a move of either control could leave the plot unchanged."""
    n = spec.eigenvectors.shape[0]
    used = "" if n == size else f" ({n} used)"
    # ε is named here, not in the legend: a legend entry that changes its text is a new
    # layer to HoloViews, a new set of Bokeh models on every move
    return f"{system}: {kind}, N = {size}{used}" + ("" if eps is None else f", ε = {eps:.1e}")


def _nearest(items, item):
    """``items`` (a ring: the list wraps round) ordered by distance from ``item``,
    ``item`` first, then its next and previous neighbours, and so on."""
    i, n = items.index(item), len(items)
    return sorted(items, key=lambda other: min((items.index(other) - i) % n,
                                               (i - items.index(other)) % n))


def _warm_text(done, total):
    if done == total:
        return f"<small>trajectories of all {total} systems ready</small>"
    return (f"<small>integrating the systems in the background: {done} of {total} "
            "trajectories ready</small>")


def explore(system: str = "van_der_pol", *, data=None, dt: float | None = None,
            dictionary: str = "rbf", size: int = 60, eps: float = 1e-3,
            n_steps: int = 4000, grid: int = 36, prefetch: bool = True):
    """Pick a system (or pass ``data``, a trajectory (T, d)), a dictionary and its size,
    and a residual threshold ε; see the EDMD eigenvalues on the unit circle coloured by
    residual over the pseudospectrum's ε-contours, the eigenfunction of the eigenvalue you
    pick (sorted by residual) on the data, and the spectral measure of a coordinate.

    ``dt`` is the sampling interval (default: the system's own, or 1 for data);
    ``grid`` the pseudospectrum's points per side.

    ``prefetch``: after each change of system, dictionary or size (and at open), the
    settings one step away (the next and previous system, dictionary, and size ± 1) are
    computed in a background thread, so that stepping through them shows each one
    without waiting for its trajectory, EDMD and pseudospectrum; the neighbours along the
    control moved last come first (``box.prefetch_plan()``). At open, every system's
    trajectory is queued behind that work, with its progress shown under the status
    line. ``box.prefetched()`` waits for all of it (tests, scripts).
    """

    import holoviews as hv
    import ipywidgets as widgets

    viz._ensure_theme()
    n_steps = positive(n_steps, "n_steps", integer=True)
    grid = positive(grid, "grid", integer=True)
    positive(eps, "eps")
    if data is not None:
        data = as_array(data, "data", ndim=(1, 2), min_length=10)
        data = data[:, None] if data.ndim == 1 else data
        systems_list = [DATA]
        system = DATA
    else:
        systems_list = sorted(systems.SYSTEMS)
        if system not in systems_list:
            systems.make(system)  # raises the usual error for an unknown name
            system = systems.make(system).name

    cache = Prefetch(prefetch, name="koopman-prefetch")
    measures: dict = {}

    def trajectory(name):
        if name == DATA:
            return data, (1.0 if dt is None else float(dt))

        def compute():
            sys_ = systems.make(name)
            step = None if sys_.is_map else (dt or sys_.default_dt)
            return systems.trajectory(name, n_steps, dt=step), step or 1.0

        return cache.get(("x", name), compute)

    def spectrum(name, kind, n):
        def compute():
            x, step = trajectory(name)
            # a rank-deficient dictionary is reported in the status line, not as a
            # warning from whichever thread computed it
            return edmd(x, None, dictionary_of_size(kind, n, x.shape[1]), dt=step,
                        rank_warning=False)

        return cache.get(("spec", name, kind, n), compute)

    def pseudo(name, kind, n):
        def compute():
            spec = spectrum(name, kind, n)
            lim = max(1.3, 1.05 * float(np.max(np.abs(spec.eigenvalues), initial=0)))
            return spec.pseudospectrum(complex_grid((-lim, lim), (-lim, lim), grid),
                                       rtol=1e-3)

        return cache.get(("ps", name, kind, n), compute)

    plan = []   # (system, dictionary, size) queued by the last move, in order

    def prefetch_beside(name, kind, n, moved="system"):
        # one arrow key away: the next and previous system, size and dictionary; the
        # control moved last goes first (a user tends to move it again)
        groups = {"system": [] if name == DATA else
                  [(other, kind, n) for other in _nearest(systems_list, name)[1:3]],
                  "size": [(name, kind, m) for m in (n + 1, n - 1) if 2 <= m <= w_size.max],
                  "dictionary": [(name, other, n)
                                 for other in _nearest(list(DICTIONARY_KINDS), kind)[1:3]]}
        targets = groups[moved] + [t for g, ts in groups.items() if g != moved for t in ts]
        plan[:] = list(dict.fromkeys(targets))
        # small jobs (trajectory, EDMD, pseudospectrum): the worker pauses between them
        # while the user is moving a control
        jobs = []
        for t in plan:
            jobs += [lambda t=t: trajectory(t[0]), lambda t=t: spectrum(*t),
                     lambda t=t: pseudo(*t)]
        cache.ahead(jobs)

    def warm_all():
        # every system's trajectory (the slow part of a switch; it does not depend on the
        # dictionary), nearest in the list first
        if not prefetch or system == DATA:
            return
        order = _nearest(systems_list, system)
        jobs = []
        for k, name in enumerate(order, 1):
            jobs += [lambda s=name: trajectory(s),
                     lambda k=k: setattr(warmth, "value", _warm_text(k, len(order)))]
        warmth.value = _warm_text(0, len(order))
        cache.warm(jobs)

    # ------------------------------------------------------------------ controls
    style = {"description_width": "initial"}
    w_system = widgets.Dropdown(options=systems_list, value=system, description="system")
    w_kind = widgets.Dropdown(options=list(DICTIONARY_KINDS), value=dictionary,
                              description="dictionary")
    w_size = widgets.IntSlider(value=int(size), min=2, max=300, step=1,
                               description="size N", continuous_update=False, style=style)
    w_eps = widgets.FloatLogSlider(value=float(eps), base=10, min=-12, max=0, step=0.25,
                                   description="residual ε", continuous_update=False,
                                   style=style)
    w_eig = widgets.Dropdown(description="eigenvalue", style=style,
                             layout=widgets.Layout(width="420px"))
    w_obs = widgets.Dropdown(description="observable", style=style)
    w_part = widgets.ToggleButtons(options=["real", "abs", "phase"], value="real",
                                   description="show", style=style)
    status = widgets.HTML()
    warmth = widgets.HTML()

    # One stream per view with only what that view shows, so that a control redraws
    # only the views it changes (the eigenvalue choice leaves the spectral measure alone).
    state = dict(system=system, kind=dictionary, size=int(size), eps=float(eps), k=0,
                 observable=0, part="real")
    keys = {"eigenvalues": ("system", "kind", "size", "eps", "k"),
            "eigenfunction": ("system", "kind", "size", "k", "part"),
            "measure": ("system", "observable")}
    streams = {name: hv.streams.Stream.define(name.title(), **{k: state[k] for k in ks})()
               for name, ks in keys.items()}

    def emit(**changes):
        for name, s in streams.items():
            sub = {k: v for k, v in changes.items()
                   if k in keys[name] and s.contents[k] != v}
            if sub:
                s.event(**sub)

    quiet = [False]   # set while refresh_choices resets the choices: one redraw, not two

    def refresh_choices():
        quiet[0] = True
        try:
            return _refresh_choices()
        finally:
            quiet[0] = False

    def _refresh_choices():
        try:
            spec = spectrum(w_system.value, w_kind.value, w_size.value)
        except (ValueError, RuntimeError) as exc:
            status.value = f"<b>cannot compute:</b> {exc}"
            w_eig.options = []
            return None
        labels = [(f"{i}: λ = {lam.real:.4f}{lam.imag:+.4f}i, residual {res:.1e}", i)
                  for i, (lam, res) in enumerate(zip(spec.eigenvalues, spec.residuals))]
        w_eig.options = labels[:80]
        w_eig.value = 0 if labels else None
        x, _ = trajectory(w_system.value)
        w_obs.options = [(f"x{i}", i) for i in range(x.shape[1])]
        if w_obs.value is None:
            w_obs.value = 0
        status.value = status_text(spec)
        return spec

    def status_text(spec):
        n_ok = int(np.sum(spec.residuals <= w_eps.value))
        text = (f"N = {len(spec)} eigenpairs ({spec.residual_method} residuals), "
                f"{n_ok} with residual ≤ {w_eps.value:.1e}")
        n_functions = spec.eigenvectors.shape[0]
        if spec.pencil.rank < n_functions:
            text += (f"; its {n_functions} dictionary functions span only "
                     f"{spec.pencil.rank} dimensions on these data")
        return text

    def on_data_change(change):
        refresh_choices()
        emit(system=w_system.value, kind=w_kind.value, size=w_size.value,
             k=w_eig.value or 0, observable=w_obs.value or 0)
        moved = {id(w_system): "system", id(w_kind): "dictionary", id(w_size): "size"}
        prefetch_beside(w_system.value, w_kind.value, w_size.value,
                        moved.get(id(change["owner"]), "system"))

    for w in (w_system, w_kind, w_size):
        w.observe(on_data_change, names="value")
    w_eps.observe(lambda ch: (refresh_status(), emit(eps=ch["new"])), names="value")
    w_eig.observe(lambda ch: ch["new"] is not None and not quiet[0] and emit(k=ch["new"]),
                  names="value")
    w_obs.observe(lambda ch: ch["new"] is not None and not quiet[0]
                  and emit(observable=ch["new"]), names="value")
    w_part.observe(lambda ch: emit(part=ch["new"]), names="value")

    def refresh_status():
        spec = cache.peek(("spec", w_system.value, w_kind.value, w_size.value))
        if spec is not None:
            status.value = status_text(spec)

    # -------------------------------------------------------------------- views
    def message(text):
        return hv.Text(0, 0, text).opts(xaxis=None, yaxis=None)

    # Pieces of the eigenvalue plot, kept per the settings they depend on: a piece that is
    # the same object as in the last frame is not sent to the browser again, so a move of
    # ε redraws only its contour and the verified points, a new eigenvalue only its ring.
    pieces: dict = {}

    def piece(key, make):
        if key not in pieces:
            if len(pieces) > 512:
                pieces.clear()
            pieces[key] = make()
        return pieces[key]

    def eps_contour(base, eps):
        return contour_lines(base["tau"], [eps]).relabel("ε-contour").opts(
            color=viz.PALETTE[2], line_width=2.5, show_legend=True)

    def selected_ring(spec, k):
        lam = spec.eigenvalues[k]
        return hv.Points([(lam.real, lam.imag)], ["Re z", "Im z"], label="selected").opts(
            size=16, fill_alpha=0, line_color=viz.PALETTE[3], line_width=3)

    def eigenvalue_view(system, kind, size, eps, k):
        try:
            ps = pseudo(system, kind, size)
            spec = spectrum(system, kind, size)
        except (ValueError, RuntimeError) as exc:
            return message(str(exc))
        at = (system, kind, size)
        base = piece(("base", *at), lambda: pseudospectrum_layers(ps, REFERENCE_LEVELS))
        layers = [base["tau"], base["contours"],
                  piece(("eps", *at, eps), lambda: eps_contour(base, eps)),
                  base["circle"], base["eigenvalues"],
                  piece(("verified", *at, eps),
                        lambda: verified_points(ps, eps).relabel("residual ≤ ε"))]
        if 0 <= k < len(spec):
            layers.append(piece(("selected", *at, k), lambda: selected_ring(spec, k)))
        view = hv.Overlay(layers)
        # a square frame (the unit circle round), the legend inside, below the circle
        return view.opts(hv.opts.Image(frame_width=270, frame_height=270, aspect=None,
                                       data_aspect=None),
                         hv.opts.Overlay(title=_eigenvalue_title(system, kind, size, spec, eps),
                                         legend_position="bottom_left", fontsize={
                             "legend": "8pt", "title": "10pt"}))

    def eigenfunction_view(system, kind, size, k, part):
        try:
            spec = spectrum(system, kind, size)
        except (ValueError, RuntimeError) as exc:
            return message(str(exc))
        x, _ = trajectory(system)
        if not 0 <= k < len(spec):
            return message("no eigenvalue selected")
        dims = (0, 2) if x.shape[1] >= 3 else (0, 1)
        el = spec.plot_eigenfunction(k, x, part=part, dims=dims)
        lam = spec.eigenvalues[k]
        # one value name for every part: Bokeh keeps a colour bar's first title, so the
        # part shown is named in the plot title instead
        return el.redim(**{part: "φ"}).opts(
            color="φ", title=f"φ_{k} ({part} part), λ = {lam.real:.3f}{lam.imag:+.3f}i",
            width=420, height=360)

    def measure_view(system, observable):
        x, step = trajectory(system)
        key = (system, observable)
        try:
            if key not in measures:
                measures[key] = spectral_measure(x, observable, dt=step, remove_mean=False)
        except ValueError as exc:
            return message(str(exc))
        nu = measures[key]
        return nu.plot(frequency=True, title=f"{system}: spectral measure of x{observable}")

    dmaps = {name: hv.DynamicMap(fn, streams=[streams[name]]) for name, fn in
             (("eigenvalues", eigenvalue_view), ("eigenfunction", eigenfunction_view),
              ("measure", measure_view))}
    # each system has its own scales: axes follow every frame
    dmaps["measure"] = dmaps["measure"].opts(hv.opts.Curve(framewise=True),
                                             hv.opts.Spikes(framewise=True))
    dmaps["eigenfunction"] = dmaps["eigenfunction"].opts(hv.opts.Points(framewise=True),
                                                         hv.opts.Scatter(framewise=True))
    refresh_choices()
    emit(k=w_eig.value or 0, observable=w_obs.value or 0)
    prefetch_beside(w_system.value, w_kind.value, w_size.value)
    warm_all()

    controls = widgets.VBox([widgets.HBox([w_system, w_kind]), widgets.HBox([w_size, w_eps]),
                             status, warmth, widgets.HBox([w_eig, w_obs]), w_part])
    plots = widgets.VBox([
        widgets.HBox([viz.as_widget(dmaps["eigenvalues"]),
                      viz.as_widget(dmaps["eigenfunction"])]),
        viz.as_widget(dmaps["measure"])])
    box = widgets.VBox([controls, plots])
    # handles for headless use and tests
    box.streams, box.dmaps, box.status = streams, dmaps, status
    box.controls = {"system": w_system, "dictionary": w_kind, "size": w_size, "eps": w_eps,
                    "eigenvalue": w_eig, "observable": w_obs, "part": w_part}
    box.spectrum = lambda: spectrum(w_system.value, w_kind.value, w_size.value)

    box.prefetched, box.warmth = cache.wait, warmth
    box.prefetch_plan = lambda: list(plan)
    # the systems computed so far: "ps" pseudospectra (any settings), "x" trajectories
    box.cached = lambda what="ps": sorted({k[1] for k in cache.keys() if k[0] == what})
    return box
