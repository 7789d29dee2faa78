"""Tests of the KPI and campaign plots: each takes a computed result and returns the Axes."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import crm_analytics as crm
from crm_analytics.campaign import response_funnel, uplift
from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError
from crm_analytics.kpi import decompose, kpi_tree
from crm_analytics.plot._kpi import funnel, uplift_plot, waterfall
from crm_analytics.plot._kpi import kpi_tree as plot_kpi_tree


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return crm.datasets.load_sample(), crm.datasets.load_sample_campaign()


@pytest.fixture(scope="module")
def decomposition(data) -> pd.DataFrame:
    return decompose(kpi_tree(data[0], by="channel"), base="2024-10", current="2024-11",
                     by="channel")  # fmt: skip


def test_kpi_tree_plot(decomposition: pd.DataFrame) -> None:
    before = decomposition.copy()
    fig, ax = plt.subplots()
    assert plot_kpi_tree(decomposition, ax=ax) is ax
    pd.testing.assert_frame_equal(decomposition, before)
    boxes = [t for t in ax.texts if t.get_text()]
    assert [t.get_text().splitlines()[0] for t in boxes] == list(decomposition.index)
    # one arrow per non-root node
    arrows = [t for t in ax.texts if not t.get_text()]
    assert len(arrows) == len(decomposition) - 1
    assert ax.get_title() == "sales: 2024-10 → 2024-11 (lmdi)"
    mix = next(t for t in boxes if t.get_text().startswith("channel mix"))
    assert "→" not in mix.get_text()  # the mix row has no values of its own


def test_kpi_tree_colours_follow_the_sign(data) -> None:
    dec = decompose(kpi_tree(data[0]), base="2024-10", current="2024-11")
    ax = plot_kpi_tree(dec)
    boxes = {t.get_text().splitlines()[0]: t for t in ax.texts if t.get_text()}
    green = boxes["customers"].get_bbox_patch().get_facecolor()
    red = boxes["aov"].get_bbox_patch().get_facecolor()
    assert dec.at["customers", "contribution"] > 0 > dec.at["aov", "contribution"]
    assert green[1] > green[0] and red[0] > red[1]


def test_waterfall_bars_add_up(decomposition: pd.DataFrame) -> None:
    ax = waterfall(decomposition)
    heights = [p.get_height() for p in ax.patches]
    base, *steps, current = heights
    assert base + sum(steps) == pytest.approx(current)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "base" and labels[-1] == "current" and "channel mix" in labels
    assert "customers" not in labels  # an inner node: its children carry its contribution


def test_funnel_and_uplift_plots(data) -> None:
    orders, campaign = data
    table = response_funnel(campaign, orders, window_days=30)
    ax = funnel(table)
    assert ax.get_title() == "Response funnel: WB202408"
    assert len(ax.patches) == 2 * 5
    result = uplift(campaign, orders, window_days=30)
    ax = uplift_plot(result)
    line = ax.lines[0]
    assert line.get_xdata()[0] == pytest.approx(100 * result["uplift"].iloc[0])
    revenue = uplift(campaign, orders, window_days=30, metric="revenue")
    assert uplift_plot(revenue).get_xlabel() == "uplift in revenue per customer"


def test_plots_check_their_input(decomposition: pd.DataFrame, data) -> None:
    with pytest.raises(ColumnNotFoundError, match="crm.kpi.decompose"):
        waterfall(decomposition.drop(columns="contribution"))
    with pytest.raises(ColumnNotFoundError, match="crm.campaign.uplift"):
        uplift_plot(decomposition)
    table = response_funnel(data[1], data[0])
    with pytest.raises(InvalidDataError, match=r"campaign 'X' is not in the table"):
        funnel(table, campaign="X")
    with pytest.raises(InvalidDataError, match="indexed by \\(campaign, group\\)"):
        funnel(table.reset_index(level=0))


def test_importing_the_plots_does_not_import_matplotlib() -> None:
    code = (
        "import sys; import crm_analytics.plot._kpi, crm_analytics.kpi, crm_analytics.campaign; "
        "print([m for m in ('matplotlib', 'scipy') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
