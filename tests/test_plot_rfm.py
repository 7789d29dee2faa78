"""Tests of the RFM and segment plots: each takes a computed result and returns the Axes."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError
from crm_analytics.plot._rfm import cluster_profile, pareto_curve, rfm_heatmap, segment_bars
from crm_analytics.rfm import rfm_table, segment_summary
from crm_analytics.segments import cluster, pareto


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    summary = pd.DataFrame(
        {
            "days_since_last": rng.integers(0, 400, n),
            "n_orders": rng.geometric(0.5, n),
            "monetary_total": rng.lognormal(4, 1, n).round(2),
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )
    return rfm_table(summary)


def test_rfm_heatmap_values_and_given_ax(table):
    before = table.copy()
    fig, ax = plt.subplots()
    out = rfm_heatmap(table, ax=ax)
    assert out is ax
    pd.testing.assert_frame_equal(table, before)
    grid = ax.images[0].get_array()
    # cell (r=5, f=1) holds the mean monetary_total of those customers
    cell = table[(table.r_score == 5) & (table.f_score == 1)]["monetary_total"]
    assert grid[4, 0] == pytest.approx(cell.mean())
    counts = rfm_heatmap(table, value="customers").images[0].get_array()
    assert counts.sum() == len(table)
    assert counts[4, 0] == len(cell)


def test_rfm_heatmap_checks_input(table):
    with pytest.raises(InvalidDataError, match="value='mean' is not supported"):
        rfm_heatmap(table, value="mean")
    with pytest.raises(ColumnNotFoundError, match="crm.rfm_table"):
        rfm_heatmap(table.drop(columns="f_score"))


def test_segment_bars_in_segment_order(table):
    summary = segment_summary(table)
    ax = segment_bars(summary, value="revenue_share")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == summary.index.tolist()
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx(summary["revenue_share"].tolist())
    with pytest.raises(ColumnNotFoundError):
        segment_bars(summary.drop(columns="customers"))


def test_pareto_curve_draws_the_curve_and_headline(table):
    curve = pareto(table)
    ax = pareto_curve(curve)
    x, y = ax.lines[0].get_data()
    assert x[0] == 0 and y[0] == 0
    assert y[-1] == pytest.approx(1.0)
    assert ax.get_title() == curve.attrs["headline"]


def test_cluster_profile_relative_means(table):
    result = cluster(table, k=2)
    ax = cluster_profile(result)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "days_since_last",
        "n_orders",
        "monetary_total",
    ]
    heights = np.array([p.get_height() for p in ax.patches]).reshape(2, 3)
    prof = result.profile
    overall = table[["days_since_last", "n_orders", "monetary_total"]].mean().to_numpy()
    expected = prof[["days_since_last", "n_orders", "monetary_total"]].to_numpy() / overall
    assert heights == pytest.approx(expected)
    assert cluster_profile(result.profile) is not None


def test_import_does_not_load_matplotlib():
    code = "import sys, crm_analytics.plot._rfm; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
