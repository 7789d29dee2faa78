"""Orders in Parquet files larger than memory -> customer summary through DuckDB.

Run: python benchmarks/parquet.py [--orders 100000000] [--customers 5000000]
                                        [--dir /tmp/crm_parquet] [--memory-limit 3GB]
                                        [--json PATH]

Writes seeded orders as Parquet files (10 million rows each, skipped when already there),
then in a fresh process opens them lazily with DuckDB and runs ``crm.customer_summary``
on the relation. Prints the time and the peak resident memory of that process; the goal
is a peak under 4 GiB on a 2-core, 24 GiB machine.
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


def child(folder: str, memory_limit: str) -> None:
    import duckdb

    import crm_analytics as crm

    con = duckdb.connect(config={"memory_limit": memory_limit, "threads": 2})
    rel = con.sql(f"SELECT * FROM read_parquet('{folder}/*.parquet')")
    t0 = time.perf_counter()
    summary = crm.customer_summary(rel)
    seconds = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024, "customers": len(summary)}))


def measurements(result: dict, n_orders: int, memory_limit: str) -> list[dict]:
    """The child's result as rows {benchmark, case, size, ours_s, peer, peer_s}; no peer."""
    return [
        {
            "benchmark": "parquet",
            "case": (
                f"customer_summary, DuckDB over Parquet (peak {result['peak_mib']:,.0f} MiB, "
                f"memory_limit {memory_limit})"
            ),
            "size": f"{n_orders:,} orders, {result['customers']:,} customers",
            "ours_s": result["seconds"],
            "peer": None,
            "peer_s": None,
        }
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000_000)
    parser.add_argument("--customers", type=int, default=5_000_000)
    parser.add_argument("--dir", default="/tmp/crm_parquet")
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit")
    parser.add_argument("--json", metavar="PATH", help="also write the measurements as JSON rows")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
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
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(folder), args.memory_limit],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        # DuckDB's out-of-memory error, for one, ends the child's stderr
        print(f"the summary failed (DuckDB memory_limit {args.memory_limit}):")
        print("\n".join(out.stderr.strip().splitlines()[-3:]))
        sys.exit(1)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"crm.customer_summary on DuckDB over Parquet: {result['seconds']:.1f} s, "
        f"peak resident memory {result['peak_mib']:,.0f} MiB, {result['customers']:,} customers "
        f"(DuckDB memory_limit {args.memory_limit})"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(measurements(result, args.orders, args.memory_limit), fh, indent=1)


if __name__ == "__main__":
    main()
