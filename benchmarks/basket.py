"""Basket rules from the long order-line table: crm_analytics vs mlxtend vs pyfim.

Every case runs in a fresh subprocess that reads the order lines (order_id, product_id;
strings) from parquet, then times the whole path to the rules table and reports the
peak resident memory above the level reached after reading the data:

- ``crm``: ``frequent_itemsets(orders)`` + ``association_rules`` (sparse, exact).
- ``crm_all``: the same with every consequent size (mlxtend's rule set).
- ``mlxtend``: its documented path: a list of baskets, ``TransactionEncoder`` +
  ``fpgrowth`` + ``association_rules``.
- ``pyfim``: a list of baskets + ``fim.arules`` (Borgelt's C code, one-item
  consequents; optional: ``pip install pyfim``). Its mining time alone is reported too.

The peers get their list of baskets from a numpy sort-and-split (about 10x faster than
``groupby(...).agg(list)``); that time is reported as ``encode_s``.

Data: ``n`` baskets of ``1 + Poisson(3)`` items (mean 4) drawn from ``k`` items with
Zipf popularity (weight 1/rank), seed 0. Sizes: 100,000 × 5,000 at min_support 0.001
(all three) and pairs only (max_len=2); 1,000,000 × 20,000 at 0.0001 (crm and pyfim:
mlxtend's paths need more than the machine's memory).

Run: ``python benchmarks/basket.py [--engines]`` (about 2 minutes on 2 cores; ``--engines``
adds ``frequent_itemsets`` on polars and DuckDB frames over the Parquet file);
``--quick`` runs the 100k cases once each; ``--baskets N --items K`` change the size of
the two smaller cases (100,000 and 5,000 by default); ``--json PATH`` also writes the
timings as rows for ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIN_CONFIDENCE = 0.1


def make_orders(n_baskets: int, n_items: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_items + 1)
    sizes = 1 + rng.poisson(3, n_baskets)
    items = rng.choice(n_items, size=int(sizes.sum()), p=weights / weights.sum())
    baskets = np.repeat(np.arange(n_baskets), sizes)
    return pd.DataFrame(
        {
            "order_id": pd.Series(baskets).map("o{:07d}".format).astype(str),
            "product_id": pd.Series(items).map("sku{:05d}".format).astype(str),
        }
    )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _baskets(orders) -> list[list[str]]:
    """Baskets as lists of item labels (a sort and a split: much faster than a group-by)."""
    import numpy as np

    codes, _ = orders["order_id"].factorize()
    order = np.argsort(codes, kind="stable")
    items = orders["product_id"].to_numpy(dtype=object)[order]
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return [part.tolist() for part in np.split(items, bounds)]


def run_case(tool: str, path: str, min_support: float, max_len: int | None) -> dict:
    import pandas as pd

    engine = tool in ("crm_polars", "crm_duckdb")  # these open the file lazily themselves
    orders = None if engine else pd.read_parquet(path)
    n = 0 if orders is None else orders["order_id"].nunique()
    base = _peak_mb()
    extra: dict = {}
    t0 = time.perf_counter()
    if tool == "crm":
        from crm_analytics.basket import association_rules, frequent_itemsets

        sets = frequent_itemsets(orders, min_support=min_support, max_len=max_len)
        rules = association_rules(sets, min_confidence=MIN_CONFIDENCE)
        n_sets, n_rules = len(sets), len(rules)
    elif tool == "crm_all":
        from crm_analytics.basket import association_rules, frequent_itemsets

        sets = frequent_itemsets(orders, min_support=min_support, max_len=max_len)
        rules = association_rules(sets, min_confidence=MIN_CONFIDENCE, max_consequent_len=None)
        n_sets, n_rules = len(sets), len(rules)
    elif tool in ("crm_polars", "crm_duckdb"):
        # the Parquet file opened lazily: purchase filter, distinct pairs and the support
        # cut run in the engine, then the same mining (peer: "crm", pandas input)
        from crm_analytics.basket import association_rules, frequent_itemsets

        if tool == "crm_polars":
            import polars as pl

            lazy = pl.scan_parquet(path)
        else:
            import duckdb

            lazy = duckdb.sql(f"SELECT * FROM read_parquet('{path}')")
        t0 = time.perf_counter()
        sets = frequent_itemsets(lazy, min_support=min_support, max_len=max_len)
        rules = association_rules(sets, min_confidence=MIN_CONFIDENCE)
        n_sets, n_rules = len(sets), len(rules)
    elif tool == "mlxtend":
        import warnings

        from mlxtend.frequent_patterns import association_rules, fpgrowth
        from mlxtend.preprocessing import TransactionEncoder

        warnings.simplefilter("ignore")
        baskets = _baskets(orders)
        encoder = TransactionEncoder()
        onehot = pd.DataFrame(encoder.fit(baskets).transform(baskets), columns=encoder.columns_)
        extra["encode_s"] = time.perf_counter() - t0
        sets = fpgrowth(onehot, min_support=min_support, use_colnames=True, max_len=max_len)
        rules = association_rules(
            sets, num_itemsets=len(onehot), metric="confidence", min_threshold=MIN_CONFIDENCE
        )
        n_sets, n_rules = len(sets), len(rules)
    elif tool == "pyfim":
        import math

        import fim

        baskets = _baskets(orders)
        t1 = time.perf_counter()
        extra["encode_s"] = t1 - t0
        min_count = math.ceil(min_support * n * (1 - 1e-9))
        limits = {"zmax": max_len} if max_len is not None else {}
        rules = fim.arules(
            baskets,
            supp=-min_count,
            conf=MIN_CONFIDENCE * 100,
            zmin=2,
            report="a",
            mode="o",  # rule support = support of body and head, as arules and mlxtend
            **limits,
        )
        extra["mining_s"] = time.perf_counter() - t1
        n_sets, n_rules = None, len(rules)
    else:
        raise ValueError(tool)
    seconds = time.perf_counter() - t0
    return {
        "tool": tool,
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "extra_mb": _peak_mb() - base,
        "itemsets": n_sets,
        "rules": n_rules,
        **extra,
    }


def spawn(tool: str, path: Path, min_support: float, max_len: int | None) -> dict | None:
    cmd = [sys.executable, __file__, "--child", tool, str(path), str(min_support), str(max_len)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        print(f"    {tool}: failed ({last})", flush=True)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def label(n: int) -> str:
    """100000 -> '100k', 1000000 -> '1M'."""
    for unit, div in (("M", 1_000_000), ("k", 1_000)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return f"{n:,}"


PEER_NAMES = {
    "mlxtend": "mlxtend (TransactionEncoder + fpgrowth)",
    "pyfim": "pyfim arules",
}


def measurements(results: dict, sizes: dict[str, str]) -> list[dict]:
    """The per-case results as rows {benchmark, case, size, ours_s, peer, peer_s}."""
    rows = []
    for name, size in sizes.items():
        for ours_tool, case in (
            ("crm", "rules, one-item consequents"),
            ("crm_all", "rules, every consequent size"),
        ):
            ours = results.get((name, ours_tool))
            if not ours:
                continue
            if name.endswith("pairs"):
                case = "rules from pairs (max_len=2)"
            # crm_all is compared with mlxtend only: pyfim gives one-item consequents
            peers = ["mlxtend"] if ours_tool == "crm_all" else ["mlxtend", "pyfim"]
            found = [(p, results[(name, p)]) for p in peers if (name, p) in results]
            for peer, other in found or [(None, None)]:
                rows.append(
                    {
                        "benchmark": "basket",
                        "case": case,
                        "size": size,
                        "ours_s": ours["seconds"],
                        "peer": PEER_NAMES.get(peer) if peer else None,
                        "peer_s": other["seconds"] if other else None,
                    }
                )
    return rows


def available(module: str) -> bool:
    code = f"import {module}"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k cases only, one run each")
    parser.add_argument("--baskets", type=int, default=100_000, help="baskets of the small cases")
    parser.add_argument("--items", type=int, default=5_000, help="items of the small cases")
    parser.add_argument(
        "--engines", action="store_true", help="also polars and DuckDB over the Parquet file"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the measurements as JSON rows")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tool, path, support, max_len = args.child
        ml = None if max_len == "None" else int(max_len)
        print(json.dumps(run_case(tool, path, float(support), ml)))
        return

    has_pyfim = available("fim")
    tools_small = ["crm", "crm_all"] + (["mlxtend"] if available("mlxtend") else [])
    tools_small += ["pyfim"] if has_pyfim else []
    tools_large = ["crm"] + (["pyfim"] if has_pyfim else [])
    if args.engines:
        tools_small += [
            t for t, m in (("crm_polars", "polars"), ("crm_duckdb", "duckdb")) if available(m)
        ]
    small = f"{label(args.baskets)} x {label(args.items)}"
    cases = [
        (small, args.baskets, args.items, 0.001, None, tools_small),
        (
            f"{small} pairs",
            args.baskets,
            args.items,
            0.001,
            2,
            [t for t in tools_small if t != "crm_all"],
        ),
    ]
    if not args.quick:
        cases.append(("1M x 20k", 1_000_000, 20_000, 0.0001, None, tools_large))
    sizes = {
        name: f"{n:,} baskets, {k:,} items, support {support}"
        for name, n, k, support, _, _ in cases
    }
    repeats = 1 if args.quick else 3
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, n, k, support, max_len, tools in cases:
            path = Path(tmp) / f"orders_{n}_{k}.parquet"
            if not path.exists():
                make_orders(n, k).to_parquet(path)
            print(f"{name}, min_support {support}, max_len {max_len}:", flush=True)
            for tool in tools:
                # mlxtend and the 1M cases once; the fast ones median of `repeats`
                reps = 1 if tool == "mlxtend" or n >= 1_000_000 else repeats
                runs = [r for r in (spawn(tool, path, support, max_len) for _ in range(reps)) if r]
                if not runs:
                    continue
                res = dict(runs[0])
                res["seconds"] = statistics.median(r["seconds"] for r in runs)
                if "mining_s" in res:
                    res["mining_s"] = statistics.median(r["mining_s"] for r in runs)
                results[(name, tool)] = res
                more = "".join(
                    f", {key} {res[key]:.2f} s" for key in ("encode_s", "mining_s") if key in res
                )
                print(
                    f"  {tool:8s} {res['seconds']:8.3f} s  peak {res['peak_mb']:8.0f} MB "
                    f"(+{res['extra_mb']:.0f} MB)  itemsets {res['itemsets']}  "
                    f"rules {res['rules']}{more}",
                    flush=True,
                )
            ours = results.get((name, "crm"))
            for tool in tools:
                other = results.get((name, tool))
                if ours and other and tool in ("crm_polars", "crm_duckdb"):
                    print(f"  {tool} takes {other['seconds'] / ours['seconds']:.2f}x the time "
                          f"of crm on pandas", flush=True)  # fmt: skip
                elif ours and other and tool not in ("crm", "crm_all"):
                    ratio = other["seconds"] / ours["seconds"]
                    line = f"  crm is {ratio:.1f}x faster than {tool} end to end"
                    if "mining_s" in other:
                        line += f" ({other['mining_s'] / ours['seconds']:.2f}x its mining alone)"
                    print(line, flush=True)
            both = results.get((name, "crm_all"))
            mx = results.get((name, "mlxtend"))
            if both and mx:
                print(
                    f"  with every consequent size: crm is "
                    f"{mx['seconds'] / both['seconds']:.1f}x faster than mlxtend",
                    flush=True,
                )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(measurements(results, sizes), fh, indent=1)


if __name__ == "__main__":
    main()
