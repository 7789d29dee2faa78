"""Settings shared by the unit tests and the docstring examples."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _stable_display():
    """Wide, deterministic DataFrame printing so docstring examples show whole tables."""
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        yield
