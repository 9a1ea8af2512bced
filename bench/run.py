"""Every benchmark in turn, under one bench lock, and one markdown table of their figures.

Run: .venv/bin/python bench/run.py all [--rounds 2] [--duration 8] [--out bench/results.md]
     .venv/bin/python bench/run.py documents billing [--database-prefix atrium_bench_] ...
     (or `make bench`)

Each benchmark (bench/bench_<name>.py) sweeps its endpoints at 1, 4 and 16 connections for
Atrium, its floor and the stock DRF contender (bench/harness.py ``sweep``) and appends its rows
to a results file; this script then writes the table: per endpoint and contender, req/s at
each concurrency, p50 and p99 at 16, and Atrium's req/s against the floor's and stock's at
each concurrency. Before anything runs and after each benchmark, the CPU other work uses is
sampled for a few seconds (bench/harness.py ``warn_if_busy``); rows measured on a busy machine
are marked "(busy)" and the table says so.

Needs what each benchmark needs (PostgreSQL, Redis, wrk; each loads its own database on first
use); see docs/performance.md.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (
    LOCK_HELD,
    RESULTS,
    ROOT,
    bench_lock,
    markdown_table,
    warn_if_busy,
)

# In the order they run; each takes --rounds and --duration.
BENCHES = ("auth", "documents", "billing", "chat")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("benches", nargs="+", choices=[*BENCHES, "all"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per contender")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="BENCH:ARGS",
        help='more arguments for one benchmark, e.g. "documents:--database x --port 8690"',
    )
    args = parser.parse_args()
    chosen = BENCHES if "all" in args.benches else tuple(b for b in BENCHES if b in args.benches)
    extra = {name: rest.split() for name, _, rest in (e.partition(":") for e in args.extra)}

    started = datetime.now(UTC)
    busy = warn_if_busy()
    with bench_lock(), tempfile.NamedTemporaryFile("r", suffix=".jsonl") as results:
        env = {**os.environ, LOCK_HELD: "1", RESULTS: results.name}
        for name in chosen:
            command = [
                sys.executable,
                str(ROOT / "bench" / f"bench_{name}.py"),
                f"--rounds={args.rounds}",
                f"--duration={args.duration}",
                *extra.get(name, []),
            ]
            print(f"\n=== {' '.join(command[1:])}", flush=True)
            subprocess.run(command, cwd=ROOT, env=env, check=True)
            busy = warn_if_busy() or busy
        rows = [json.loads(line) for line in results.read().splitlines() if line.strip()]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    one, five, _ = os.getloadavg()
    header = (
        f"Benchmarks {', '.join(chosen)}: {started:%Y-%m-%d %H:%M} UTC, commit {commit},"
        f" {os.cpu_count()} CPUs, {args.rounds} rounds of {args.duration}s per contender and"
        f" concurrency (medians), load average at the end {one:.1f} / {five:.1f}."
    )
    if busy:
        header += (
            "\n\n**The machine was busy** (other work used over a quarter of the CPUs while"
            " nothing of the benchmark's ran) around the"
            " rows marked (busy): absolute figures are low; compare the ratios."
        )
    table = f"{header}\n\n{markdown_table(rows)}\n"
    args.out.write_text(table)
    print(f"\n{table}\nWritten to {args.out}")


if __name__ == "__main__":
    main()
