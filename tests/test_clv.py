"""Tests of crm_analytics.clv: published CDNOW values, lifetimes as oracle, properties."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_analytics import _btyd, clv
from crm_analytics.exceptions import (
    ColumnNotFoundError,
    InvalidDataError,
    NotFittedError,
    StatisticalWarning,
)

REFERENCE = Path(__file__).resolve().parent / "reference"
LIFETIMES_DATA = (
    Path(importlib.util.find_spec("lifetimes").submodule_search_locations[0]) / "datasets"
)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """The 2,357-customer CDNOW summary (weeks) shipped with lifetimes."""
    from crm_analytics.datasets import load_cdnow_summary

    return load_cdnow_summary()


@pytest.fixture(scope="module")
def cdnow_spend() -> pd.DataFrame:
    """CDNOW summary with zbar, the mean repeat spend (Fader-Hardie note 025)."""
    return pd.read_csv(
        LIFETIMES_DATA / "cdnow_customers_summary_with_transactions.csv", index_col="ID"
    )


@pytest.fixture(scope="module")
def bg_cdnow(cdnow) -> clv.BetaGeo:
    return clv.BetaGeo().fit(cdnow)


@pytest.fixture(scope="module")
def pareto_cdnow(cdnow) -> clv.ParetoNBD:
    return clv.ParetoNBD().fit(cdnow)


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "clv_simulated.csv", index_col="customer_id")


@pytest.fixture(scope="module")
def frozen() -> dict:
    return json.loads((REFERENCE / "clv_lifetimes.json").read_text())


def with_params(cls, params):
    model = cls()
    model.params_ = pd.Series(params, index=list(cls._param_names), dtype=float)
    return model


def one(x, tx, T) -> pd.DataFrame:
    return pd.DataFrame({"frequency": [x], "recency": [tx], "T": [T]})


# --------------------------------------------------------------------------- published CDNOW values


def test_bgnbd_cdnow_parameters_and_loglik(bg_cdnow):
    # Fader, Hardie & Lee (2005): r, alpha, a, b = 0.243, 4.414, 0.793, 2.426; LL -9582.43
    np.testing.assert_allclose(bg_cdnow.params_, [0.243, 4.414, 0.793, 2.426], atol=5e-4)
    assert bg_cdnow.log_likelihood_ == pytest.approx(-9582.43, abs=0.05)
    assert bg_cdnow.converged_


def test_bgnbd_cdnow_conditional_expectation(bg_cdnow):
    # Hardie note 004: E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226
    assert bg_cdnow.predict_purchases(one(2, 30.43, 38.86), 39).iloc[0] == pytest.approx(
        1.226, abs=1e-3
    )


def test_bgnbd_unconditional_expectation_spreadsheet():
    model = with_params(clv.BetaGeo, [0.2425945, 4.4136019, 0.7929199, 2.4258881])
    ts = [0.1429, 1, 3, 31.8571, 32, 78]
    expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576]
    got = [model.expected_purchases_new_customer(t) for t in ts]
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_bgnbd_prob_zero_purchases_btyd_manual():
    # R BTYD manual: P(X(39) = 0) at the published parameters
    model = with_params(clv.BetaGeo, [0.243, 4.414, 0.793, 2.426])
    assert model.prob_purchases_new_customer(0, 39) == pytest.approx(0.5737864, abs=1e-6)


def test_pareto_cdnow_parameters_and_loglik(pareto_cdnow):
    r, alpha, s, beta = pareto_cdnow.params_
    assert r == pytest.approx(0.553, abs=2e-3)
    assert alpha == pytest.approx(10.578, abs=0.01)
    assert s == pytest.approx(0.606, abs=2e-3)
    assert beta == pytest.approx(11.669, abs=0.02)
    assert pareto_cdnow.log_likelihood_ == pytest.approx(-9594.97, abs=0.05)


def test_pareto_btyd_walkthrough_values():
    model = with_params(clv.ParetoNBD, [0.5534, 10.5802, 0.6061, 11.6562])
    row = one(26, 30.86, 31)
    assert model.predict_purchases(row, 52).iloc[0] == pytest.approx(25.46, abs=0.01)
    assert model.p_alive(row).iloc[0] == pytest.approx(0.9979, abs=5e-4)


def test_mbgnbd_cdnow_parameters(cdnow):
    model = clv.ModifiedBetaGeo().fit(cdnow)
    np.testing.assert_allclose(model.params_, [0.525, 6.183, 0.891, 1.614], atol=5e-4)


def test_gamma_gamma_cdnow(cdnow_spend):
    # note 025: p, q, v = 6.25, 3.74, 15.44 on the 946 repeat customers
    model = clv.GammaGamma().fit(cdnow_spend, frequency_col="x", monetary_col="zbar")
    assert model.n_customers_ == 946
    np.testing.assert_allclose(model.params_, [6.25, 3.74, 15.44], atol=0.01)
    spreadsheet = with_params(clv.GammaGamma, [6.2488, 3.7446, 15.4477])
    got = spreadsheet.expected_value(cdnow_spend.head(10), frequency_col="x", monetary_col="zbar")
    expected = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]
    np.testing.assert_allclose(got, expected, atol=0.01)


def test_summary_table(bg_cdnow):
    table = bg_cdnow.summary()
    assert list(table.columns) == ["estimate", "std_error", "ci_lower", "ci_upper"]
    assert list(table.index) == ["r", "alpha", "a", "b"]
    assert (table["ci_lower"] < table["estimate"]).all()
    assert (table["estimate"] < table["ci_upper"]).all()
    # standard errors of FHL (2005) / lifetimes on CDNOW: r 0.0126, alpha 0.378
    assert table.loc["r", "std_error"] == pytest.approx(0.0126, abs=5e-4)
    assert table.loc["alpha", "std_error"] == pytest.approx(0.378, abs=0.01)
    assert table.attrs["log_likelihood"] == pytest.approx(-9582.43, abs=0.05)
    assert table.attrs["n_customers"] == 2357


def test_loglik_is_in_the_data_unit(cdnow):
    # the same customers in days: parameters scale, LL shifts by -sum(x) * log(7)
    days = cdnow.assign(recency=cdnow["recency"] * 7, T=cdnow["T"] * 7)
    weeks_model = clv.BetaGeo().fit(cdnow)
    days_model = clv.BetaGeo().fit(days)
    assert days_model.params_["alpha"] == pytest.approx(7 * weeks_model.params_["alpha"], rel=1e-6)
    shift = -cdnow["frequency"].sum() * np.log(7)
    assert days_model.log_likelihood_ == pytest.approx(
        weeks_model.log_likelihood_ + shift, abs=1e-6
    )


# --------------------------------------------------------------------------- lifetimes as oracle


@pytest.mark.parametrize("name", ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD"])
def test_fit_matches_lifetimes(simulated, frozen, name):
    model = getattr(clv, name)().fit(simulated)
    np.testing.assert_allclose(model.params_, frozen["fits"][name]["params"], rtol=1e-4)


def test_gamma_gamma_fit_matches_lifetimes(simulated, frozen):
    model = clv.GammaGamma().fit(simulated)
    np.testing.assert_allclose(model.params_, frozen["fits"]["GammaGamma"]["params"], rtol=1e-4)


@pytest.mark.parametrize("name", ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD"])
def test_predictions_match_lifetimes(simulated, frozen, name):
    ref = frozen["predictions"][name]
    model = with_params(getattr(clv, name), ref["params"])
    rows = simulated.iloc[:200]
    np.testing.assert_allclose(model.predict_purchases(rows, 10.0), ref["expected_10"], rtol=1e-8)
    np.testing.assert_allclose(model.p_alive(rows), ref["p_alive"], rtol=1e-8)
    got = [model.expected_purchases_new_customer(t) for t in (1.0, 10.0, 52.0)]
    np.testing.assert_allclose(got, ref["unconditional_expected"], rtol=1e-8)
    if "unconditional_prob" in ref:
        got = [
            model.prob_purchases_new_customer(n, t)
            for t, n in [(10.0, 0), (10.0, 1), (39.0, 0), (39.0, 3)]
        ]
        np.testing.assert_allclose(got, ref["unconditional_prob"], rtol=1e-8)
    for n, values in ref.get("conditional_prob_t10", {}).items():
        np.testing.assert_allclose(
            model.prob_purchases(rows, int(n), 10.0), values, rtol=1e-6, atol=1e-12
        )
    gg = with_params(clv.GammaGamma, frozen["predictions"]["GammaGamma"]["params"])
    value = clv.customer_lifetime_value(
        rows, purchase_model=model, spend_model=gg, horizon_months=12, freq="W"
    )
    np.testing.assert_allclose(value["clv"], ref["clv_12_weeks"], rtol=1e-8)


def test_gamma_gamma_expected_value_matches_lifetimes(simulated, frozen):
    ref = frozen["predictions"]["GammaGamma"]
    model = with_params(clv.GammaGamma, ref["params"])
    np.testing.assert_allclose(
        model.expected_value(simulated.iloc[:200]), ref["expected_value"], rtol=1e-10
    )


def test_live_lifetimes_bgnbd_oracle(cdnow):
    """lifetimes itself, imported without changing this process's warning filters."""
    before = list(warnings.filters)
    with warnings.catch_warnings():
        from lifetimes import BetaGeoFitter
    assert warnings.filters == before
    theirs = BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    ours = clv.BetaGeo().fit(cdnow)
    np.testing.assert_allclose(ours.params_, theirs.params_, rtol=1e-4)
    pred = theirs.conditional_expected_number_of_purchases_up_to_time(
        5.0, cdnow["frequency"], cdnow["recency"], cdnow["T"]
    )
    np.testing.assert_allclose(
        with_params(clv.BetaGeo, theirs.params_.to_numpy()).predict_purchases(cdnow, 5.0),
        pred,
        rtol=1e-8,
    )


def test_pareto_integral_matches_hypergeometric_form():
    """Quadrature of the drop-out integral == lifetimes' 2F1 closed form (A_0)."""
    from scipy.special import hyp2f1, logsumexp

    rng = np.random.default_rng(1)
    n = 400
    x = rng.integers(0, 60, n).astype(float)
    T = rng.uniform(1, 800, n)
    tx = np.where(x > 0, T * rng.uniform(0, 1, n) ** 0.3, 0.0)
    for r, alpha, s, beta in [
        (0.55, 10.6, 0.61, 11.7),
        (2.0, 300.0, 0.3, 20.0),
        (0.1, 5.0, 1.5, 900.0),
    ]:
        lo, hi, t = (alpha, beta, r + x) if alpha < beta else (beta, alpha, s + 1)
        rsx = r + s + x
        p1 = hyp2f1(rsx, t, rsx + 1, (hi - lo) / (hi + tx))
        p2 = hyp2f1(rsx, t, rsx + 1, (hi - lo) / (hi + T))
        log_a0 = logsumexp(
            [np.log(p1) + rsx * np.log(hi + T), np.log(p2) + rsx * np.log(hi + tx)],
            axis=0,
            b=[[1], [-1]],
        ) - rsx * np.log((hi + tx) * (hi + T))
        log_i, _ = _btyd._power_integral(tx, T, alpha, r + x, beta, s + 1.0)
        ok = T - tx > 1e-3 * T  # where the closed form is not ruined by cancellation
        np.testing.assert_allclose(log_i[ok], (log_a0 - np.log(rsx))[ok], rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("kind", ["bg", "mbg", "pareto", "gg"])
def test_analytic_gradient_matches_finite_differences(simulated, kind):
    d = _btyd.compress(simulated["frequency"], simulated["recency"], simulated["T"])
    if kind == "gg":
        rep = simulated[simulated["frequency"] > 0]
        d = _btyd.compress_spend(rep["frequency"], rep["monetary_value"])
        f, params = _btyd.gg_loglik, np.array([5.0, 3.0, 12.0])
    elif kind == "pareto":
        f, params = _btyd.pareto_loglik, np.array([0.6, 9.0, 0.8, 20.0])
    else:
        modified = kind == "mbg"

        def f(p, data, grad=True):
            return _btyd.bg_loglik(p, data, modified=modified, grad=grad)

        params = np.array([0.4, 6.0, 0.9, 2.0])
    _, grad = f(params, d)
    h = 1e-6
    for j in range(len(params)):
        up, down = params.copy(), params.copy()
        up[j] *= np.exp(h)
        down[j] *= np.exp(-h)
        numeric = (f(up, d, grad=False)[0] - f(down, d, grad=False)[0]) / (2 * h)
        assert grad[j] == pytest.approx(numeric, rel=1e-5, abs=1e-4)


@pytest.mark.parametrize("kind", ["bg", "mbg", "pareto", "gg"])
def test_analytic_hessian_matches_finite_differences_of_gradient(simulated, kind):
    d = _btyd.compress(simulated["frequency"], simulated["recency"], simulated["T"])
    if kind == "gg":
        rep = simulated[simulated["frequency"] > 0]
        d = _btyd.compress_spend(rep["frequency"], rep["monetary_value"])
        f, params = _btyd.gg_loglik, np.array([5.0, 3.0, 12.0])
    elif kind == "pareto":
        f, params = _btyd.pareto_loglik, np.array([0.6, 9.0, 0.8, 20.0])
    else:
        modified = kind == "mbg"

        def f(p, data, grad=True, hess=False):
            return _btyd.bg_loglik(p, data, modified=modified, grad=grad, hess=hess)

        params = np.array([0.4, 6.0, 0.9, 2.0])
    ll, grad, hess = f(params, d, hess=True)
    assert (ll, list(grad)) == (f(params, d)[0], list(f(params, d)[1]))
    h = 1e-5
    for j in range(len(params)):
        up, down = params.copy(), params.copy()
        up[j] *= np.exp(h)
        down[j] *= np.exp(-h)
        numeric = (f(up, d)[1] - f(down, d)[1]) / (2 * h)
        np.testing.assert_allclose(hess[:, j], numeric, rtol=1e-6, atol=1e-6 * np.abs(hess).max())


def test_pareto_pairwise_integrals_equal_per_row_quadrature(simulated, monkeypatch):
    """H(x, tx) - H(x, T) per distinct pair == the integral over [tx, T] per row."""
    d = _btyd.compress(simulated["frequency"], simulated["recency"], simulated["T"])
    params = np.array([0.6, 9.0, 0.8, 20.0])
    per_row = _btyd.pareto_loglik(params, d, hess=True)  # small data: one quadrature per row
    monkeypatch.setattr(_btyd, "_ALL_DIRECT_ROWS", 0)
    pairs = _btyd.pareto_loglik(params, _btyd.compress(d.x, d.tx, d.T, d.w), hess=True)
    assert pairs[0] == pytest.approx(per_row[0], rel=1e-12)
    np.testing.assert_allclose(pairs[1], per_row[1], rtol=1e-9)
    np.testing.assert_allclose(pairs[2], per_row[2], rtol=1e-8)


@pytest.mark.parametrize("cls", [clv.BetaGeo, clv.ParetoNBD])
def test_fit_started_from_a_thinned_sample_reaches_the_same_optimum(simulated, monkeypatch, cls):
    direct = cls().fit(simulated)
    monkeypatch.setattr(_btyd, "_START_ROWS", 100)
    monkeypatch.setattr(_btyd, "_START_CUSTOMERS", 300)
    monkeypatch.setattr(_btyd, "_PARETO_START_CUSTOMERS", 300)
    monkeypatch.setattr(cls, "_start_customers", 300)
    monkeypatch.setattr(_btyd, "_ALL_DIRECT_ROWS", 0)
    started = cls().fit(simulated)
    assert started.converged_
    np.testing.assert_allclose(started.params_, direct.params_, rtol=1e-7)
    np.testing.assert_allclose(started.standard_errors_, direct.standard_errors_, rtol=1e-5)


def test_customer_lifetime_value_equals_month_by_month_per_customer(simulated):
    """Computed once per distinct (x, t_x, T) and (x, T), broadcast back == the plain loop."""
    bg = with_params(clv.BetaGeo, [0.243, 4.414, 0.793, 2.426])
    gg = with_params(clv.GammaGamma, [6.25, 3.74, 15.44])
    rows = pd.concat([simulated.iloc[:300], simulated.iloc[:100]])  # repeated histories
    out = clv.customer_lifetime_value(rows, purchase_model=bg, spend_model=gg, freq="W")
    value = gg.expected_value(rows).to_numpy()
    clv_loop, previous = np.zeros(len(rows)), np.zeros(len(rows))
    for month in range(1, 13):
        cumulative = bg.predict_purchases(rows, month * 4.345).to_numpy()
        clv_loop += value * (cumulative - previous) / 1.01**month
        previous = cumulative
    np.testing.assert_allclose(out["clv"], clv_loop, rtol=1e-12)
    np.testing.assert_allclose(out["expected_purchases"], previous, rtol=1e-12)
    np.testing.assert_allclose(out["p_alive"], bg.p_alive(rows), rtol=1e-15)


# --------------------------------------------------------------------------- compression and invariances


@pytest.mark.parametrize("cls", [clv.BetaGeo, clv.ParetoNBD])
def test_compressed_fit_equals_uncompressed(cdnow, cls):
    compressed = cdnow.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
    assert len(compressed) < len(cdnow)
    full = cls().fit(cdnow)
    weighted = cls().fit(compressed, weight_col="n")
    np.testing.assert_allclose(weighted.params_, full.params_, rtol=1e-7)
    assert weighted.log_likelihood_ == pytest.approx(full.log_likelihood_, abs=1e-6)
    assert weighted.n_customers_ == full.n_customers_ == 2357


def test_fit_is_row_order_invariant_idempotent_and_does_not_mutate(cdnow):
    shuffled = cdnow.sample(frac=1.0, random_state=3)
    before = shuffled.copy()
    model = clv.BetaGeo()
    first = model.fit(shuffled).params_.copy()
    assert model.fit(shuffled) is model
    pd.testing.assert_frame_equal(shuffled, before)
    np.testing.assert_allclose(model.params_, first, rtol=0)
    np.testing.assert_allclose(first, clv.BetaGeo().fit(cdnow).params_, rtol=1e-8)


histories = st.tuples(st.integers(0, 300), st.floats(0.0, 1.0), st.floats(0.5, 4000.0)).map(
    lambda v: (float(v[0]), 0.0 if v[0] == 0 else max(v[1] * v[2], 1e-3), v[2])
)

MODELS = {
    "bg": with_params(clv.BetaGeo, [0.243, 4.414, 0.793, 2.426]),
    "mbg": with_params(clv.ModifiedBetaGeo, [0.525, 6.183, 0.891, 1.614]),
    "pareto": with_params(clv.ParetoNBD, [0.553, 10.578, 0.606, 11.669]),
    "bg_days": with_params(clv.BetaGeo, [0.243, 30.9, 1.7, 2.426]),
}


@settings(max_examples=40, deadline=None)
@given(history=histories, t1=st.floats(0.0, 500.0), dt=st.floats(0.0, 500.0))
@pytest.mark.parametrize("name", list(MODELS))
def test_properties(name, history, t1, dt):
    model = MODELS[name]
    row = one(*history)
    p = model.p_alive(row).iloc[0]
    assert 0.0 <= p <= 1.0
    e1 = model.predict_purchases(row, t1).iloc[0]
    e2 = model.predict_purchases(row, t1 + dt).iloc[0]
    assert np.isfinite(e1) and np.isfinite(e2)
    assert 0.0 <= e1 <= e2 * (1 + 1e-9) + 1e-12


@pytest.mark.parametrize("name", ["bg", "mbg", "pareto"])
def test_conditional_pmf_sums_to_one_and_matches_mean(name):
    model = MODELS[name]
    rows = pd.DataFrame(
        {
            "frequency": [0, 2, 7, 26],
            "recency": [0, 30.43, 20.0, 30.86],
            "T": [38.86, 38.86, 35.0, 31.0],
        }
    )
    probs = np.column_stack([model.prob_purchases(rows, n, 20.0) for n in range(150)])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-8)
    mean = probs @ np.arange(150)
    np.testing.assert_allclose(mean, model.predict_purchases(rows, 20.0), rtol=1e-7)


def test_extreme_inputs_are_finite():
    # frequency 1,000, ten years in days
    rows = pd.DataFrame(
        {"frequency": [1000, 0, 1, 1000], "recency": [3600.0, 0.0, 1.0, 1000.0], "T": [3650.0] * 4}
    )
    for name, model in MODELS.items():
        for values in (
            model.predict_purchases(rows, 365.0),
            model.p_alive(rows),
            model.prob_purchases(rows, 3, 365.0),
        ):
            assert np.all(np.isfinite(values)), name
            assert np.all(values >= 0), name
    days = with_params(clv.ParetoNBD, [0.553, 74.0, 0.606, 81.7])
    assert np.all(np.isfinite(days.predict_purchases(rows, 365.0)))


def test_fit_on_day_grain_with_long_history_converges():
    rng = np.random.default_rng(7)
    n = 3000
    T = rng.integers(30, 3650, n).astype(float)
    x = rng.poisson(rng.gamma(0.5, 1 / 20.0, n) * T).astype(float)
    tx = np.where(x > 0, np.ceil(T * rng.uniform(0.5, 1.0, n)), 0.0)
    frame = pd.DataFrame({"frequency": x, "recency": tx, "T": T})
    for cls in (clv.BetaGeo, clv.ParetoNBD):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            model = cls().fit(frame)
        assert np.all(np.isfinite(model.params_))


# --------------------------------------------------------------------------- persistence, repr, errors


@pytest.mark.parametrize("name", ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD"])
def test_json_round_trip(cdnow, name):
    model = getattr(clv, name)(penalizer=0.001).fit(cdnow)
    text = model.to_json()
    again = getattr(clv, name).from_json(text)
    assert type(clv.model_from_json(text)) is type(model)
    pd.testing.assert_series_equal(again.params_, model.params_)
    pd.testing.assert_frame_equal(again.summary(), model.summary())
    assert again.penalizer == 0.001
    pd.testing.assert_series_equal(
        again.predict_purchases(cdnow, 10), model.predict_purchases(cdnow, 10)
    )
    assert again.to_json() == text


def test_gamma_gamma_json_round_trip(cdnow_spend):
    model = clv.GammaGamma().fit(cdnow_spend, frequency_col="x", monetary_col="zbar")
    again = clv.model_from_json(model.to_json())
    assert again.frequency_spend_corr_ == model.frequency_spend_corr_
    pd.testing.assert_series_equal(
        again.expected_value(cdnow_spend, frequency_col="x", monetary_col="zbar"),
        model.expected_value(cdnow_spend, frequency_col="x", monetary_col="zbar"),
    )


def test_from_json_rejects_other_model():
    with pytest.raises(InvalidDataError, match="holds a BetaGeo model"):
        clv.ParetoNBD.from_json(clv.BetaGeo().to_json())


def test_repr(bg_cdnow):
    assert repr(clv.BetaGeo()) == "BetaGeo(penalizer=0.0), not fitted"
    assert repr(bg_cdnow).startswith("BetaGeo(penalizer=0.0), fitted on 2,357 customers: r=0.2426")


def test_not_fitted_error():
    with pytest.raises(
        NotFittedError,
        match=r"BetaGeo.p_alive: this BetaGeo model is not fitted yet. Call .fit\(summary\)",
    ):
        clv.BetaGeo().p_alive(one(1, 2, 3))


def test_errors_name_column_count_and_example():
    bad = pd.DataFrame(
        {"frequency": [1, 2, 0], "recency": [5.0, 9.0, 0.0], "T": [10.0, 8.0, 4.0]},
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )
    with pytest.raises(
        InvalidDataError,
        match=r"1 row\(s\) of `summary` have 'recency' > 'T', e\.g\. customer_id='b': recency=9\.0, T=8\.0",
    ):
        clv.BetaGeo().fit(bad)
    neg = bad.assign(frequency=[-1, -2, 0], recency=[5.0, 7.0, 0.0])
    with pytest.raises(
        InvalidDataError,
        match=r"2 row\(s\) of `summary` have negative 'frequency', e\.g\. customer_id='a'",
    ):
        clv.ParetoNBD().fit(neg)
    frac = bad.assign(frequency=[1.5, 2, 0], recency=[5.0, 7.0, 0.0])
    with pytest.raises(InvalidDataError, match="non-integer 'frequency'"):
        clv.BetaGeo().fit(frac)
    with pytest.raises(
        ColumnNotFoundError,
        match=r"(?s)column 'age' \(T_col\) not found in `summary`.*Hint: pass T_col='T'",
    ):
        clv.BetaGeo().fit(bad, T_col="age")
    with pytest.raises(InvalidDataError, match="missing or infinite"):
        clv.BetaGeo().fit(bad.assign(T=[10.0, np.nan, 4.0]))
    with pytest.raises(InvalidDataError, match="must be one finite number >= 0"):
        with_params(clv.BetaGeo, [1, 1, 1, 1]).predict_purchases(one(1, 2, 3), -1)


def test_gamma_gamma_warns_on_correlated_spend():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, 400).astype(float)
    nu = rng.gamma(4.0, 1 / 15.0, 400)
    spend = rng.gamma(6.0 * x, 1 / (nu * x)) * (1 + 0.15 * x)  # grows with frequency
    frame = pd.DataFrame({"frequency": x, "monetary_value": spend})
    with pytest.warns(
        StatisticalWarning, match=r"correlated \(Pearson r = 0\.\d\d over 400 repeat customers\)"
    ):
        clv.GammaGamma().fit(frame)


# --------------------------------------------------------------------------- CLV, holdout, one-call path


@pytest.fixture(scope="module")
def cdnow_orders() -> pd.DataFrame:
    from crm_analytics.datasets import load_cdnow

    return load_cdnow(kind="sample")


@pytest.fixture(scope="module")
def cdnow_split(cdnow_orders) -> pd.DataFrame:
    return clv.calibration_holdout(
        cdnow_orders, calibration_end="1997-09-30", holdout_end="1998-06-30", freq="D"
    )


def test_calibration_holdout_matches_lifetimes(cdnow_orders, cdnow_split):
    with warnings.catch_warnings():
        from lifetimes.utils import calibration_and_holdout_data

    tx = cdnow_orders[cdnow_orders["status"] == "paid"]
    theirs = calibration_and_holdout_data(
        tx,
        "customer_id",
        "order_time",
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        freq="D",
        monetary_value_col="amount",
    )
    ours = cdnow_split.loc[theirs.index]
    np.testing.assert_array_equal(ours["frequency"], theirs["frequency_cal"])
    np.testing.assert_array_equal(ours["recency"], theirs["recency_cal"])
    np.testing.assert_array_equal(ours["T"], theirs["T_cal"])
    np.testing.assert_array_equal(ours["holdout_purchases"], theirs["frequency_holdout"])
    assert ours["holdout_duration"].iloc[0] == theirs["duration_holdout"].iloc[0]

    # BG/NBD per-bucket predictions equal lifetimes' on the same split
    model = clv.BetaGeo().fit(cdnow_split)
    from lifetimes import BetaGeoFitter

    lf = BetaGeoFitter().fit(theirs["frequency_cal"], theirs["recency_cal"], theirs["T_cal"])
    np.testing.assert_allclose(model.params_, lf.params_, rtol=1e-4)
    ev = clv.evaluate_holdout(model, cdnow_split)
    pred = lf.conditional_expected_number_of_purchases_up_to_time(
        theirs["duration_holdout"], theirs["frequency_cal"], theirs["recency_cal"], theirs["T_cal"]
    )
    bucket = np.minimum(theirs["frequency_cal"], 7)
    np.testing.assert_allclose(
        ev.buckets["predicted_purchases"], pred.groupby(bucket).mean(), rtol=1e-4
    )
    np.testing.assert_allclose(
        ev.buckets["actual_purchases"],
        theirs["frequency_holdout"].groupby(bucket).mean(),
        rtol=1e-12,
    )
    assert list(ev.buckets.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert ev.metrics["purchases_actual_total"] == theirs["frequency_holdout"].sum()


def test_evaluate_holdout_with_spend(cdnow_split):
    model = clv.BetaGeo().fit(cdnow_split)
    gg = clv.GammaGamma().fit(cdnow_split)
    ev = clv.evaluate_holdout(model, cdnow_split, spend_model=gg)
    assert {"spend_mae", "spend_rmse", "spend_total_error_pct"} <= set(ev.metrics.index)
    assert ev.buckets["n_customers"].sum() == len(cdnow_split)
    total = ev.metrics["purchases_predicted_total"]
    assert total == pytest.approx(ev.predictions["predicted_purchases"].sum())
    assert ev.metrics["purchases_total_error_pct"] == pytest.approx(
        100 * (total / ev.metrics["purchases_actual_total"] - 1)
    )


def test_customer_lifetime_value_hand_check():
    # one month, no discounting: clv = E[X(30)] * E[M] * margin
    bg = with_params(clv.BetaGeo, [0.243, 30.9, 0.793, 2.426])
    gg = with_params(clv.GammaGamma, [6.25, 3.74, 15.44])
    rows = pd.DataFrame(
        {
            "frequency": [0, 3],
            "recency": [0.0, 100.0],
            "T": [200.0, 200.0],
            "monetary_value": [0.0, 40.0],
        }
    )
    out = clv.customer_lifetime_value(
        rows, purchase_model=bg, spend_model=gg, horizon_months=1, discount_rate=0.0, margin=0.3
    )
    expected = bg.predict_purchases(rows, 30) * gg.expected_value(rows) * 0.3
    np.testing.assert_allclose(out["clv"], expected, rtol=1e-12)
    assert list(out.columns) == ["expected_purchases", "p_alive", "expected_order_value", "clv"]


def test_fit_clv_on_cdnow(cdnow_orders):
    result = clv.fit_clv(cdnow_orders, model="pareto", freq="W", horizon_months=12)
    table = result.table
    assert table.index.name == "customer_id"
    assert table["clv"].is_monotonic_decreasing
    assert len(table) == 2357
    assert isinstance(result.purchase_model, clv.ParetoNBD)
    assert result.purchase_model.converged_
    with pytest.raises(InvalidDataError, match="model='bgnb' is not supported"):
        clv.fit_clv(cdnow_orders, model="bgnb")


def test_frequency_recency_matrix_and_p_alive_history(bg_cdnow, cdnow_orders):
    grid = clv.frequency_recency_matrix(bg_cdnow, T=38.86, max_frequency=5)
    assert grid.shape == (6, 39)
    assert grid.loc[0].eq(1.0).all()
    assert grid.loc[3, 30] == pytest.approx(bg_cdnow.p_alive(one(3, 30, 38.86)).iloc[0])
    from crm_analytics.summary import customer_summary

    weekly = clv.BetaGeo().fit(customer_summary(cdnow_orders, freq="W"))
    history = clv.p_alive_history(
        weekly, cdnow_orders, customer_id=cdnow_orders["customer_id"].iloc[0], freq="W"
    )
    assert history["p_alive"].between(0, 1).all()
    assert (history["T"].diff().dropna() == 1).all()
    assert history["frequency"].is_monotonic_increasing
