"""Run the benchmark suite and print one table: our timings next to the peers', same run.

Run: python benchmarks/run.py [--size S|M|L] [--only summary,clv,...] [--json PATH]
                              [--verbose]

Each benchmark script runs in its own subprocess with arguments for the chosen size and
``--json``; its rows are collected into one table (benchmark, case, size, ours s, peer,
peer s, ratio peer/ours), printed after the machine (cores, Python, pandas, numpy) and the
load average before and after the run. A ratio above 1 means the peer took longer.

Sizes:

- S: small data and single runs, a smoke test of the whole suite (1-2 minutes).
- M: the sizes each script uses by default (an hour or more with the slow peers).
- L: M, with 10,000,000 orders for the customer summary, plus ``parquet.py`` at
  100,000,000 orders in Parquet files (about 5 GB of disk under ``/tmp/crm_parquet``):
  customer_summary, cohort_table, repurchase_rate and churn_rate through DuckDB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent

# script -> arguments, per size. The churn part of repurchase.py (ROC AUC on CDNOW) is
# a quality check with no timing against a peer, so it is skipped here.
SUITES: dict[str, dict[str, list[str]]] = {
    "S": {
        "summary": ["--orders", "1000000", "--customers", "100000", "--repeat", "1"],
        "rfm": ["50000", "1"],
        "clv": ["--customers", "200000", "--pareto", "10000"],
        "basket": ["--quick", "--baskets", "20000", "--items", "2000"],
        "repurchase": [
            "--orders", "1000000", "--customers", "100000", "--repeat", "1", "--skip-churn",
        ],
        "kpi": ["1000000", "1"],
    },
    "M": {
        "summary": [],
        "rfm": [],
        "clv": [],
        "basket": [],
        "repurchase": ["--skip-churn"],
        "kpi": [],
    },
    "L": {
        "summary": ["--orders", "10000000", "--customers", "1000000"],
        "rfm": [],
        "clv": [],
        "basket": [],
        "repurchase": ["--skip-churn"],
        "kpi": [],
        "parquet": ["--orders", "100000000", "--calls", "summary,cohorts,rate,churn"],
    },
}  # fmt: skip

COLUMNS = ("benchmark", "case", "size", "ours s", "peer", "peer s", "peer/ours")


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run_script(name: str, args: list[str], out: Path, verbose: bool) -> tuple[list[dict], str]:
    """Run one script; return its rows and a status ('ok, 12 s' or the error's last line)."""
    cmd = [sys.executable, str(HERE / f"{name}.py"), *args, "--json", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=not verbose, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 or not out.exists():
        last = ((proc.stderr or "").strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return [], f"failed after {seconds:.0f} s: {last}"
    return json.loads(out.read_text()), f"ok, {seconds:.0f} s"


def fmt_seconds(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def table(rows: list[dict]) -> str:
    cells = []
    for r in rows:
        ratio = "-"
        if r.get("peer_s") is not None and r["ours_s"] > 0:
            ratio = f"{r['peer_s'] / r['ours_s']:.2f}x"
        cells.append(
            (
                r["benchmark"],
                r["case"],
                r["size"],
                fmt_seconds(r["ours_s"]),
                r.get("peer") or "-",
                fmt_seconds(r.get("peer_s")),
                ratio,
            )
        )
    widths = [max(len(c[i]) for c in [COLUMNS, *cells]) for i in range(len(COLUMNS))]
    right = {3, 5, 6}  # numbers
    lines = []
    for k, row in enumerate([COLUMNS, *cells]):
        lines.append(
            "  ".join(
                cell.rjust(w) if i in right else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SUITES), default="S")
    parser.add_argument("--only", help="comma-separated script names, e.g. summary,clv")
    parser.add_argument("--json", metavar="PATH", help="also write all rows and the machine")
    parser.add_argument("--verbose", action="store_true", help="show each script's own output")
    args = parser.parse_args()

    suite = SUITES[args.size]
    if args.only:
        wanted = [name.strip() for name in args.only.split(",")]
        unknown = sorted(set(wanted) - set(suite))
        if unknown:
            parser.error(f"not in size {args.size}: {', '.join(unknown)}")
        suite = {name: suite[name] for name in wanted}

    machine = {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pandas": package_version("pandas"),
        "numpy": package_version("numpy"),
        "crm_analytics": package_version("crm_analytics"),
        "load_before": load(),
    }
    rows: list[dict] = []
    status: dict[str, str] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name, script_args in suite.items():
            print(f"{name}.py {' '.join(script_args)}".rstrip(), end=" ... ", flush=True)
            found, status[name] = run_script(
                name, script_args, Path(tmp) / f"{name}.json", args.verbose
            )
            print(status[name], flush=True)
            rows.extend(found)
    machine["load_after"] = load()
    total = time.perf_counter() - t0

    print()
    print(
        f"machine: {machine['cores']} cores, {machine['platform']}; Python {machine['python']}, "
        f"pandas {machine['pandas']}, numpy {machine['numpy']}, "
        f"crm_analytics {machine['crm_analytics']}"
    )
    print(
        f"load average (1, 5, 15 min): {machine['load_before']} before, "
        f"{machine['load_after']} after; size {args.size}, {total:.0f} s in all"
    )
    print()
    print(table(rows))
    failed = {name: s for name, s in status.items() if not s.startswith("ok")}
    for name, s in failed.items():
        print(f"\n{name}.py {s}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"size": args.size, "machine": machine, "rows": rows}, fh, indent=1)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
