"""Tests of crm_analytics.clv.BetaGeoBetaBinom: the published donations fit and lifetimes'
BetaGeoBetaBinomFitter as oracle."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_analytics import _btyd, clv
from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError, NotFittedError

DONATIONS = (
    Path(importlib.util.find_spec("lifetimes").submodule_search_locations[0])
    / "datasets"
    / "donations.csv"
)
COLS = {"n_periods_col": "periods"}


@pytest.fixture(scope="module")
def donations() -> pd.DataFrame:
    """22 (frequency, recency, periods) patterns of 11,104 donors over 6 opportunities."""
    return pd.read_csv(DONATIONS)


@pytest.fixture(scope="module")
def fitted(donations) -> clv.BetaGeoBetaBinom:
    return clv.BetaGeoBetaBinom().fit(donations, weight_col="weights", **COLS)


@pytest.fixture(scope="module")
def lifetimes_fit(donations):
    with warnings.catch_warnings():
        from lifetimes import BetaGeoBetaBinomFitter
    d = donations
    return BetaGeoBetaBinomFitter().fit(d["frequency"], d["recency"], d["periods"], d["weights"])


def with_params(params) -> clv.BetaGeoBetaBinom:
    model = clv.BetaGeoBetaBinom()
    model.params_ = pd.Series(np.asarray(params, float), index=["alpha", "beta", "gamma", "delta"])
    return model


def test_donations_published_estimates(fitted):
    # Fader, Hardie & Shang (2010): alpha, beta, gamma, delta = 1.204, 0.750, 0.657, 2.783
    np.testing.assert_allclose(fitted.params_, [1.204, 0.750, 0.657, 2.783], atol=5e-4)
    # the paper's log-likelihood, -33,225.6
    assert fitted.log_likelihood_ == pytest.approx(-33225.6, abs=0.05)
    assert fitted.converged_
    assert fitted.n_customers_ == 11104
    assert fitted.n_unique_rows_ == 22


def test_matches_lifetimes_fit_and_standard_errors(fitted, lifetimes_fit):
    np.testing.assert_allclose(fitted.params_, lifetimes_fit.params_, rtol=1e-4)
    table = fitted.summary()
    assert list(table.index) == ["alpha", "beta", "gamma", "delta"]
    np.testing.assert_allclose(table["std_error"], lifetimes_fit.standard_errors_, rtol=1e-3)
    assert (table["ci_lower"] < table["estimate"]).all()


def test_predictions_match_lifetimes(donations, lifetimes_fit):
    lf = lifetimes_fit
    model = with_params(lf.params_.to_numpy())
    x, tx, n = donations["frequency"], donations["recency"], donations["periods"]
    for m in (1, 5, 10):
        np.testing.assert_allclose(
            model.predict_purchases(donations, m, **COLS),
            lf.conditional_expected_number_of_purchases_up_to_time(m, x, tx, n),
            rtol=1e-8,
        )
    for m in (0, 3):
        np.testing.assert_allclose(
            model.p_alive(donations, n_future=m, **COLS),
            lf.conditional_probability_alive(m, x, tx, n),
            rtol=1e-8,
        )
    # E[X(n)] of a new donor == the mean of lifetimes' distribution of X(n)
    for periods in (1, 3, 6):  # lifetimes lists only the observed x (0..6)
        dist = lf.expected_number_of_transactions_in_first_n_periods(periods)
        mean = float((dist["model"] * dist.index).sum() / donations["weights"].sum())
        assert model.expected_purchases_new_customer(periods) == pytest.approx(mean, rel=1e-8)


def test_hand_checked_single_opportunity():
    # n = 1, no repeat: L = B(a, b+1)/B(a, b) * B(g, d+1)/B(g, d) + 0... plus dying after 0:
    # alive-through-1 term = b/(a+b) * d/(g+d); gone-after-0 term = g/(g+d)
    # with a = b = g = d = 1: L = 1/2 * 1/2 + 1/2 = 0.75
    row = pd.DataFrame({"frequency": [0], "recency": [0], "n_periods": [1]})
    d = _btyd.compress(np.zeros(1), np.zeros(1), np.ones(1))
    ll, _ = _btyd.bgbb_loglik(np.ones(4), d)
    assert ll == pytest.approx(np.log(0.75), abs=1e-12)
    # P(alive) = (1/4) / (3/4)
    assert with_params([1, 1, 1, 1]).p_alive(row).iloc[0] == pytest.approx(1 / 3, abs=1e-12)


def test_weighted_fit_equals_one_row_per_donor(donations, fitted):
    donors = donations.loc[donations.index.repeat(donations["weights"])].drop(columns="weights")
    donors = donors.sample(frac=1.0, random_state=0)
    assert len(donors) == 11104
    per_donor = clv.BetaGeoBetaBinom().fit(donors, **COLS)
    np.testing.assert_allclose(per_donor.params_, fitted.params_, rtol=1e-7)
    assert per_donor.log_likelihood_ == pytest.approx(fitted.log_likelihood_, abs=1e-6)


def test_analytic_gradient_matches_finite_differences(donations):
    d = _btyd.compress(donations["frequency"], donations["recency"], donations["periods"])
    params = np.array([1.5, 0.6, 0.8, 2.0])
    _, grad = _btyd.bgbb_loglik(params, d)
    h = 1e-6
    for j in range(4):
        up, down = params.copy(), params.copy()
        up[j] *= np.exp(h)
        down[j] *= np.exp(-h)
        numeric = (
            _btyd.bgbb_loglik(up, d, grad=False)[0] - _btyd.bgbb_loglik(down, d, grad=False)[0]
        ) / (2 * h)
        assert grad[j] == pytest.approx(numeric, rel=1e-6, abs=1e-6)


def test_properties(fitted, donations):
    alive = fitted.p_alive(donations, **COLS)
    assert alive.between(0, 1).all()
    # more future opportunities, more expected transactions; fewer chances to be alive
    e = np.column_stack([fitted.predict_purchases(donations, m, **COLS) for m in range(0, 8)])
    assert (np.diff(e, axis=1) >= -1e-12).all()
    assert (e[:, 0] == 0).all()
    later = fitted.p_alive(donations, n_future=4, **COLS)
    assert (later <= alive + 1e-12).all()


def test_json_round_trip(fitted, donations):
    again = clv.model_from_json(fitted.to_json())
    assert isinstance(again, clv.BetaGeoBetaBinom)
    pd.testing.assert_frame_equal(again.summary(), fitted.summary())
    pd.testing.assert_series_equal(
        again.predict_purchases(donations, 5, **COLS),
        fitted.predict_purchases(donations, 5, **COLS),
    )
    assert again.to_json() == fitted.to_json()
    assert repr(clv.BetaGeoBetaBinom()) == "BetaGeoBetaBinom(penalizer=0.0), not fitted"


def test_errors(donations):
    with pytest.raises(NotFittedError, match="BetaGeoBetaBinom.p_alive: this BetaGeoBetaBinom"):
        clv.BetaGeoBetaBinom().p_alive(donations, **COLS)
    with pytest.raises(ColumnNotFoundError, match=r"(?s)'n_periods' \(n_periods_col\) not found"):
        clv.BetaGeoBetaBinom().fit(donations)
    bad = pd.DataFrame(
        {"frequency": [1, 3, 0], "recency": [2, 2, 0], "n_periods": [6, 6, 6]},
        index=pd.Index(["a", "b", "c"], name="donor_id"),
    )
    with pytest.raises(
        InvalidDataError,
        match=r"1 row\(s\) of `summary` have 'frequency' > 'recency', e\.g\. donor_id='b'",
    ):
        clv.BetaGeoBetaBinom().fit(bad)
    with pytest.raises(InvalidDataError, match=r"'recency' > 'n_periods'"):
        clv.BetaGeoBetaBinom().fit(bad.assign(frequency=[1, 1, 0], recency=[2, 7, 0]))
    with pytest.raises(InvalidDataError, match="whole number of opportunities"):
        with_params([1, 1, 1, 1]).predict_purchases(bad.iloc[:1], 1.5)
