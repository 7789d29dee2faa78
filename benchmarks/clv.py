"""Benchmark: BG/NBD + Gamma-Gamma + 12-month CLV on 1,000,000 simulated customers at day
grain, crm_analytics vs lifetimes in the same run; Pareto/NBD on 100,000.

Run: python benchmarks/clv.py [--customers 1000000] [--pareto 100000] [--json PATH]
Prints a Markdown table (times in seconds, ratios, parameter agreement).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings

import numpy as np
import pandas as pd


def simulate(n: int, seed: int = 1) -> pd.DataFrame:
    """BG/NBD customers with CDNOW-like parameters (per day), cohorts over two years."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.243, 4.414 * 7, 0.793, 2.426  # CDNOW estimates, alpha in days
    p, q, v = 6.25, 3.74, 15.44
    T = rng.integers(1, 731, n).astype(float)  # first purchase somewhere in two years
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    max_repeat = rng.geometric(drop)
    arrivals = rng.poisson(lam * T)
    x = np.minimum(max_repeat, arrivals)
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(arrivals - x, 0) + 1), 0.0)
    tx = np.where(x > 0, np.clip(np.ceil(tx), 1, T), 0.0)
    x = np.minimum(x, tx)  # at most one repeat purchase per day
    nu = rng.gamma(q, 1.0 / v, n)
    zbar = np.where(x > 0, rng.gamma(p * np.maximum(x, 1), 1.0 / (nu * np.maximum(x, 1))), 0.0)
    return pd.DataFrame(
        {"frequency": x.astype(float), "recency": tx, "T": T, "monetary_value": zbar}
    )


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def measurements(rows: list[tuple]) -> list[dict]:
    """The (task, customers, ours, theirs, diff) rows as {benchmark, case, size, ours_s, ...}."""
    return [
        {
            "benchmark": "clv",
            "case": task,
            "size": f"{n:,} customers",
            "ours_s": ours,
            "peer": "lifetimes",
            "peer_s": theirs,
        }
        for task, n, ours, theirs, _ in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--pareto", type=int, default=100_000)
    parser.add_argument("--json", metavar="PATH", help="also write the measurements as JSON rows")
    args = parser.parse_args()

    with warnings.catch_warnings():
        import lifetimes
        from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
    import scipy

    import crm_analytics.clv as clv

    data = simulate(args.customers)
    distinct = len(data[["frequency", "recency", "T"]].drop_duplicates())
    repeat = data[data["frequency"] > 0]
    rows = []

    def ours_all():
        bg = clv.BetaGeo().fit(data)
        gg = clv.GammaGamma().fit(data)
        value = clv.customer_lifetime_value(data, purchase_model=bg, spend_model=gg, freq="D")
        return bg, gg, value

    def theirs_bg():
        return BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])

    def theirs_gg():
        return GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])

    (bg, gg, value), t_ours = timed(ours_all)
    _, t_bg_only = timed(lambda: clv.BetaGeo().fit(data))
    lbg, t_lbg = timed(theirs_bg)
    lgg, t_lgg = timed(theirs_gg)
    lvalue, t_lclv = timed(
        lambda: lgg.customer_lifetime_value(
            lbg,
            data["frequency"],
            data["recency"],
            data["T"],
            data["monetary_value"],
            time=12,
            discount_rate=0.01,
            freq="D",
        )
    )
    t_theirs = t_lbg + t_lgg + t_lclv
    bg_diff = float(np.max(np.abs(bg.params_.to_numpy() / lbg.params_.to_numpy() - 1)))
    gg_diff = float(np.max(np.abs(gg.params_.to_numpy() / lgg.params_.to_numpy() - 1)))
    clv_diff = float(
        np.max(
            np.abs(value["clv"].to_numpy() - lvalue.to_numpy())
            / np.maximum(lvalue.to_numpy(), 1e-9)
        )
    )
    rows.append(("BG/NBD fit", args.customers, t_bg_only, t_lbg, bg_diff))
    rows.append(
        (
            "BG/NBD + Gamma-Gamma + 12-month CLV (end to end)",
            args.customers,
            t_ours,
            t_theirs,
            max(bg_diff, gg_diff),
        )
    )

    small = data.iloc[: args.pareto]
    pn, t_pn = timed(lambda: clv.ParetoNBD().fit(small))
    lpn, t_lpn = timed(
        lambda: ParetoNBDFitter().fit(small["frequency"], small["recency"], small["T"])
    )
    pn_diff = float(np.max(np.abs(pn.params_.to_numpy() / lpn.params_.to_numpy() - 1)))
    rows.append(("Pareto/NBD fit", args.pareto, t_pn, t_lpn, pn_diff))

    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}, pandas {pd.__version__}, lifetimes {lifetimes.__version__}"
    )
    print(
        f"{args.customers:,} customers, {distinct:,} distinct (x, t_x, T) rows; "
        f"{len(repeat):,} repeat customers; max relative CLV difference {clv_diff:.1e}"
    )
    print()
    print(
        "| task | customers | crm_analytics (s) | lifetimes (s) | speed-up | max rel. param diff |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for task, n, ours, theirs, diff in rows:
        print(f"| {task} | {n:,} | {ours:.2f} | {theirs:.2f} | {theirs / ours:.0f}x | {diff:.1e} |")
    print()
    print("ours:", repr(bg), repr(gg), repr(pn), sep="\n")
    print(
        "lifetimes:", lbg.params_.to_dict(), lgg.params_.to_dict(), lpn.params_.to_dict(), sep="\n"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(measurements(rows), fh, indent=1)


if __name__ == "__main__":
    main()
