"""Tests of the after-sales and loyalty plots: each takes a computed result and returns the Axes."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError
from crm_analytics.loyalty import points_liability, tier_migration
from crm_analytics.plot._service import (
    points_balance,
    rating_distribution,
    refund_reasons_pareto,
    tier_migration_heatmap,
)
from crm_analytics.service import refund_analysis, review_analysis


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _orders() -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4"],
            "customer_id": ["a", "b", "c", "d"],
            "order_time": pd.to_datetime(["2024-03-01", "2024-03-05", "2024-04-02", "2024-04-09"]),
            "amount": [100.0, 50.0, 80.0, 100.0],
            "status": ["paid", "paid", "refunded", "paid"],
            "refund_amount": [10.0, 30.0, 80.0, 0.0],
        }
    )
    return df


def test_refund_reasons_pareto() -> None:
    refunds = pd.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "refund_amount": [10.0, 30.0, 80.0],
            "reason": ["changed my mind", "too small", "arrived broken"],
        }  # fmt: skip
    )
    result = refund_analysis(_orders(), refunds)
    before = result.reasons.copy()
    fig, ax = plt.subplots()
    assert refund_reasons_pareto(result, ax=ax) is ax
    pd.testing.assert_frame_equal(result.reasons, before)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["logistics_damaged", "size_fit",
                                                            "changed_mind"]  # fmt: skip
    assert [p.get_height() for p in ax.patches] == [80.0, 30.0, 10.0]
    line = fig.axes[-1].get_lines()[0]
    assert line.get_ydata()[-1] == pytest.approx(100.0)
    assert refund_reasons_pareto(result.reasons) is not None
    with pytest.raises(InvalidDataError, match="read_refunds"):
        refund_reasons_pareto(refund_analysis(_orders()))


def test_rating_distribution() -> None:
    reviews = pd.DataFrame(
        {
            "rating": [5.0, 4.0, 1.0, 5.0, 3.0],
            "text": ["好", "ok", "破损", "great", "一般"],
            "review_time": pd.to_datetime(
                ["2024-03-01", "2024-03-02", "2024-04-01", "2024-04-02", "2024-04-03"]
            ),  # fmt: skip
        }
    )
    result = review_analysis(reviews, period="M")
    ax = rating_distribution(result)
    widths = np.array([p.get_width() for p in ax.patches]).reshape(5, 2)
    # March: 4 and 5 stars, one each; April: 1, 3, 5 one each
    np.testing.assert_allclose(widths[:, 0], [0, 0, 0, 0.5, 0.5])
    np.testing.assert_allclose(widths[:, 1], [1 / 3, 0, 1 / 3, 0, 1 / 3])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2024-03", "2024-04"]
    counts = rating_distribution(result.distribution, normalize=False)
    assert counts.get_xlabel() == "reviews"
    with pytest.raises(ColumnNotFoundError, match="review_analysis"):
        rating_distribution(pd.DataFrame({"x": [1]}))


def test_tier_migration_heatmap() -> None:
    before = pd.DataFrame({"customer_id": list("abcd"), "member_level": ["V1", "V1", "V2", "V2"]})
    after = pd.DataFrame({"customer_id": list("abce"), "member_level": ["V2", "V1", "V1", "V1"]})
    m = tier_migration(before, after)
    ax = tier_migration_heatmap(m)
    assert [t.get_text() for t in ax.texts] == ["1", "1", "0", "1", "0", "1", "1", "0", "0"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["V1", "V2", "(new)"]
    image = ax.get_images()[0].get_array()
    assert image[0, 0] == pytest.approx(0.5)  # V1 -> V1: 1 of 2
    raw = tier_migration_heatmap(m, normalize=False, annotate=False)
    assert raw.get_images()[0].get_array()[2, 0] == 1 and not raw.texts
    with pytest.raises(InvalidDataError, match="tier_migration"):
        tier_migration_heatmap([[1, 2]])


def test_points_balance() -> None:
    ledger = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "points_time": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-03-10"]),
            "points": [100.0, -30.0, 50.0],
        }
    )
    result = points_liability(ledger)
    ax = points_balance(result)
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), [100.0, 70.0, 120.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024-01", "2024-02", "2024-03"]
    with pytest.raises(ColumnNotFoundError, match="points_liability"):
        points_balance(pd.DataFrame({"balance": [1.0]}))


def test_import_does_not_load_matplotlib() -> None:
    code = "import sys, crm_analytics.plot._service; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
