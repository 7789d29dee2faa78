"""Freeze lifetimes' BTYD results on a simulated customer base for tests/test_clv.py.

Run from the repository root with lifetimes installed:

    python tests/reference/make_clv_reference.py

Writes ``clv_simulated.csv`` (the data) and ``clv_lifetimes.json`` (lifetimes 0.11.3
estimates, log-likelihoods in the data's unit, and predictions at fixed parameters).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def simulate(n: int, seed: int) -> pd.DataFrame:
    """BG/NBD customers with Gamma-Gamma spend, observed for 20..60 weeks."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.3, 5.0, 0.8, 2.5
    p, q, v = 6.0, 4.0, 15.0
    T = np.round(rng.uniform(20.0, 60.0, n), 2)
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    max_repeat = rng.geometric(drop)  # repeat purchases before dropping out
    n_arrivals = rng.poisson(lam * T)
    x = np.minimum(max_repeat, n_arrivals)
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(n_arrivals - x, 0) + 1), 0.0)
    tx = np.clip(np.round(tx, 2), 0.01, T) * (x > 0)
    nu = rng.gamma(q, 1.0 / v, n)
    zbar = np.where(x > 0, rng.gamma(p * np.maximum(x, 1), 1.0 / (nu * np.maximum(x, 1))), 0.0)
    return pd.DataFrame(
        {"frequency": x.astype(float), "recency": tx, "T": T, "monetary_value": np.round(zbar, 4)},
        index=pd.Index([f"c{i:05d}" for i in range(n)], name="customer_id"),
    )


def _fit_tight(fit):
    """lifetimes raises when BFGS reports precision loss at a tight tol; relax stepwise."""
    import contextlib
    import io

    for tol in (1e-10, 1e-9, 1e-8, 1e-7):
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return fit(tol)
        except Exception:  # lifetimes.utils.ConvergenceError
            continue
    raise RuntimeError("lifetimes did not converge")


def main() -> None:
    with warnings.catch_warnings():
        import lifetimes
        from lifetimes import (
            BetaGeoFitter,
            GammaGammaFitter,
            ModifiedBetaGeoFitter,
            ParetoNBDFitter,
        )

    data = simulate(3000, seed=20240501)
    data.to_csv(HERE / "clv_simulated.csv")
    f, r, T = data["frequency"], data["recency"], data["T"]
    out: dict = {"lifetimes_version": lifetimes.__version__, "fits": {}, "predictions": {}}
    for name, cls in [
        ("BetaGeo", BetaGeoFitter),
        ("ModifiedBetaGeo", ModifiedBetaGeoFitter),
        ("ParetoNBD", ParetoNBDFitter),
    ]:
        model = _fit_tight(lambda tol, cls=cls: cls(penalizer_coef=0.0).fit(f, r, T, tol=tol))
        out["fits"][name] = {"params": model.params_.tolist()}
    rep = data[data["frequency"] > 0]
    gg = _fit_tight(
        lambda tol: GammaGammaFitter(penalizer_coef=0.0).fit(
            rep["frequency"], rep["monetary_value"], tol=tol
        )
    )
    out["fits"]["GammaGamma"] = {"params": gg.params_.tolist()}

    # predictions at fixed parameters on the first 200 customers
    rows = data.iloc[:200]
    fixed = {
        "BetaGeo": (BetaGeoFitter, [0.243, 4.414, 0.793, 2.426], ["r", "alpha", "a", "b"]),
        "ModifiedBetaGeo": (
            ModifiedBetaGeoFitter,
            [0.525, 6.183, 0.891, 1.614],
            ["r", "alpha", "a", "b"],
        ),
        "ParetoNBD": (ParetoNBDFitter, [0.553, 10.578, 0.606, 11.669], ["r", "alpha", "s", "beta"]),
    }
    ggm = GammaGammaFitter()
    ggm.params_ = pd.Series([6.25, 3.74, 15.44], index=["p", "q", "v"])
    for name, (cls, params, names) in fixed.items():
        m = cls()
        m.params_ = pd.Series(params, index=names)
        m.predict = m.conditional_expected_number_of_purchases_up_to_time
        pred = {
            "params": params,
            "expected_10": m.conditional_expected_number_of_purchases_up_to_time(
                10.0, rows["frequency"], rows["recency"], rows["T"]
            ).tolist(),
            "p_alive": np.asarray(
                m.conditional_probability_alive(rows["frequency"], rows["recency"], rows["T"])
            ).tolist(),
            "unconditional_expected": [
                float(m.expected_number_of_purchases_up_to_time(t)) for t in (1.0, 10.0, 52.0)
            ],
            "clv_12_weeks": ggm.customer_lifetime_value(
                m,
                rows["frequency"],
                rows["recency"],
                rows["T"],
                rows["monetary_value"],
                time=12,
                discount_rate=0.01,
                freq="W",
            ).tolist(),
        }
        if name != "ParetoNBD":
            pred["unconditional_prob"] = [
                float(m.probability_of_n_purchases_up_to_time(t, n))
                for t, n in [(10.0, 0), (10.0, 1), (39.0, 0), (39.0, 3)]
            ]
        else:
            pred["conditional_prob_t10"] = {
                str(n): np.asarray(
                    m.conditional_probability_of_n_purchases_up_to_time(
                        n, 10.0, rows["frequency"], rows["recency"], rows["T"]
                    )
                ).tolist()
                for n in (0, 1, 2, 5)
            }
        out["predictions"][name] = pred
    out["predictions"]["GammaGamma"] = {
        "params": [6.25, 3.74, 15.44],
        "expected_value": ggm.conditional_expected_average_profit(
            rows["frequency"], rows["monetary_value"]
        ).tolist(),
    }
    (HERE / "clv_lifetimes.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
