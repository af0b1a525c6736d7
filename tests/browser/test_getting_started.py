"""Run the getting-started tutorial in real JupyterLab + Chromium and move a slider."""

import time

import pytest

pytestmark = pytest.mark.browser

NOTEBOOK = "tutorials/getting_started.ipynb"

TITLES_JS = """() => {
  const out = [];
  for (const doc of (window.Bokeh ? window.Bokeh.documents : [])) {
    for (const m of doc._all_models.values()) {
      if (m.type === 'Title' || (m.constructor && m.constructor.__name__ === 'Title')) {
        out.push(m.text);
      }
    }
  }
  return out;
}"""

PROMPTS_JS = """() => Array.from(document.querySelectorAll(
  '.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')).map(e => e.textContent.trim())"""

ERRORS_JS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
  .map(e => e.innerText).filter(t => t.includes('Traceback (most recent call last)')
                                      || /^\\w+Error\\b/m.test(t))"""


def _wait(page, predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(500)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def test_getting_started_runs_and_slider_updates_bokeh_plot(lab_page):
    page, lab = lab_page
    page.goto(f"{lab['base']}/lab/tree/{NOTEBOOK}?token={lab['token']}&reset")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell")
    page.wait_for_selector("text=| Idle", timeout=90_000)
    # a kernel-choice dialog would mean a missing kernelspec in the notebook
    assert page.locator(".jp-Dialog").count() == 0

    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")

    def finished():
        prompts = page.evaluate(PROMPTS_JS)
        return prompts and all(p.startswith("[") and p[1:-2].isdigit() for p in prompts)

    _wait(page, finished, 300, "all cells to run")
    errors = page.evaluate(ERRORS_JS)
    assert not errors, f"cells show errors:\n{errors[0][:2000]}"

    page.wait_for_selector(".widget-slider .noUi-handle")
    before = _wait(page, lambda: [t for t in page.evaluate(TITLES_JS) if t.startswith("lorenz63:")],
                   60, "the explorer's Bokeh plot")
    handle = page.locator(".widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")

    def changed():
        now = [t for t in page.evaluate(TITLES_JS) if t.startswith("lorenz63:")]
        return [t for t in now if t not in before]

    new_titles = _wait(page, changed, 60, "the plot to follow the slider")
    assert new_titles[0] != before[0]
    assert not page.evaluate(ERRORS_JS)
