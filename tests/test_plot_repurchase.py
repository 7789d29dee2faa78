"""Tests of the repurchase and churn plots: each takes a computed result and returns the Axes."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import crm_analytics as crm
from crm_analytics.churn import ChurnModel, churn_rate
from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError
from crm_analytics.plot._repurchase import (
    calibration_plot,
    churn_rate_plot,
    cohort_heatmap,
    gains_chart,
    retention_curves,
    time_to_second_purchase_hist,
)
from crm_analytics.repurchase import cohort_table, time_to_second_purchase


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return crm.datasets.load_sample()


@pytest.fixture(scope="module")
def evaluation(sample):
    import sklearn.ensemble  # noqa: F401  (loads OpenMP so that the limit applies to it)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return ChurnModel(horizon_days=90).evaluate(sample, cutoff="2024-10-01")


def test_cohort_heatmap_draws_the_table_and_keeps_unobserved_cells_blank(tiny_orders):
    table = cohort_table(tiny_orders)
    before = table.copy()
    fig, ax = plt.subplots()
    assert cohort_heatmap(table, ax=ax) is ax
    pd.testing.assert_frame_equal(table, before)
    grid = ax.images[0].get_array()
    assert grid.mask.tolist() == np.isnan(table.to_numpy()).tolist()
    assert grid[0, 2] == 0.5
    texts = [t.get_text() for t in ax.texts]
    assert "50%" in texts and len(texts) == int(table.notna().to_numpy().sum())
    assert ax.get_title() == "Cohort retention"
    revenue = cohort_heatmap(cohort_table(tiny_orders, metric="revenue", cumulative=True))
    assert revenue.get_title() == "Cumulative cohort revenue"
    assert "225" in [t.get_text() for t in revenue.texts]  # 175 + 0 + 50


def test_retention_curves_one_line_per_cohort_and_the_mean(sample):
    table = cohort_table(sample, period="Q")
    ax = retention_curves(table, max_cohorts=3)
    assert len(ax.lines) == 4  # the last three cohorts and the mean
    assert [line.get_label() for line in ax.lines[:3]] == ["2024Q2", "2024Q3", "2024Q4"]
    mean = ax.lines[-1].get_ydata()
    np.testing.assert_allclose(mean, np.nanmean(table.to_numpy(), axis=0))
    assert mean[0] == 1.0
    with pytest.raises(InvalidDataError, match="max_cohorts must be an integer"):
        retention_curves(table, max_cohorts=0)


def test_churn_rate_plot(sample):
    rates = churn_rate(sample, inactive_days=120)
    ax = churn_rate_plot(rates)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), rates["churn_rate"].to_numpy())
    twin = [a for a in ax.figure.axes if a is not ax and a.get_ylabel() == "customers"][0]
    heights = [p.get_height() for p in twin.patches]
    assert heights[: len(rates)] == rates["lost"].tolist()
    with pytest.raises(ColumnNotFoundError, match=r"crm\.churn\.churn_rate"):
        churn_rate_plot(rates.drop(columns="lost"))


def test_gains_chart_model_baseline_and_random(evaluation):
    ax = gains_chart(evaluation)
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["model", "recency baseline", "random"]
    y = ax.lines[0].get_ydata()
    assert y[0] == 0 and y[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(y[1:], evaluation.gains["cumulative_gain"])
    only_table = gains_chart(evaluation.gains)
    assert [line.get_label() for line in only_table.lines] == ["model", "random"]
    with pytest.raises(InvalidDataError, match="ChurnEvaluation"):
        gains_chart([0.1, 0.2])


def test_calibration_plot(evaluation):
    ax = calibration_plot(evaluation)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), evaluation.calibration["mean_predicted"])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), evaluation.calibration["observed_rate"])
    assert ax.lines[1].get_label() == "perfect"
    with pytest.raises(ColumnNotFoundError, match="observed_rate"):
        calibration_plot(evaluation.calibration.drop(columns="observed_rate"))


def test_time_to_second_purchase_hist(tiny_orders, sample):
    result = time_to_second_purchase(tiny_orders)
    ax = time_to_second_purchase_hist(result, bins=5)
    # a: 14 days, e: 0 days -> median 7
    assert ax.get_title() == "Days to second purchase: 2 repeat customers, median 7"
    assert sum(p.get_height() for p in ax.patches) == 2
    big = time_to_second_purchase(sample)
    cut = time_to_second_purchase_hist(big, max_days=90, bins=9)
    shown = big.customers["days_to_second"].dropna()
    assert sum(p.get_height() for p in cut.patches) == int((shown <= 90).sum())
    with pytest.raises(InvalidDataError, match="bins must be an integer"):
        time_to_second_purchase_hist(result, bins=0)
    with pytest.raises(ColumnNotFoundError, match=r"time_to_second_purchase\(orders\)"):
        time_to_second_purchase_hist(pd.DataFrame({"days": [1]}))


def test_cohort_plots_reject_other_tables():
    with pytest.raises(InvalidDataError, match=r"crm\.repurchase\.cohort_table\(orders\)"):
        cohort_heatmap(pd.DataFrame({"buyers": [1, 2]}))


def test_importing_the_plot_module_does_not_import_matplotlib():
    code = (
        "import sys; import crm_analytics.plot._repurchase, crm_analytics.repurchase, "
        "crm_analytics.churn; "
        "print([m for m in ('matplotlib', 'sklearn', 'lifetimes') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
