"""Write notebooks from readable sources, and keep committed notebooks clean.

    python scripts/notebook_source.py --build src.py notebooks/foo.ipynb
    python scripts/notebook_source.py --export notebooks/foo.ipynb > src.py
    python scripts/notebook_source.py --strip notebooks/*.ipynb tutorials/*.ipynb

Sources use the "percent" format: cells start with ``# %%`` (code) or ``# %% [markdown]``
(markdown, each line prefixed by ``# ``). ``# %% tags=["parameters"]`` tags a cell.
Built notebooks carry the python3 kernelspec and no outputs or widget state.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
_HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def build(source: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    cells, kind, tags, lines = [], None, [], []

    def flush():
        if kind is None:
            return
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            text = "\n".join(re.sub(r"^# ?", "", ln) for ln in text.splitlines())
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell(text)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    for line in source.splitlines():
        m = _HEADER.match(line)
        if m:
            flush()
            kind = "markdown" if m.group("md") else "code"
            tags = json.loads(m.group("tags")) if m.group("tags") else []
            lines = []
        else:
            lines.append(line)
    flush()
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i:02d}"
    nb.cells = cells
    return nb


def export(nb) -> str:
    out = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags")
        suffix = f" tags={json.dumps(tags)}" if tags else ""
        if cell.cell_type == "markdown":
            out.append(f"# %% [markdown]{suffix}")
            out.extend(("# " + ln) if ln else "#" for ln in cell.source.splitlines())
        else:
            out.append(f"# %%{suffix}")
            out.extend(cell.source.splitlines())
        out.append("")
    return "\n".join(out)


def strip(nb) -> bool:
    changed = False
    if "widgets" in nb.metadata:
        del nb.metadata["widgets"]
        changed = True
    for cell in nb.cells:
        if cell.cell_type == "code":
            if cell.outputs or cell.execution_count is not None:
                changed = True
            cell.outputs, cell.execution_count = [], None
        for key in ("execution", "collapsed", "scrolled"):
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
    return changed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--build", nargs=2, metavar=("SOURCE", "NOTEBOOK"))
    g.add_argument("--export", metavar="NOTEBOOK")
    g.add_argument("--strip", nargs="+", metavar="NOTEBOOK")
    args = ap.parse_args(argv)
    if args.build:
        src, dst = args.build
        with open(src) as fh:
            nb = build(fh.read())
        nbformat.validate(nb)
        nbformat.write(nb, dst)
    elif args.export:
        sys.stdout.write(export(nbformat.read(args.export, as_version=4)))
    else:
        for path in args.strip:
            nb = nbformat.read(path, as_version=4)
            if strip(nb):
                nbformat.write(nb, path)
                print(f"stripped {path}")


if __name__ == "__main__":
    main()
