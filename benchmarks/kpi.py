"""Benchmark: KPI tree and its decomposition on 5,000,000 order lines.

Times ``crm_analytics.kpi.kpi_tree`` (the built-in e-commerce tree: distinct customers,
new/returning, orders, items, revenue, unpaid/refund/repurchase side measures) per month,
then per month and channel, and ``decompose`` on the result, on seeded synthetic orders
(two years, 1,000,000 customers, 8% unpaid, 3% refunded, four channels). Prints medians.

Run: ``python benchmarks/kpi.py [n_rows] [repeats] [--engines] [--json PATH]``

``--engines`` also times the tree on a polars LazyFrame and a DuckDB table, where it is
aggregated inside the engine, against collecting the rows to pandas first.

There is no peer here (no library computes this tree), so the combined table of
``benchmarks/run.py`` shows these rows without a ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import pandas as pd
from _engines import engine_frames

from crm_analytics.kpi import decompose, kpi_tree


def synthetic_orders(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_customers = max(n // 5, 1)
    seconds = rng.integers(0, 730 * 86_400, n)
    amount = rng.lognormal(4.0, 0.8, n).round(2)
    status = rng.choice(["paid", "unpaid", "cancelled", "refunded"], n, p=[0.87, 0.08, 0.02, 0.03])
    return pd.DataFrame(
        {
            "order_id": np.char.add("o", (np.arange(n) // 2).astype(str)).astype(object),
            "customer_id": np.char.add("c", rng.integers(0, n_customers, n).astype(str)).astype(
                object
            ),
            "order_time": pd.Timestamp("2023-01-01") + pd.to_timedelta(seconds, unit="s"),
            "amount": amount,
            "status": pd.Categorical(status),
            "refund_amount": np.where(status == "refunded", amount, 0.0),
            "quantity": rng.integers(1, 4, n),
            "channel": pd.Categorical(rng.choice(["淘宝", "天猫", "抖音", "小程序"], n)),
        }
    )


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def engine_cases(orders: pd.DataFrame, repeats: int) -> list[tuple[str, float, str, float]]:
    """(case, seconds in the engine, peer, seconds collecting to pandas first) per engine."""
    engines = engine_frames(orders)
    rows = []
    for name, (native, collect) in engines.items():
        for label, kwargs in (("period='M'", {}), ("period='M', by='channel'", {"by": "channel"})):
            ours = median_time(lambda: kpi_tree(native, **kwargs), repeats)  # noqa: B023
            peer = median_time(lambda: kpi_tree(collect(), **kwargs), repeats)  # noqa: B023
            case = f"kpi_tree({label}), {name}"
            print(f"{case}: {ours:6.2f} s in the engine, {peer:6.2f} s collected first")
            rows.append((case, ours, "rows collected to pandas first", peer))
    return rows


def measurements(
    n: int, t_month: float, t_by: float, t_dec: float, engines: list | None = None
) -> list[dict]:
    """The timings as rows {benchmark, case, size, ours_s, peer, peer_s}."""
    cases = [
        ("kpi_tree(period='M')", t_month, None, None),
        ("kpi_tree(period='M', by='channel')", t_by, None, None),
        ("decompose(by='channel')", t_dec, None, None),
        *(engines or []),
    ]
    return [
        {
            "benchmark": "kpi",
            "case": case,
            "size": f"{n:,} order lines",
            "ours_s": seconds,
            "peer": peer,
            "peer_s": peer_s,
        }
        for case, seconds, peer, peer_s in cases
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=5_000_000, help="order lines")
    parser.add_argument("repeats", nargs="?", type=int, default=3)
    parser.add_argument("--engines", action="store_true", help="also polars and DuckDB input")
    parser.add_argument("--json", metavar="PATH", help="also write the measurements as JSON rows")
    args = parser.parse_args()
    n, repeats = args.n, args.repeats
    orders = synthetic_orders(n)
    print(f"{platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}, "
          f"{os.cpu_count()} cores; {n:,} rows, {orders['customer_id'].nunique():,} customers")  # fmt: skip
    t_month = median_time(lambda: kpi_tree(orders), repeats)
    print(f"kpi_tree(period='M'):               {t_month:6.2f} s")
    t_by = median_time(lambda: kpi_tree(orders, by="channel"), repeats)
    print(f"kpi_tree(period='M', by='channel'): {t_by:6.2f} s")
    result = kpi_tree(orders, by="channel")
    t_dec = median_time(
        lambda: decompose(result, base="2024-10", current="2024-11", by="channel"), repeats
    )
    print(f"decompose(by='channel'):            {t_dec * 1000:6.1f} ms")
    engines = engine_cases(orders, repeats) if args.engines else None
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(measurements(n, t_month, t_by, t_dec, engines), fh, indent=1)


if __name__ == "__main__":
    main()
