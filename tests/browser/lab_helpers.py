"""Helpers shared by the browser tests: open and run a notebook in JupyterLab, find the
explorers in its outputs, move every widget and fingerprint what Bokeh draws.

An explorer is found generically (notebooks are edited by others): an output that holds
an ipywidgets container with at least one control and at least one Bokeh plot.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("DYNALENS_BROWSER_ARTIFACTS",
                                Path(__file__).resolve().parent / "artifacts"))
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

PROMPTS_JS = """() => Array.from(document.querySelectorAll(
  '.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')).map(e => e.textContent.trim())"""

ERRORS_JS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
  .filter(e => e.matches('[data-mime-type="application/vnd.jupyter.stderr"]') === false)
  .map(e => e.innerText).filter(t => t.includes('Traceback (most recent call last)')
                                      || /^\\w+(Error|Exception)\\b/m.test(t))"""

# One string per Bokeh document: titles, axis labels, data-source sizes and a weighted
# checksum of their columns, colour-mapper palettes/factors, explicit ranges. Any change
# to what is drawn changes one of these.
FINGERPRINT_JS = """() => {
  const out = [];
  const docs = window.Bokeh ? window.Bokeh.documents : [];
  const sum = (v) => {
    if (!v || typeof v.length !== 'number') return String(v);
    const n = v.length; let s = 0; const stride = Math.max(1, Math.floor(n / 400));
    for (let j = 0; j < n; j += stride) {
      const x = v[j];
      if (typeof x === 'number' && isFinite(x)) s += x * (1 + (j % 97));
      else if (typeof x === 'string') s += x.length * 7 + x.charCodeAt(0) * (1 + (j % 13));
      else if (x && typeof x.length === 'number') s += x.length * (1 + (j % 89));
    }
    return n + ':' + s.toPrecision(10);
  };
  docs.forEach((doc) => {
    const parts = [];
    for (const m of doc._all_models.values()) {
      const t = m.type || (m.constructor && m.constructor.__name__);
      if (t === 'Title') parts.push('T:' + m.text);
      else if (t === 'LinearAxis' || t === 'LogAxis' || t === 'CategoricalAxis')
        parts.push('A:' + m.axis_label);
      else if (t === 'ColumnDataSource') {
        const d = m.data;
        const entries = d instanceof Map ? Array.from(d.entries()) : Object.entries(d);
        entries.sort((a, b) => a[0] < b[0] ? -1 : 1);
        parts.push('D:' + entries.map(([k, v]) => k + '=' + sum(v)).join(','));
      } else if (t && t.endsWith('ColorMapper'))
        parts.push('C:' + String(m.palette) + '/' + String(m.factors || ''));
      else if (t === 'Range1d') parts.push('R:' + m.start + ',' + m.end);
      else if (t === 'GlyphRenderer') parts.push('G:' + m.visible);
    }
    out.push(parts.sort().join('|'));
  });
  return out;
}"""

# Per Bokeh document: how many rows its data sources hold (0: a blank plot; -1: a
# document without plots, such as Panel's comm manager).
# A document whose views all left the page (an explorer replaced a plot) is not shown:
# it counts as no plot (-1), not as a blank one.
ROWS_JS = """() => (window.Bokeh ? window.Bokeh.documents : []).map((doc) => {
  const idx = window.Bokeh.index;
  if (idx && typeof idx.get === 'function') {
    const views = doc.roots().map((r) => idx.get(r)).filter((v) => v);
    if (views.length && !views.some((v) => v.el && v.el.isConnected)) return -1;
  }
  let rows = 0, plots = 0;
  for (const m of doc._all_models.values()) {
    const t = m.type || (m.constructor && m.constructor.__name__);
    if (t === 'Figure' || t === 'Plot' || t === 'GMap') plots += 1;
    if (t === 'ColumnDataSource') {
      const d = m.data;
      const vals = d instanceof Map ? Array.from(d.values()) : Object.values(d);
      for (const v of vals) if (v && typeof v.length === 'number') { rows += v.length; break; }
    }
  }
  return plots ? rows : -1;
})"""

# The outputs that are explorers: an ipywidgets box holding controls and a Bokeh plot.
CONTROLS = (".widget-slider, .widget-dropdown, .widget-toggle-buttons, .widget-button, "
            ".widget-select-multiple, .widget-inline-hbox.widget-text")
EXPLORERS_JS = """(controls) => {
  const outs = Array.from(document.querySelectorAll('.jp-OutputArea-output'));
  return outs.map((o, i) => [i, o]).filter(([i, o]) =>
    o.querySelector('.widget-box') && o.querySelector(controls) &&
    o.querySelector('[class^="bk-"], [class*=" bk-"]'))
    .map(([i, o]) => i);
}"""

OVERFLOW_JS = """(o) => {
  // widest descendant beyond the output's right edge (sideways scrolling), in px
  const right = o.getBoundingClientRect().right;
  let worst = 0;
  for (const e of o.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0) worst = Math.max(worst, r.right - right);
  }
  return Math.max(worst, o.scrollWidth - o.clientWidth);
}"""


class LabError(RuntimeError):
    """JupyterLab could not be started."""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def start_lab(root):
    """JupyterLab on 127.0.0.1 serving a copy of notebooks/ and tutorials/ (in ``root``)
    in quick mode with inline resources; yields {"base", "token", "root"}."""
    root = Path(root)
    for folder in ("notebooks", "tutorials"):
        shutil.copytree(ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_runs"))
    # no autosave: a notebook reopened later must not bring back earlier outputs (their
    # plots would render, and fetch, before the fresh run replaces them)
    settings = root / ".settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    # nor the "fetch Jupyter news?" toast over the outputs in screenshots
    news = root / ".settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "DYNALENS_QUICK": "1", "DYNALENS_INLINE": "1",
           "JUPYTER_CONFIG_DIR": str(root / ".config"), "JUPYTER_RUNTIME_DIR": str(root / ".rt"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / ".ws"),
           "JUPYTERLAB_SETTINGS_DIR": str(root / ".settings")}
    log = open(root / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", "--allow-root", f"--ServerApp.root_dir={root}",
         "--LabApp.news_url=None", "--ServerApp.disable_check_xsrf=False"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    raise LabError("JupyterLab exited: "
                                   f"{(root / 'lab.log').read_text()[-3000:]}") from None
                if time.time() > deadline:
                    raise LabError("JupyterLab did not start: "
                                   f"{(root / 'lab.log').read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield {"base": base, "token": token, "root": root}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def shutdown_kernels(lab):
    """Stop every kernel of ``lab`` (each notebook test starts one)."""
    base, token = lab["base"], lab["token"]
    try:
        with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=10) as r:
            kernels = json.load(r)
        for k in kernels:
            req = urllib.request.Request(f"{base}/api/kernels/{k['id']}?token={token}",
                                         method="DELETE")
            urllib.request.urlopen(req, timeout=20).close()
    except OSError:
        pass


@contextmanager
def chromium_page(executable, width=1400, height=1000):
    """A headless Chromium page (Playwright), ``width`` px wide like a laptop screen."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(executable), headless=True,
            args=["--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-quic"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


def wait_for(page, predicate, timeout, what, interval=200):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


class Watch:
    """Console errors, page errors and requests to any host but this machine."""

    IGNORED_CONSOLE = ("favicon",)

    def __init__(self, page):
        self.console, self.remote = [], []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.console.append(f"pageerror: {exc}"))
        page.on("request", self._on_request)

    def _on_console(self, msg):
        if msg.type == "error" and not any(s in msg.text for s in self.IGNORED_CONSOLE):
            self.console.append(msg.text)

    def _on_request(self, request):
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in LOCAL_HOSTS:
            self.remote.append(request.url)

    def check(self):
        assert not self.remote, f"requests left this machine: {self.remote[:5]}"
        assert not self.console, f"browser console errors: {self.console[:5]}"


def open_and_run(page, lab, notebook, timeout=600):
    """Open ``notebook`` (path under the lab root), run all cells, fail on error output."""
    page.goto(f"{lab['base']}/lab/tree/{notebook}?token={lab['token']}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_selector("text=| Idle", timeout=120_000)
    assert page.locator(".jp-Dialog").count() == 0, "a dialog opened (missing kernelspec?)"
    if page.locator(".jp-Notebook .jp-CodeCell").count() == 0:
        return   # markdown only (the index): rendering it is the whole run
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")

    def finished():
        prompts = page.evaluate(PROMPTS_JS)
        if any("Error" in t for t in page.evaluate(ERRORS_JS)):
            return True   # stop early; the assertion below shows the error
        return prompts and all(p.startswith("[") and p[1:-2].isdigit() for p in prompts)

    wait_for(page, finished, timeout, f"all cells of {notebook} to run", interval=1000)
    wait_for(page, lambda: page.locator("text=| Idle").count() > 0, 120, "the kernel to idle")
    errors = page.evaluate(ERRORS_JS)
    assert not errors, f"{notebook}: cells show errors:\n{errors[0][:3000]}"


def explorers(page):
    """Locators of the explorer outputs, waiting until their Bokeh plots exist."""
    outs = page.locator(".jp-OutputArea-output")
    idx = wait_for(page, lambda: page.evaluate(EXPLORERS_JS, CONTROLS), 60,
                   "an explorer (widgets with a Bokeh plot)")
    return [outs.nth(i) for i in idx]


def fingerprint(page):
    return page.evaluate(FINGERPRINT_JS)


def wait_changed(page, before, what, timeout=60):
    """Wait until some Bokeh document differs from ``before``; returns the new state."""
    def changed():
        now = fingerprint(page)
        return now if now != before else None

    return wait_for(page, changed, timeout, f"the plot to follow {what}", interval=100)


def wait_settled(page, before, what, quiet_ms=500, timeout=60):
    """Wait for a change from ``before``, then until it stops changing for ``quiet_ms``.

    Returns (state, time of the last change, time.perf_counter clock): a control's
    latency is the time from the user's action to the last update it caused.
    """
    state = wait_changed(page, before, what, timeout)
    last_change = time.perf_counter()
    deadline = time.time() + timeout
    while time.time() < deadline:
        page.wait_for_timeout(50)
        now = fingerprint(page)
        if now != state:
            state, last_change = now, time.perf_counter()
        elif (time.perf_counter() - last_change) * 1000 >= quiet_ms:
            break
    return state, last_change


def settle(page, quiet_ms=600, timeout=60):
    """Wait until the Bokeh state stops changing for ``quiet_ms`` (and the kernel idles)."""
    deadline = time.time() + timeout
    last, since = fingerprint(page), time.time()
    while time.time() < deadline:
        page.wait_for_timeout(150)
        now = fingerprint(page)
        if now != last:
            last, since = now, time.time()
        elif (time.time() - since) * 1000 >= quiet_ms and \
                page.locator("text=| Idle").count() > 0:
            return now
    return last


def controls_of(explorer):
    """(kind, locator) for every control of an explorer, in page order."""
    found = []
    for sel, kind in ((".widget-slider", "slider"), (".widget-dropdown select", "dropdown"),
                      (".widget-toggle-buttons", "toggle"), (".widget-select-multiple select",
                                                              "multiselect"),
                      (".widget-inline-hbox.widget-text input", "number"),
                      (".widget-button:not(.widget-toggle-button)", "button")):
        loc = explorer.locator(sel)
        for i in range(loc.count()):
            found.append((kind, loc.nth(i)))
    return found


def label_of(control):
    text = control.evaluate("""(e) => {
      const box = e.closest('.widget-inline-hbox') || e;
      const label = box.querySelector('.widget-label');
      return (label && label.textContent.trim()) || e.textContent.trim() || e.tagName;
    }""")
    return text or "?"


def move(page, kind, control):
    """Change one control to another value, the way a user would."""
    if kind == "slider":
        handle = control.locator(".noUi-handle").last   # range sliders: move the top end
        handle.scroll_into_view_if_needed()
        handle.focus()
        page.keyboard.press("ArrowLeft" if _at_max(handle) else "ArrowRight")
    elif kind == "dropdown":
        n = control.locator("option").count()
        current = control.evaluate("(s) => s.selectedIndex")
        control.select_option(index=(current + 1) % n)
    elif kind == "toggle":
        control.locator("button:not(.mod-active)").first.click()
    elif kind == "multiselect":
        options = control.locator("option")
        control.select_option(index=[i for i in range(options.count())
                                     if not options.nth(i).evaluate("(o) => o.selected")][:2])
    elif kind == "number":
        value = int(float(control.input_value()))
        control.fill(str(max(50, value // 2)))
        control.press("Enter")
    elif kind == "button":
        control.click()
    else:
        raise ValueError(kind)


def _has_range(control):
    low, top = control.locator(".noUi-handle").last.evaluate(
        "(h) => [h.getAttribute('aria-valuemin'), h.getAttribute('aria-valuemax')]")
    try:
        return float(top) > float(low)
    except (TypeError, ValueError):
        return False


def _at_max(handle):
    now, top = handle.evaluate("(h) => [h.getAttribute('aria-valuenow'),"
                               " h.getAttribute('aria-valuemax')]")
    try:
        return float(now) >= float(top)
    except (TypeError, ValueError):
        return False


def screenshot(explorer, name):
    """The explorer's output as a png; the window grows for the shot so that a tall
    explorer is taken whole (at 1400 px width, as on a laptop)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = explorer.page
    size = page.viewport_size
    height = int(explorer.evaluate("(e) => e.getBoundingClientRect().height"))
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height + 400)})
    try:
        page.wait_for_timeout(300)
        explorer.scroll_into_view_if_needed()
        path = ARTIFACTS / f"{name}.png"
        explorer.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
    return path


def overflow_px(explorer):
    return explorer.evaluate(OVERFLOW_JS)


def blank_plots(page):
    return [i for i, rows in enumerate(page.evaluate(ROWS_JS)) if rows == 0]


def exercise_notebook(page, lab, notebook, *, name, deferred=(), run_button=None,
                      max_overflow=0, record=None):
    """Run ``notebook``, then move every control of every explorer and check the plot.

    ``deferred``: labels of controls that only take effect when ``run_button`` (a button
    label, e.g. "Train") is pressed; they are moved first, then the button is pressed and
    the plots must keep changing while it runs. Every other control must change the
    Bokeh state on its own. ``record`` (a list) receives (explorer, control, seconds) for
    each move: the in-browser latency from the key press to the changed Bokeh state.
    """
    watch = Watch(page)
    open_and_run(page, lab, notebook)
    found = explorers(page)
    assert found, f"{notebook}: no explorer found"
    for e, explorer in enumerate(found):
        tag = f"{name}_{e}" if len(found) > 1 else name
        settle(page)
        assert not blank_plots(page) or run_button, \
            f"{tag}: blank Bokeh plots {blank_plots(page)} after opening"
        over = overflow_px(explorer)
        assert over <= max_overflow, f"{tag}: {over:.0f} px wider than the notebook at 1400 px"
        controls = controls_of(explorer)
        assert controls, f"{tag}: no controls"
        screenshot(explorer, f"{tag}_open")
        buttons = [(k, c) for k, c in controls if k == "button"]
        others = [(k, c) for k, c in controls if k != "button"]
        later = []
        for kind, control in others:
            label = label_of(control)
            if run_button and not any(label.startswith(d) for d in deferred):
                later.append((kind, control))   # e.g. a step slider: only after training
                continue
            before = settle(page)
            t0 = time.perf_counter()
            move(page, kind, control)
            if any(label.startswith(d) for d in deferred):
                continue
            _, t_last = wait_settled(page, before, f"{tag}: {kind} {label!r}")
            if record is not None:
                record.append((tag, f"{kind} {label}", t_last - t0))
        for kind, control in buttons:
            label = label_of(control)
            before = settle(page, quiet_ms=300)
            t0 = time.perf_counter()
            move(page, kind, control)
            if label == run_button:
                # the curves must grow while the run goes on, not only at its end
                states = [before]
                while len(states) < 4:
                    states.append(wait_changed(page, states[-1], f"{tag}: {label} (live)",
                                               timeout=120))
                    assert len(states) < 3 or control.is_disabled(), \
                        f"{tag}: curves only changed after the run"
                wait_for(page, lambda c=control: not c.is_disabled(), 400,
                         f"{tag}: the {label} run to end", interval=1000)
                t_last = time.perf_counter()
            else:
                _, t_last = wait_settled(page, before, f"{tag}: button {label!r}")
            if record is not None:
                record.append((tag, f"button {label}", t_last - t0))
        for kind, control in later:
            label = label_of(control)
            if kind == "slider":
                # the button comes back as the run ends; the slider's new range (the
                # steps trained) can reach the browser a moment later
                wait_for(page, lambda c=control: _has_range(c), 60,
                         f"{tag}: slider {label!r} to get more than one value")
            before = settle(page)
            t0 = time.perf_counter()
            move(page, kind, control)
            _, t_last = wait_settled(page, before, f"{tag}: {kind} {label!r}")
            if record is not None:
                record.append((tag, f"{kind} {label}", t_last - t0))
        settle(page)
        assert not blank_plots(page), f"{tag}: blank Bokeh plots {blank_plots(page)}"
        screenshot(explorer, f"{tag}_moved")
    errors = page.evaluate(ERRORS_JS)
    assert not errors, f"{notebook}: errors after moving widgets:\n{errors[0][:3000]}"
    watch.check()
    return found


def run_curated(lab_page, notebook, **kw):
    """One curated notebook's browser test; in-browser latencies go to ARTIFACTS."""
    page, lab = lab_page
    name = Path(notebook).stem
    record = []
    found = exercise_notebook(page, lab, notebook, name=name, record=record, **kw)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}_latency.json").write_text(json.dumps(
        [{"explorer": t, "control": c, "seconds": round(s, 3)} for t, c, s in record],
        indent=1))
    return found
