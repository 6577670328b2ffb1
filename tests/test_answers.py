"""Questions and worked answers in the notebooks (o2ml.answers): collapsed, checked, strippable."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from o2ml import answers, cli
from o2ml.errors import BadArgumentError, BadFileError, InputFileNotFoundError, OutputExistsError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("0*.ipynb"))


def _tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def _toy(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    q = nbformat.v4.new_markdown_cell("**Question 1.** Why?")
    q.metadata["tags"] = ["question"]
    a = nbformat.v4.new_markdown_cell(answers.details("Because.").replace("<br>", ""))
    a.metadata["tags"] = [answers.TAG]
    code = nbformat.v4.new_code_cell("x = 1\nassert x == 1")
    code.metadata.update({"tags": [answers.TAG], "jupyter": {"source_hidden": True}})
    nb.cells = [nbformat.v4.new_code_cell("y = 2"), q, a, code, nbformat.v4.new_code_cell("y")]
    nbformat.write(nb, path)
    return path


def test_details_is_collapsed_and_escaped():
    html = answers.details("a < b\nsecond line")
    assert html.startswith('<details class="o2ml-answer"><summary>') and "<details open" not in html
    assert "a &lt; b<br>" in html and answers.SUMMARY in html


def test_strip_removes_the_answer_cells_and_nothing_else(tmp_path):
    src = _toy(tmp_path / "nb.ipynb")
    done = answers.strip([src], tmp_path / "out")
    out = nbformat.read(tmp_path / "out" / "nb.ipynb", as_version=4)
    assert done == {tmp_path / "out" / "nb.ipynb": 2}
    assert [c.source for c in out.cells] == ["y = 2", "**Question 1.** Why?", "y"]
    assert nbformat.read(src, as_version=4).cells[2].metadata["tags"] == ["answer"]  # untouched


def test_strip_refuses_to_replace_and_names_the_file(tmp_path, capsys):
    src = _toy(tmp_path / "nb.ipynb")
    before = src.read_bytes()
    with pytest.raises(OutputExistsError, match="would replace the notebook"):
        answers.strip([src], tmp_path)
    assert src.read_bytes() == before
    with pytest.raises(InputFileNotFoundError, match="missing.ipynb: no such notebook"):
        answers.strip([tmp_path / "missing.ipynb"], tmp_path / "out")
    assert cli.main(["answers", "strip", str(src), "--out", str(tmp_path / "o")]) == 0
    assert "2 answer cells removed" in capsys.readouterr().out
    assert cli.main(["answers", "strip", str(src), "--out", str(tmp_path / "o")]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert (
        cli.main(["answers", "strip", str(src), "--out", str(tmp_path / "o"), "--overwrite"]) == 0
    )


def _questions(nb) -> list[tuple[int, list]]:
    """(index of each question cell, the answer cells that follow it)."""
    out = []
    for i, cell in enumerate(nb.cells):
        if "question" in _tags(cell):
            following = []
            for c in nb.cells[i + 1 :]:
                if answers.TAG not in _tags(c):
                    break
                following.append(c)
            out.append((i, following))
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_asks_questions_with_collapsed_answers(path):
    """3-6 questions, each followed at once by its answer; prose answers in a collapsed
    <details> block with no number in them (a number comes from a cell that computes it);
    code answers collapsed in JupyterLab, asserting their claim and showing it collapsed."""
    nb = nbformat.read(path, as_version=4)
    qs = _questions(nb)
    assert 3 <= len(qs) <= 6, (path.name, len(qs))
    for i, following in qs:
        assert following, f"{path.name}: question cell {i} has no answer cell after it"
        for c in following:
            if c.cell_type == "markdown":
                assert c.source.lstrip().startswith("<details"), (path.name, c.source[:80])
                assert "<details open" not in c.source
                assert not re.search(r"\d\.\d|\d\s*%", c.source), (path.name, c.source)
            else:
                assert c.metadata.get("jupyter", {}).get("source_hidden") is True, path.name
                assert "assert " in c.source and "answers.show(" in c.source, c.source
    assert not [c for c in nb.cells if answers.TAG in _tags(c) and c.get("outputs")]


def _names(tree) -> tuple[set[str], set[str]]:
    stored, loaded = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (stored if isinstance(node.ctx, ast.Store) else loaded).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            stored.add(node.name)
        elif isinstance(node, ast.alias):
            stored.add((node.asname or node.name).split(".")[0])
    return stored, loaded


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_notebook_without_its_answers_needs_nothing_they_define(path):
    """A handout still runs: no cell outside the answers reads a name that only an answer
    cell defines (the answers are removed by o2ml answers strip)."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    defined_outside: set[str] = set()
    for c in code:
        if answers.TAG not in _tags(c):
            defined_outside |= _names(ast.parse(_python(c.source)))[0]
    only_in_answers: set[str] = set()
    for c in code:
        stored, loaded = _names(ast.parse(_python(c.source)))
        if answers.TAG in _tags(c):
            only_in_answers |= stored - defined_outside
        else:
            assert not loaded & only_in_answers, (path.name, loaded & only_in_answers)


def _python(source: str) -> str:
    """A cell's source without IPython magics (``%time``, ``!cmd``)."""
    return "\n".join("" if line.lstrip()[:1] in "%!" else line for line in source.splitlines())


@pytest.mark.slow
def test_a_handout_without_its_answers_runs(tmp_path, monkeypatch):
    """Notebook 02 stripped of its answers (as a tutor hands it out) runs from start to end in
    FAST mode; the AST check above covers the others without running them twice."""
    from nbclient import NotebookClient

    src = REPO / "notebooks" / "02_lc_bdt_vs_autoencoder.ipynb"
    (out,) = answers.strip([src], tmp_path / "handout")
    nb = nbformat.read(out, as_version=4)
    assert not [c for c in nb.cells if answers.TAG in _tags(c)]
    monkeypatch.setenv("O2ML_FAST", "1")
    NotebookClient(nb, timeout=900, resources={"metadata": {"path": str(src.parent)}}).execute()
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_strip_names_a_file_that_is_no_notebook_and_writes_nothing(tmp_path):
    (tmp_path / "a").mkdir()
    good = _toy(tmp_path / "a" / "nb.ipynb")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("not json")
    with pytest.raises(BadFileError, match="bad.ipynb: expected a Jupyter notebook"):
        answers.strip([good, bad], tmp_path / "out")
    assert not (tmp_path / "out").exists()  # the good one was not written either
    (tmp_path / "b").mkdir()
    twin = _toy(tmp_path / "b" / "nb.ipynb")
    with pytest.raises(BadArgumentError, match="would both be written to"):
        answers.strip([good, twin], tmp_path / "out")


def test_show_prints_the_answer_outside_a_notebook(capsys):
    answers.show("the gap grows", summary="Answer")
    assert capsys.readouterr().out == "Answer: the gap grows\n"
