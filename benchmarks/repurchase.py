"""Cohorts and repurchase rates: ours vs the usual pandas tutorial recipe; churn on CDNOW.

Run: python benchmarks/repurchase.py [--orders 5000000] [--customers 500000] [--repeat 3]
                                     [--skip-churn] [--engines] [--json PATH]

Prints medians of ``--repeat`` runs in one process, with each recipe's ratio to ours,
checks that both give the same numbers, then the churn model's CDNOW ROC AUC next to
the recency baseline (and the BG/NBD model).

``--engines`` also times cohort_table, repurchase_rate and churn_rate on a polars
LazyFrame and a DuckDB table, reduced inside the engine, against collecting the rows
to pandas first (and checks both give the same table).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from _engines import engine_frames

import crm_analytics as crm
from crm_analytics.churn import ChurnModel, churn_rate
from crm_analytics.repurchase import cohort_table, repurchase_rate


def make_orders(n_orders: int, n_customers: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weight = rng.gamma(0.5, 1.0, n_customers)
    customer = rng.choice(n_customers, size=n_orders, p=weight / weight.sum())
    start = np.datetime64("2023-01-01T00:00:00")
    seconds = rng.integers(0, 730 * 86_400, n_orders)
    return pd.DataFrame(
        {
            "order_id": np.arange(n_orders).astype(str),
            "customer_id": pd.Series(customer).map("c{:07d}".format).to_numpy(),
            "order_time": start + seconds.astype("timedelta64[s]"),
            "amount": np.round(rng.gamma(2.0, 40.0, n_orders), 2),
            "status": "paid",
        }
    )


def tutorial_cohorts(orders: pd.DataFrame) -> pd.DataFrame:
    """The recipe of most cohort-analysis tutorials (monthly retention)."""
    df = orders[orders["status"] == "paid"].copy()
    df["order_month"] = df["order_time"].dt.to_period("M")
    df["cohort"] = df.groupby("customer_id")["order_time"].transform("min").dt.to_period("M")
    counts = df.groupby(["cohort", "order_month"])["customer_id"].nunique().reset_index()
    counts["period"] = (counts["order_month"] - counts["cohort"]).apply(lambda x: x.n)
    table = counts.pivot_table(index="cohort", columns="period", values="customer_id")
    return table.divide(table[0], axis=0)


def tutorial_repurchase(orders: pd.DataFrame) -> pd.Series:
    """Monthly share of buyers with two or more orders in the month."""
    df = orders[orders["status"] == "paid"]
    month = df["order_time"].dt.to_period("M")
    n = df.groupby([month, df["customer_id"]])["order_id"].nunique()
    return (n >= 2).groupby(level=0).mean()


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    runs, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), out


def churn_on_cdnow() -> None:
    import sklearn.ensemble  # noqa: F401
    from threadpoolctl import threadpool_limits

    orders = crm.datasets.load_cdnow("master")
    print("\nCDNOW (23,570 customers), history to 1997-09-30, ROC AUC (model / recency baseline):")
    cases = [
        ("classifier, 39-week horizon, customer split", 273, "classifier", "customers"),
        ("BG/NBD, 39-week horizon, customer split", 273, "btyd", "customers"),
        ("BG/NBD, 39-week horizon, time split", 273, "btyd", "time"),
        ("classifier, 13-week horizon, time split", 91, "classifier", "time"),
        ("BG/NBD, 13-week horizon, time split", 91, "btyd", "time"),
    ]
    with threadpool_limits(limits=1):
        for name, horizon, method, split in cases:
            t0 = time.perf_counter()
            ev = ChurnModel(horizon_days=horizon, method=method).evaluate(
                orders, cutoff="1997-10-01", split=split
            )
            print(
                f"  {name:48} {ev.roc_auc:.3f} / {ev.baseline_roc_auc:.3f}  "
                f"PR AUC {ev.pr_auc:.3f} / {ev.baseline_pr_auc:.3f}  Brier {ev.brier:.3f}  "
                f"({ev.n_customers:,} judged, {time.perf_counter() - t0:.1f} s)"
            )


def engine_rows(orders: pd.DataFrame, repeat: int) -> list[tuple[str, float, str, float]]:
    """(case, seconds in the engine, peer, seconds collecting to pandas first) rows."""
    engines = engine_frames(orders)
    calls: dict[str, Callable[[object], pd.DataFrame]] = {
        "cohort_table()": lambda d: cohort_table(d),
        "repurchase_rate(period='M')": lambda d: repurchase_rate(d, period="M"),
        "churn_rate(period='M')": lambda d: churn_rate(d, period="M"),
    }
    rows = []
    for name, (native, collect) in engines.items():
        for label, call in calls.items():
            ours, got = timed(lambda: call(native), repeat)  # noqa: B023
            peer, want = timed(lambda: call(collect()), repeat)  # noqa: B023
            np.testing.assert_allclose(
                got.to_numpy(dtype=float), want.to_numpy(dtype=float), equal_nan=True
            )
            case = f"{label}, {name}"
            print(f"{case}: {ours:6.2f} s in the engine, {peer:6.2f} s collected first")
            rows.append((case, ours, "rows collected to pandas first", peer))
    return rows


def measurements(
    timings: dict[str, float], n_orders: int, n_customers: int, engines: list | None = None
) -> list[dict]:
    """The timings (keys as in ``main``) as rows {benchmark, case, size, ours_s, peer, peer_s}."""
    size = f"{n_orders:,} orders, {n_customers:,} customers"
    cases = [
        ("cohort_table (monthly retention)", "cohort", "tutorial cohort recipe"),
        ("repurchase_rate(period='M')", "rate", "tutorial repurchase recipe"),
        ("repurchase_rate, all four definitions", "all", None),
    ]
    rows = [
        {
            "benchmark": "repurchase",
            "case": case,
            "size": size,
            "ours_s": timings[key],
            "peer": peer,
            "peer_s": timings.get(f"{key}_peer"),
        }
        for case, key, peer in cases
    ]
    for case, ours, peer, peer_s in engines or []:
        rows.append(
            {
                "benchmark": "repurchase",
                "case": case,
                "size": size,
                "ours_s": ours,
                "peer": peer,
                "peer_s": peer_s,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-churn", action="store_true")
    parser.add_argument("--engines", action="store_true", help="also time polars and DuckDB")
    parser.add_argument("--json", metavar="PATH", help="also write the measurements as JSON rows")
    args = parser.parse_args()

    orders = make_orders(args.orders, args.customers)
    print(
        f"{len(orders):,} orders, {orders['customer_id'].nunique():,} customers; "
        f"Python {platform.python_version()}, pandas {pd.__version__}, {platform.machine()}"
    )
    ours_c, table = timed(lambda: cohort_table(orders), args.repeat)
    tut_c, tut_table = timed(lambda: tutorial_cohorts(orders), args.repeat)
    ours_r, rate = timed(lambda: repurchase_rate(orders, period="M"), args.repeat)
    tut_r, tut_rate = timed(lambda: tutorial_repurchase(orders), args.repeat)
    ours_all, _ = timed(
        lambda: [
            repurchase_rate(orders, period="M", definition=d) for d in crm.repurchase.DEFINITIONS
        ],
        args.repeat,
    )
    np.testing.assert_allclose(
        table.to_numpy(dtype=float)[:, :5], tut_table.to_numpy(dtype=float)[:, :5], equal_nan=True
    )
    np.testing.assert_allclose(rate["repurchase_rate"].to_numpy(), tut_rate.to_numpy())
    print("same numbers: yes (monthly retention table, monthly repurchase rate)")
    print(f"{'task':58}{'seconds':>9}{'ratio':>8}")
    rows = [
        ("crm.repurchase.cohort_table (monthly retention)", ours_c, ours_c),
        ("tutorial cohort recipe (transform min, nunique, pivot)", tut_c, ours_c),
        ("crm.repurchase.repurchase_rate(period='M')", ours_r, ours_r),
        ("tutorial repurchase recipe (groupby nunique)", tut_r, ours_r),
        ("crm: all four definitions, monthly", ours_all, ours_all),
    ]
    for name, seconds, ref in rows:
        print(f"{name:58}{seconds:9.2f}{seconds / ref:7.1f}x")
    engines = engine_rows(orders, args.repeat) if args.engines else None
    if args.json:
        with open(args.json, "w") as fh:
            timings = {"cohort": ours_c, "cohort_peer": tut_c, "rate": ours_r, "rate_peer": tut_r}
            timings["all"] = ours_all
            json.dump(
                measurements(timings, len(orders), orders["customer_id"].nunique(), engines),
                fh,
                indent=1,
            )
    if not args.skip_churn:
        churn_on_cdnow()


if __name__ == "__main__":
    main()
