"""Orders -> customer summary: ours on pandas, polars and DuckDB vs lifetimes and hand-written group-bys.

Run: python benchmarks/summary.py [--orders 5000000] [--customers 500000] [--repeat 3]
                                  [--json PATH]

Prints one table, medians of ``--repeat`` runs, with each timing's ratio to ours on pandas.
The data is seeded: customers with Poisson-gamma purchase rates over two years.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from _engines import engine_frames

import crm_analytics as crm


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


def hand_pandas(orders: pd.DataFrame) -> pd.DataFrame:
    """What an analyst writes with pandas: day grain, no status or refund rules."""
    day = orders["order_time"].dt.floor("D")
    per_day = orders.assign(day=day).groupby(["customer_id", "day"], sort=False)["amount"].sum()
    g = per_day.reset_index().groupby("customer_id")
    out = g["day"].agg(["min", "max", "count"])
    as_of = day.max()
    return pd.DataFrame(
        {
            "frequency": out["count"] - 1,
            "recency": (out["max"] - out["min"]).dt.days,
            "T": (as_of - out["min"]).dt.days,
        }
    )


def hand_polars(orders: object, *, with_value: bool = False) -> object:
    """What an analyst writes with polars: day grain, no status or refund rules.

    ``with_value`` adds lifetimes' fourth column, ``monetary_value``: the mean value of
    the repeat days, the day totals less the first day's (``min_by``) over the repeat days.
    """
    import polars as pl

    lf = orders.lazy().with_columns(pl.col("order_time").dt.truncate("1d").alias("day"))
    as_of = lf.select(pl.col("day").max()).collect().item()
    columns = [
        (pl.len() - 1).alias("frequency"),
        (pl.col("day").max() - pl.col("day").min()).dt.total_days().alias("recency"),
        (pl.lit(as_of) - pl.col("day").min()).dt.total_days().alias("T"),
    ]
    if with_value:
        columns.append((pl.col("amount").sum() - pl.col("amount").min_by("day")).alias("_repeat"))
    per_customer = (
        lf.group_by("customer_id", "day").agg(pl.col("amount").sum()).group_by("customer_id")
    ).agg(*columns)
    if with_value:
        per_customer = per_customer.with_columns(
            pl.when(pl.col("frequency") > 0)
            .then(pl.col("_repeat") / pl.col("frequency"))
            .otherwise(0.0)
            .alias("monetary_value")
        ).drop("_repeat")
    return per_customer.collect()


def lifetimes_summary(orders: pd.DataFrame) -> pd.DataFrame:
    with warnings.catch_warnings():
        from lifetimes.utils import summary_data_from_transaction_data

        return summary_data_from_transaction_data(
            orders, "customer_id", "order_time", "amount", freq="D"
        )


def timed(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


# (ours, peer) pairs of case names above, for the combined table of benchmarks/run.py
PAIRS = [
    ("crm.customer_summary (pandas)", "lifetimes summary_data_from_transaction_data"),
    ("crm.customer_summary (pandas)", "hand-written pandas group-by"),
    ("crm.customer_summary (polars lazy)", "hand-written polars lazy group-by"),
    ("crm.customer_summary (polars lazy)", "hand-written polars, with monetary_value"),
    ("crm.customer_summary (DuckDB)", "hand-written pandas group-by"),
]


def measurements(timings: dict[str, float], n_orders: int, n_customers: int) -> list[dict]:
    """The timings as rows {benchmark, case, size, ours_s, peer, peer_s}."""
    size = f"{n_orders:,} orders, {n_customers:,} customers"
    rows = []
    for ours, peer in PAIRS:
        if ours in timings:
            rows.append(
                {
                    "benchmark": "summary",
                    "case": ours.removeprefix("crm."),
                    "size": size,
                    "ours_s": timings[ours],
                    "peer": peer if peer in timings else None,
                    "peer_s": timings.get(peer),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--json", metavar="PATH", help="also write the measurements as JSON rows")
    args = parser.parse_args()

    orders = make_orders(args.orders, args.customers)
    print(
        f"{len(orders):,} orders, {orders['customer_id'].nunique():,} customers; "
        f"Python {platform.python_version()}, pandas {pd.__version__}, {platform.machine()}"
    )
    cases: dict[str, Callable[[], object]] = {
        "crm.customer_summary (pandas)": lambda: crm.customer_summary(orders),
    }
    frames = engine_frames(orders)
    if "polars LazyFrame" in frames:
        lazy = frames["polars LazyFrame"][0]
        cases["crm.customer_summary (polars lazy)"] = lambda: crm.customer_summary(lazy)
        cases["hand-written polars lazy group-by"] = lambda: hand_polars(lazy)
        cases["hand-written polars, with monetary_value"] = lambda: hand_polars(
            lazy, with_value=True
        )
    if "DuckDB table" in frames:
        table = frames["DuckDB table"][0]
        cases["crm.customer_summary (DuckDB)"] = lambda: crm.customer_summary(table)
    cases["hand-written pandas group-by"] = lambda: hand_pandas(orders)
    if not args.skip_lifetimes:
        cases["lifetimes summary_data_from_transaction_data"] = lambda: lifetimes_summary(orders)

    base = None
    timings: dict[str, float] = {}
    print(f"{'case':48s} {'median s':>9s} {'vs ours (pandas)':>17s}")
    for name, fn in cases.items():
        seconds = timed(fn, args.repeat)
        timings[name] = seconds
        base = base or seconds
        print(f"{name:48s} {seconds:9.2f} {seconds / base:16.2f}x")
    if args.json:
        rows = measurements(timings, len(orders), orders["customer_id"].nunique())
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
