"""Settings shared by the unit tests and the docstring examples."""

from __future__ import annotations

import sys

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _stable_display():
    """Wide, deterministic DataFrame printing so docstring examples show whole tables."""
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        yield


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a test or example drew (plots return their Axes, never show)."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
