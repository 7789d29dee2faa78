"""Benchmark: RFM scores and segments for 1,000,000 customers.

Times ``crm.rfm.rfm_table`` (scores, codes, weighted score and standard segments in one
call) and ``assign_segments(scheme="cn8")`` on a seeded synthetic customer summary, and
side by side, on the same data in the same process, the RFM recipe found in most
tutorials: ``pd.qcut(series.rank(method="first"), 5)`` per dimension, string codes, and a
regex segment map. Prints medians of several runs and the ratios, plus how many
customers the tutorial recipe scores differently from an equal customer.

Run: ``python benchmarks/rfm.py [n_customers] [repeats] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import pandas as pd

from crm_analytics.rfm import assign_segments, rfm_table


def synthetic_summary(n: int, seed: int = 0) -> pd.DataFrame:
    """A shop-like summary: ~65% one-order customers, skewed spend, two years of recency."""
    rng = np.random.default_rng(seed)
    n_orders = rng.geometric(0.65, n).astype("int64")
    aov = rng.lognormal(4.0, 0.8, n)
    return pd.DataFrame(
        {
            "days_since_last": rng.integers(0, 730, n).astype("int64"),
            "n_orders": n_orders,
            "monetary_total": (aov * n_orders).round(2),
        },
        index=pd.Index(
            np.char.add("c", np.arange(n).astype(str)).astype(object), name="customer_id"
        ),
    )


SEG_MAP = {  # the regex map of the common tutorial (first digit R, second F)
    r"[1-2][1-2]": "hibernating",
    r"[1-2][3-4]": "at_Risk",
    r"[1-2]5": "cant_loose",
    r"3[1-2]": "about_to_sleep",
    r"33": "need_attention",
    r"[3-4][4-5]": "loyal_customers",
    r"41": "promising",
    r"51": "new_customers",
    r"[4-5][2-3]": "potential_loyalists",
    r"5[4-5]": "champions",
}


def tutorial_rfm(summary: pd.DataFrame, *, segments: bool = True) -> pd.DataFrame:
    """The peer recipe: rank(method='first') + qcut, string codes, regex segment map."""
    rfm = summary.copy()
    rfm["R"] = pd.qcut(rfm["days_since_last"].rank(method="first"), 5, labels=[5, 4, 3, 2, 1])
    rfm["F"] = pd.qcut(rfm["n_orders"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    rfm["M"] = pd.qcut(rfm["monetary_total"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    rfm["RFM_SCORE"] = rfm["R"].astype(str) + rfm["F"].astype(str) + rfm["M"].astype(str)
    if segments:
        rfm["segment"] = (rfm["R"].astype(str) + rfm["F"].astype(str)).replace(SEG_MAP, regex=True)
    return rfm


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def unequal_scores_for_equal_inputs(values: pd.Series, scores: pd.Series) -> int:
    """Customers whose score differs from the most common score of their input value."""
    frame = pd.DataFrame({"v": values.to_numpy(), "s": np.asarray(scores, dtype="int64")})
    mode = frame.groupby("v")["s"].agg(lambda s: s.value_counts().idxmax())
    return int((frame["s"].to_numpy() != mode.reindex(frame["v"]).to_numpy()).sum())


def measurements(
    n: int, ours: float, ours_cn8: float, peer: float, peer_scores: float
) -> list[dict]:
    """The timings as rows {benchmark, case, size, ours_s, peer, peer_s}."""
    size = f"{n:,} customers"
    return [
        {
            "benchmark": "rfm",
            "case": "rfm_table (scores, codes, segments)",
            "size": size,
            "ours_s": ours,
            "peer": "tutorial qcut + codes + regex segments",
            "peer_s": peer,
        },
        {
            "benchmark": "rfm",
            "case": "rfm_table (scores, codes, segments)",
            "size": size,
            "ours_s": ours,
            "peer": "tutorial qcut + codes (no segments)",
            "peer_s": peer_scores,
        },
        {
            "benchmark": "rfm",
            "case": "assign_segments(scheme=cn8)",
            "size": size,
            "ours_s": ours_cn8,
            "peer": None,
            "peer_s": None,
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1_000_000, help="customers")
    parser.add_argument("repeats", nargs="?", type=int, default=5)
    parser.add_argument("--json", metavar="PATH", help="also write the measurements as JSON rows")
    args = parser.parse_args()
    n, repeats = args.n, args.repeats
    print(f"python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}")
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, {platform.processor() or 'cpu n/a'}")
    summary = synthetic_summary(n)
    share_one = float((summary["n_orders"] == 1).mean())
    print(f"{n:,} customers, {share_one:.1%} with one order; median of {repeats} runs\n")

    rfm_table(summary.iloc[:1000])  # warm imports
    tutorial_rfm(summary.iloc[:1000])
    ours = median_time(lambda: rfm_table(summary), repeats)
    ours_cn8 = median_time(lambda: assign_segments(summary, scheme="cn8"), repeats)
    peer = median_time(lambda: tutorial_rfm(summary), repeats)
    peer_scores = median_time(lambda: tutorial_rfm(summary, segments=False), repeats)

    print(f"{'step':58s} {'seconds':>8s}")
    print(f"{'crm_analytics rfm_table (scores + codes + standard segments)':58s} {ours:8.3f}")
    print(f"{'crm_analytics assign_segments(scheme=cn8)':58s} {ours_cn8:8.3f}")
    print(f"{'tutorial qcut(rank(method=first)) + codes, no segments':58s} {peer_scores:8.3f}")
    print(f"{'tutorial qcut(rank(method=first)) + codes + regex segment map':58s} {peer:8.3f}")
    print(
        f"\nratio tutorial / rfm_table: {peer / ours:.1f}x with segments, "
        f"{peer_scores / ours:.1f}x for scores and codes alone"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(measurements(n, ours, ours_cn8, peer, peer_scores), fh, indent=1)

    table = rfm_table(summary)
    peer_table = tutorial_rfm(summary)
    print("\nequal inputs, different scores (customers):")
    for dim, col in (("R", "days_since_last"), ("F", "n_orders"), ("M", "monetary_total")):
        mine = unequal_scores_for_equal_inputs(summary[col], table[f"{dim.lower()}_score"])
        theirs = unequal_scores_for_equal_inputs(summary[col], peer_table[dim])
        print(f"  {dim}: crm_analytics {mine:,}, tutorial {theirs:,}")
    print("\nf_score counts: crm_analytics", np.bincount(table["f_score"])[1:].tolist())
    print("F counts:       tutorial     ", np.bincount(peer_table["F"].astype(int))[1:].tolist())


if __name__ == "__main__":
    main()
