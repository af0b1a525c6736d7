"""Explorer: train the grokking recipe from widgets and watch it generalise.

Controls for the task, p, train fraction, weight decay, learning rate, activation and
output scale; a Train button; live curves of accuracy, loss, weight norm and the chosen
probes while training runs; then a step slider showing the embedding spectrum and the
key-frequency neurons at that step. Every figure is a public call:
``tk.grokking.make_run(...).train(...)``, ``tk.grokking.embedding_spectrum(model)``,
``tk.grokking.neuron_frequencies(model)``.
"""

from __future__ import annotations

from .tasks import OPERATIONS, is_prime

__all__ = ["explore"]

PRIMES = [p for p in range(17, 128) if is_prime(p)]
PROBE_CHOICES = ["weight_norm", "movement", "grad_norm", "softmax_collapse",
                 "fourier/embedding_gini", "fourier/median_neuron_fraction",
                 "fourier/key_neuron_share", "fourier/restricted_loss",
                 "fourier/excluded_loss"]


def explore(task: str = "add", p: int = 59, *, train_fraction: float = 0.4,
            weight_decay: float = 1.0, lr: float = 3e-3, activation: str = "square",
            output_scale: float = 1.0, n_steps: int = 3000, log_every: int = 25,
            seed: int = 0):
    """Widgets to run :func:`~toolkit.grokking.make_run` live and inspect the result.

    Returns an ``ipywidgets.VBox`` with handles for headless use: ``box.controls`` (dict of
    widgets), ``box.train_button``, ``box.step_slider``, ``box.stream`` and ``box.dmap``
    (the step stream and Fourier view of the last run), ``box.curves`` (the LiveCurves)
    and ``box.run`` (the last :class:`~toolkit.grokking.recipes.GrokkingRun`, None before
    training).
    """
    import holoviews as hv
    import ipywidgets as widgets

    from .. import viz
    from .fourier import embedding_spectrum, neuron_frequencies
    from .models import ACTIVATIONS
    from .recipes import make_run

    viz._ensure_theme()
    if not is_prime(p) or p < 3:
        raise ValueError(f"p: choose an odd prime, got {p}")
    primes = sorted(set(PRIMES) | {p})
    style = {"description_width": "110px"}
    c = {
        "task": widgets.Dropdown(options=list(OPERATIONS), value=task, description="task",
                                 style=style),
        "p": widgets.Dropdown(options=primes, value=p, description="p", style=style),
        "train_fraction": widgets.FloatSlider(value=train_fraction, min=0.1, max=0.9,
                                              step=0.05, description="train fraction",
                                              continuous_update=False, style=style),
        "weight_decay": widgets.FloatLogSlider(value=weight_decay, base=10, min=-3, max=1,
                                               step=0.25, description="weight decay",
                                               continuous_update=False, style=style),
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-4, max=-1.5, step=0.25,
                                     description="learning rate", continuous_update=False,
                                     style=style),
        "activation": widgets.Dropdown(options=list(ACTIVATIONS), value=activation,
                                       description="activation", style=style),
        "output_scale": widgets.FloatLogSlider(value=output_scale, base=10, min=-1, max=1,
                                               step=0.1, description="output scale α",
                                               continuous_update=False, style=style),
        "n_steps": widgets.BoundedIntText(value=n_steps, min=50, max=100_000, step=500,
                                          description="max steps", style=style),
        "probes": widgets.SelectMultiple(options=PROBE_CHOICES,
                                         value=("weight_norm", "fourier/excluded_loss"),
                                         description="probes", rows=5, style=style),
    }
    button = widgets.Button(description="Train", button_style="primary", icon="play")
    status = widgets.HTML("Set the controls and press <b>Train</b>.")
    step_slider = widgets.SelectionSlider(options=[0], value=0, description="step",
                                          continuous_update=False,
                                          layout=widgets.Layout(width="500px"))
    plots = widgets.VBox([])
    Step = hv.streams.Stream.define("Step", step=0)
    box = widgets.VBox()
    box.run, box.curves = None, []

    def fourier_view(step):
        run = box.run
        model = run.model_at(step)
        spec = embedding_spectrum(model)
        nf = neuron_frequencies(model)
        return (spec.plot(title=f"step {step}: embedding, Gini {spec.gini:.2f}")
                + nf.plot()[1].opts(title=f"neurons above {nf.threshold:.2f} by frequency"))

    def fourier_widget(step):
        # one fresh view per run: each run has its own frequencies (p) and axis ranges
        box.stream = Step(step=step)
        box.dmap = hv.DynamicMap(fourier_view, streams=[box.stream]).opts(
            hv.opts.Bars(framewise=True, width=480, height=300))
        return viz.as_widget(box.dmap)

    fourier_pane = widgets.Box([widgets.HTML("<i>The Fourier views of the embedding and "
                                             "the neurons appear after training.</i>")])

    def fresh_curves():
        # empty axes from the start, so the user sees where the curves of a run will grow
        chosen = list(c["probes"].value)
        acc = viz.LiveCurves(["train/accuracy", "test/accuracy"], ylabel="accuracy",
                             title="accuracy")
        loss = viz.LiveCurves(["train/loss", "test/loss"], ylabel="loss", logy=True,
                              title="loss")
        extra = viz.LiveCurves(chosen or ["weight_norm"], ylabel="value", title="probes")
        box.curves = [acc, loss, extra]
        plots.children = [widgets.HBox([viz.as_widget(acc.view()),
                                        viz.as_widget(loss.view())]),
                          viz.as_widget(extra.view())]

    def on_train(_=None):
        settings = {k: w.value for k, w in c.items() if k not in ("task", "p", "probes",
                                                                    "n_steps")}
        fresh_curves()
        button.disabled = True
        status.value = "training…"
        try:
            run = make_run(c["task"].value, c["p"].value, seed, n_steps=c["n_steps"].value,
                           log_every=log_every, fourier_every=2, **settings)
            box.run = run

            def on_log(step, values):
                for curve in box.curves:
                    curve.update(step, values)

            history = run.train(on_log=on_log, progress=False, keep_snapshots=True)
        except (ValueError, TypeError) as err:
            status.value = f"<span style='color:#D55E00'>{err}</span>"
            return
        finally:
            button.disabled = False
        from .summary import steps_to_grok

        def reached(step):
            return f"step {step}" if step is not None else "not reached"

        g = steps_to_grok(history)
        status.value = (f"{history.meta['steps_run']} steps in {history.meta['seconds']:.1f} s"
                        f" — train 99% at {reached(g.train)}, test 99% at {reached(g.test)}")
        steps = sorted(run.snapshots)
        box.stream = None   # the previous run's view is dropped below
        step_slider.options = steps
        step_slider.value = steps[-1]
        fourier_pane.children = [fourier_widget(steps[-1])]

    button.on_click(on_train)
    step_slider.observe(lambda ch: box.stream is not None and box.stream.event(step=ch["new"]),
                        names="value")
    controls = widgets.HBox([widgets.VBox([c["task"], c["p"], c["train_fraction"],
                                           c["weight_decay"], c["lr"]]),
                             widgets.VBox([c["activation"], c["output_scale"], c["n_steps"],
                                           c["probes"]])])
    fresh_curves()
    box.children = [controls, widgets.HBox([button, status]), plots, step_slider, fourier_pane]
    box.controls, box.train_button, box.step_slider = c, button, step_slider
    box.stream = box.dmap = None   # set by each run
    box.status = status
    box.train = on_train
    return box
