"""Questions and worked answers in the notebooks: collapsed answers, and handouts without them.

Each notebook asks a tutor's questions; each question is followed by its answer, in cells tagged
``answer`` (:data:`TAG`):

- a prose answer is a markdown cell holding a ``<details>`` block: collapsed in JupyterLab,
  Voila and nbconvert's HTML, readable when opened;
- an answer that computes is a code cell (its source collapsed in JupyterLab:
  ``metadata.jupyter.source_hidden``) that asserts its claim and shows its numbers with
  :func:`show`, again as a collapsed ``<details>`` block, so the numbers it quotes are printed by
  the cell that checks them.

A tutor hands out the notebooks without the answers with :func:`strip` (``o2ml answers strip
NOTEBOOK... --out DIR``): every cell tagged ``answer`` is removed (nbconvert's
``TagRemovePreprocessor``), nothing else changes, and the stripped notebooks still run.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable
from pathlib import Path

from ._extras import missing
from .errors import BadArgumentError, BadFileError, InputFileNotFoundError, OutputExistsError

__all__ = ["SUMMARY", "TAG", "details", "show", "strip"]

#: the cell tag of every answer cell
TAG = "answer"
#: the line a collapsed answer shows
SUMMARY = "Show the answer"


def details(text: str, summary: str = SUMMARY) -> str:
    """The HTML of a collapsed answer: ``<details>`` with ``text`` (plain text, lines kept)."""
    body = html.escape(text).replace("\n", "<br>\n")
    return (
        f'<details class="o2ml-answer"><summary><b>{html.escape(summary)}</b></summary>\n'
        f'<div style="margin: 0.5em 0 0.5em 1.5em">{body}</div></details>'
    )


def show(text: str, summary: str = SUMMARY) -> None:
    """Show a computed answer collapsed (HTML ``<details>``) in a notebook, as text elsewhere."""
    if not _in_notebook():  # a script or a terminal: the text itself
        print(f"{summary}: {text}")
        return
    from IPython.display import HTML, display

    display(HTML(details(text, summary)), metadata={"o2ml": "answer"})


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def strip(
    notebooks: Iterable[str | os.PathLike], out_dir: str | os.PathLike, *, overwrite: bool = False
) -> dict[Path, int]:
    """Write each notebook into ``out_dir`` without its answer cells; returns the number of
    cells removed per written file. A file that would replace an input, or an existing file
    without ``overwrite``, is an error, and nothing is written then."""
    try:
        import nbformat
        from nbconvert.preprocessors import TagRemovePreprocessor
    except ImportError as err:  # the optional extra
        raise missing("dashboards", "o2ml answers strip", err) from err

    out = Path(out_dir)
    sources = [Path(p) for p in notebooks]
    if not sources:
        raise BadArgumentError("strip: no notebook given.")
    remover = TagRemovePreprocessor(remove_cell_tags={TAG}, enabled=True)
    stripped: dict[Path, tuple] = {}  # every input read and checked before anything is written
    for src in sources:
        if not src.is_file():
            raise InputFileNotFoundError(f"{src}: no such notebook.")
        dst = out / src.name
        if dst.resolve() == src.resolve():
            raise OutputExistsError(f"{dst}: would replace the notebook it strips; choose --out.")
        if dst in stripped:
            raise BadArgumentError(f"{src} and another notebook would both be written to {dst}.")
        if dst.exists() and not overwrite:
            raise OutputExistsError(f"{dst}: already there; pass --overwrite to replace it.")
        try:
            nb = nbformat.read(src, as_version=4)
        except Exception as err:  # not JSON, not a notebook (nbformat raises several kinds)
            raise BadFileError(
                f"{src}: expected a Jupyter notebook (nbformat 4), found: {err}"
            ) from err
        before = len(nb.cells)
        nb, _ = remover.preprocess(nb, {})
        stripped[dst] = (nb, before - len(nb.cells))
    out.mkdir(parents=True, exist_ok=True)
    for dst, (nb, _) in stripped.items():
        nbformat.write(nb, dst)
    return {dst: n for dst, (_, n) in stripped.items()}
