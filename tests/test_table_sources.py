"""The docs name the O2Physics file and commit that each declared table follows (issue #31).

``docs/physics.md`` holds a table generated from :data:`o2ml.schema.TABLES` (``source``,
``commit``) between the markers below; every ``<file> @ <commit>`` that a doc writes for a
table's file must be that table's commit, and each table with a one-file source is named so at
least once (its section). Regenerate the table with::

    .venv/bin/python tests/test_table_sources.py   # prints the block for docs/physics.md
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from o2ml import schema

DOCS = Path(__file__).resolve().parents[1] / "docs"
BEGIN = "<!-- table-sources: generated from o2ml.schema.TABLES by tests/test_table_sources.py -->"
END = "<!-- /table-sources -->"
TRACKED = [t for t in schema.TABLES.values() if t.commit]


def sources_block() -> str:
    """The docs' table: one row per declared table with a commit, in schema.TABLES order."""
    rows = ["| table (tree) | O2Physics / O2 file that declares it | commit |", "|---|---|---|"]
    for t in TRACKED:
        source = t.source.replace("|", "\\|")
        rows.append(f"| `{t.name}` (`{t.tree_name}`) | {source} | `{t.commit}` |")
    return "\n".join([BEGIN, *rows, END])


def _docs() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md"))}


def test_every_tracked_table_has_a_full_commit_and_a_source():
    assert {"HfCandDsLites", "HfCandLcLites", "SkimmedTPCV0Tree", "SkimmedTPCTOFTree"} <= {
        t.name for t in TRACKED
    }
    for t in TRACKED:
        assert re.fullmatch(r"[0-9a-f]{40}", t.commit), t.name
        assert t.source, t.name


def test_the_docs_table_is_schema_tables():
    text = (DOCS / "physics.md").read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1, "markers of the table-sources block"
    block = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert block == sources_block(), (
        "docs/physics.md: the table of sources and commits differs from o2ml.schema.TABLES; "
        "replace it with the output of `.venv/bin/python tests/test_table_sources.py`"
    )


def _file_name(table: schema.Table) -> str | None:
    """The file name of a source that is one bare path (``PWGHF/.../x.cxx``), else None."""
    return table.source.rsplit("/", 1)[-1] if re.fullmatch(r"[\w./-]+", table.source) else None


@pytest.mark.parametrize("table", [t for t in TRACKED if _file_name(t)], ids=lambda t: t.name)
def test_the_docs_name_the_commit_the_schema_follows(table):
    name = _file_name(table)
    mention = re.compile(re.escape(name) + r"`?\s*@\s*`?([0-9a-f]{7,40})\b")
    found = [(doc, m.group(1)) for doc, text in _docs().items() for m in mention.finditer(text)]
    stale = [(doc, c) for doc, c in found if not table.commit.startswith(c)]
    assert not stale, f"{table.name}: docs name {name} at {stale}, schema follows {table.commit}"
    assert found, f"{table.name}: no doc names {name} @ {table.commit[:8]}"


if __name__ == "__main__":
    print(sources_block())
