"""Benchmark: KPI tree and its decomposition on 5,000,000 order lines.

Times ``crm_analytics.kpi.kpi_tree`` (the built-in e-commerce tree: distinct customers,
new/returning, orders, items, revenue, unpaid/refund/repurchase side measures) per month,
then per month and channel, and ``decompose`` on the result, on seeded synthetic orders
(two years, 1,000,000 customers, 8% unpaid, 3% refunded, four channels). Prints medians.

Run: ``python benchmarks/kpi.py [n_rows] [repeats]``
"""

from __future__ import annotations

import os
import platform
import sys
import time

import numpy as np
import pandas as pd

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


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
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


if __name__ == "__main__":
    main()
