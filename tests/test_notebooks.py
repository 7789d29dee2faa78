"""The notebooks in notebooks/ are committed clean and use only the public API.

They are executed separately (``pytest --nbmake notebooks/``); these checks read the files
as JSON, so they run without Jupyter installed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

# `crm._x`, `crm.plot._x`, `crm_analytics._x`, `crm_analytics.plot._x` (imports included)
PRIVATE_NAME = re.compile(r"\b(?:crm|crm_analytics)(?:\.[A-Za-z]\w*)*\._\w*")


def _cells(path: Path) -> list[dict]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook.get("nbformat") == 4, f"{path.name}: not an nbformat 4 notebook"
    return notebook["cells"]


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def test_notebooks_present() -> None:
    names = [path.name for path in NOTEBOOKS]
    assert names == [
        "01_quickstart.ipynb",
        "02_rfm_segments.ipynb",
        "03_repurchase_churn.ipynb",
        "04_clv.ipynb",
        "05_basket.ipynb",
        "06_kpi_campaigns.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_without_outputs(path: Path) -> None:
    dirty = [
        (index, cell.get("execution_count"), len(cell.get("outputs", [])))
        for index, cell in enumerate(_cells(path))
        if cell["cell_type"] == "code"
        and (cell.get("execution_count") is not None or cell.get("outputs"))
    ]
    assert not dirty, (
        f"{path.name}: code cells with an execution count or outputs "
        f"(cell index, execution_count, outputs): {dirty}.\n"
        f"Hint: jupyter nbconvert --clear-output --inplace notebooks/{path.name}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_public_api_only(path: Path) -> None:
    found = [
        (index, match.group(0))
        for index, cell in enumerate(_cells(path))
        if cell["cell_type"] == "code"
        for match in PRIVATE_NAME.finditer(_source(cell))
    ]
    assert not found, (
        f"{path.name}: private names in code cells (cell index, name): {found}.\n"
        "Hint: use the public names, crm.<name> or crm.<module>.<name>."
    )


def test_private_name_pattern() -> None:
    # the checker itself: private names are caught, public ones are not
    caught = [
        "crm._ENTRY_POINTS",
        "crm.plot._kpi.waterfall",
        "from crm_analytics._btyd import x",
        "import crm_analytics.plot._base",
    ]
    public = [
        "crm.plot.waterfall(d, ax=ax)",
        "crm.kpi.kpi_tree(orders)",
        "import crm_analytics as crm",
    ]
    assert all(PRIVATE_NAME.search(text) for text in caught)
    assert not any(PRIVATE_NAME.search(text) for text in public)
