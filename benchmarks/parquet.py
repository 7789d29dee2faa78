"""Orders in Parquet files larger than memory -> customer summary (and more) via DuckDB.

Run: python benchmarks/parquet.py [--orders 100000000] [--customers 5000000]
                                        [--dir /tmp/crm_parquet] [--memory-limit 3GB]
                                        [--calls summary,cohorts,rate,churn] [--json PATH]

Writes seeded orders as Parquet files (10 million rows each, skipped when already there),
then, for each of ``--calls`` (default: summary), opens them lazily with DuckDB in a
fresh process and runs the call on the relation: ``summary`` is ``crm.customer_summary``,
``cohorts`` ``crm.repurchase.cohort_table``, ``rate`` ``crm.repurchase.repurchase_rate``
(monthly) and ``churn`` ``crm.churn.churn_rate`` (monthly). Prints the time and the peak
resident memory of that process; the goal is a peak under 4 GiB on a 2-core, 24 GiB
machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CHUNK = 10_000_000


def write_files(folder: Path, n_orders: int, n_customers: int, seed: int = 0) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weight = rng.gamma(0.5, 1.0, n_customers)
    cdf = np.cumsum(weight / weight.sum())
    paths = []
    for start in range(0, n_orders, CHUNK):
        path = folder / f"orders-{start // CHUNK:04d}.parquet"
        paths.append(path)
        if path.exists():
            continue
        n = min(CHUNK, n_orders - start)
        customer = np.minimum(np.searchsorted(cdf, rng.random(n)), n_customers - 1)
        seconds = rng.integers(0, 730 * 86_400, n)
        table = pa.table(
            {
                "order_id": pa.array(np.arange(start, start + n).astype(str)),
                "customer_id": pa.array(np.char.add("c", customer.astype(str))),
                "order_time": pa.array(
                    np.datetime64("2023-01-01T00:00:00") + seconds.astype("timedelta64[s]")
                ),
                "amount": pa.array(np.round(rng.gamma(2.0, 40.0, n), 2)),
                "status": pa.array(np.where(rng.random(n) < 0.93, "paid", "unpaid")),
            }
        )
        pq.write_table(table, path, row_group_size=1_000_000)
    return paths


CALLS = {
    "summary": "customer_summary",
    "cohorts": "cohort_table",
    "rate": "repurchase_rate(period='M')",
    "churn": "churn_rate(period='M')",
}


def child(folder: str, memory_limit: str, call: str = "summary") -> None:
    import duckdb

    import crm_analytics as crm

    con = duckdb.connect(config={"memory_limit": memory_limit, "threads": 2})
    rel = con.sql(f"SELECT * FROM read_parquet('{folder}/*.parquet')")
    run = {
        "summary": lambda: crm.customer_summary(rel),
        "cohorts": lambda: crm.repurchase.cohort_table(rel),
        "rate": lambda: crm.repurchase.repurchase_rate(rel, period="M"),
        "churn": lambda: crm.churn.churn_rate(rel, period="M"),
    }[call]
    t0 = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024, "rows": len(result)}))


def measurements(results: dict[str, dict], n_orders: int, memory_limit: str) -> list[dict]:
    """The children's results as rows {benchmark, case, size, ours_s, peer, peer_s}; no peer."""
    return [
        {
            "benchmark": "parquet",
            "case": (
                f"{CALLS[call]}, DuckDB over Parquet (peak {result['peak_mib']:,.0f} MiB, "
                f"memory_limit {memory_limit})"
            ),
            "size": f"{n_orders:,} orders, {result['rows']:,} result rows",
            "ours_s": result["seconds"],
            "peer": None,
            "peer_s": None,
        }
        for call, result in results.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000_000)
    parser.add_argument("--customers", type=int, default=5_000_000)
    parser.add_argument("--dir", default="/tmp/crm_parquet")
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit")
    parser.add_argument(
        "--calls", default="summary", help=f"comma-separated, of: {', '.join(CALLS)}"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the measurements as JSON rows")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    folder = Path(args.dir) / f"{args.orders}_{args.customers}"
    t0 = time.perf_counter()
    paths = write_files(folder, args.orders, args.customers)
    size = sum(p.stat().st_size for p in paths) / 2**30
    print(
        f"{args.orders:,} orders in {len(paths)} Parquet files ({size:.2f} GiB), ready in "
        f"{time.perf_counter() - t0:.0f} s"
    )
    calls = [c.strip() for c in args.calls.split(",") if c.strip()]
    unknown = [c for c in calls if c not in CALLS]
    if unknown:
        parser.error(f"unknown --calls: {', '.join(unknown)}")
    results: dict[str, dict] = {}
    for call in calls:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(folder), args.memory_limit, call],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode != 0:
            # DuckDB's out-of-memory error, for one, ends the child's stderr
            print(f"{CALLS[call]} failed (DuckDB memory_limit {args.memory_limit}):")
            print("\n".join(out.stderr.strip().splitlines()[-3:]))
            sys.exit(1)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results[call] = result
        print(
            f"crm.{CALLS[call]} on DuckDB over Parquet: {result['seconds']:.1f} s, "
            f"peak resident memory {result['peak_mib']:,.0f} MiB, {result['rows']:,} result "
            f"rows (DuckDB memory_limit {args.memory_limit})",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(measurements(results, args.orders, args.memory_limit), fh, indent=1)


if __name__ == "__main__":
    main()
