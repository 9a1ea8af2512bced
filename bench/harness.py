"""What every benchmark shares: gunicorn contenders, wrk load and its figures.

The method is docs/performance.md: wrk -t2 -c16 --latency, gunicorn with 3 sync workers,
contenders alternated within rounds. ``bench_lock`` keeps two benchmarks from running at once:
on two cores they would measure each other.
"""

import fcntl
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WRK = ["wrk", "-t2", "-c16", "--latency"]
# The concurrency levels a scaling run loads each contender at (issue: 1, 4 and 16).
CONNECTIONS = (1, 4, 16)
STARTUP_TIMEOUT_SECONDS = 30
LOCK_PATH = Path("/tmp/atrium-bench.lock")


def announce(name: str, rounds: int, duration: int, *, extra: str = "") -> None:
    """The first line of every report: when, on which commit and machine, measured how."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(
        f"{name} {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit or '?'},"
        f" {os.cpu_count()} CPUs, {rounds} rounds of {duration}s per contender,"
        f" wrk {' '.join(WRK[1:])}{extra}"
    )


# Other work takes more than this share of the machine's CPUs while no benchmark runs: the
# machine is busy, figures still compare within a round, but absolute ones are low.
BUSY_SHARE = 0.25
BUSY_SAMPLE_SECONDS = 3.0


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time since boot, all CPUs, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def warn_if_busy() -> bool:
    """Prints how much CPU other work used over a few seconds, and the load average, with a
    warning when the machine is busy; True when it is. Called while none of the benchmark's
    own processes are working: before it starts and once its load has stopped. (The load
    average cannot say this: a benchmark's own load stays in it for minutes.)"""
    busy_before, total_before = _cpu_jiffies()
    time.sleep(BUSY_SAMPLE_SECONDS)
    busy_after, total_after = _cpu_jiffies()
    share = (busy_after - busy_before) / max(total_after - total_before, 1)
    busy = share > BUSY_SHARE
    one, five, _ = os.getloadavg()
    print(
        f"other work used {share:.0%} of {os.cpu_count()} CPUs over {BUSY_SAMPLE_SECONDS:.0f}s"
        f" (load average {one:.2f}, {five:.2f})"
        + ("  WARNING: a busy machine; absolute figures are low, compare ratios" if busy else "")
    )
    return busy


def redis_url(index: int) -> str:
    """The Redis database a benchmark's throttles count in: its own index, unless
    BENCH_REDIS_URL names one (a shared machine gives each engineer theirs)."""
    return os.environ.get("BENCH_REDIS_URL") or f"redis://127.0.0.1:6379/{index}"


# bench/run.py holds the lock for every benchmark it runs and says so to them.
LOCK_HELD = "ATRIUM_BENCH_LOCK_HELD"


@contextmanager
def bench_lock() -> Iterator[None]:
    """Waits until no other Atrium benchmark runs on this machine, then holds the lock."""
    if os.environ.get(LOCK_HELD):
        yield
        return
    with LOCK_PATH.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("Another benchmark is running; waiting for it to finish...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@dataclass(frozen=True)
class Contender:
    """One server and request under load: ``url`` is what wrk requests."""

    name: str
    url: str
    authorization: str


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    # CPU the server's processes (gunicorn's master and workers) spent per request, when the
    # run was given the server: unlike req/s it hardly depends on what else the machine runs,
    # so it tells work that grows with concurrency from waiting that grows with it.
    cpu_ms_per_request: float | None = None


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def _port_is_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def gunicorn(
    app: str, port: int, log_dir: Path, *, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """A gunicorn with 3 sync workers, stopped (master by its pid) however the block ends;
    ``env`` adds to this process's environment (a contender's settings module).
    Workers get 120 s, not gunicorn's 30, for the stock contenders' first requests on a cold
    cache (see ``get``)."""
    if _port_is_taken(port):
        raise SystemExit(f"Port {port} is in use: stop whatever listens there and run again.")
    log_path = log_dir / f"{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), app, "-w", "3", "-t", "120", "-b", f"127.0.0.1:{port}"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.returncode not in (0, -15):
            print(f"gunicorn on {port} ended with {process.returncode}; its log:")
            print(log_path.read_text()[-3000:])


# The stock DRF contenders (bench/stock_*.py) in one settings module.
STOCK_SETTINGS_MODULE = "bench.stock_me_settings"


@contextmanager
def atrium_floor_stock(
    floor_app: str, port: int, log_dir: Path
) -> Iterator[tuple[subprocess.Popen, subprocess.Popen, subprocess.Popen]]:
    """Atrium, its floor and the stock contender, each a ``gunicorn``, on ``port``,
    ``port + 1`` and ``port + 2``."""
    with (
        gunicorn("config.wsgi:application", port, log_dir) as atrium,
        gunicorn(floor_app, port + 1, log_dir) as floor,
        gunicorn(
            "config.wsgi:application",
            port + 2,
            log_dir,
            env={"DJANGO_SETTINGS_MODULE": STOCK_SETTINGS_MODULE},
        ) as stock,
    ):
        yield atrium, floor, stock


def get(url: str, authorization: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": authorization})
    try:
        # Generous: a stock contender's first page on a cold cache reads its COUNT's rows from
        # disk (tens of seconds for the busiest conversation right after a load).
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for_answer(process: subprocess.Popen, contender: Contender) -> bytes:
    """The body of the contender's first answer; aborts unless that answer is a 200."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{contender.name}: gunicorn exited with {process.returncode}.")
        try:
            status, body = get(contender.url, contender.authorization)
            break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"{contender.name}: no answer in {STARTUP_TIMEOUT_SECONDS}s."
                ) from None
            time.sleep(0.2)
    print(f"  {contender.name:16} GET {contender.url} -> {status}")
    if status != 200:
        raise SystemExit(f"{contender.name} answered {status}, not 200: {body[:500]!r}")
    return body


# --- Measurements ---------------------------------------------------------------------------

_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_COUNT = re.compile(r"^\s*(\d+) requests in", re.MULTILINE)
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """User and system CPU of a gunicorn master and its live workers, from /proc."""
    pids = [server.pid]
    for task in Path(f"/proc/{server.pid}/task").iterdir():
        pids += [int(pid) for pid in (task / "children").read_text().split()]
    total = 0
    for pid in pids:
        try:
            # After the command's parenthesised name: utime and stime are fields 14 and 15.
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:  # a worker that ended
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _CLOCK_TICKS


_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors:.*")
_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    contender: Contender,
    seconds: int,
    *,
    script: Path | None = None,
    connections: int = 16,
    server: subprocess.Popen | None = None,
) -> LoadResult:
    """Loads the contender for ``seconds`` with ``connections`` open connections (on at most
    two wrk threads); ``script`` is a wrk Lua script (e.g. to POST). Given its ``server``,
    the result has the server's CPU per request."""
    cpu_before = server_cpu_seconds(server) if server else None
    output = subprocess.run(
        [
            *WRK[:1],
            f"-t{min(2, connections)}",
            f"-c{connections}",
            *WRK[3:],
            f"-d{seconds}s",
            "-H",
            f"Authorization: {contender.authorization}",
            *(["-s", str(script)] if script else []),
            contender.url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # A throttled or broken run would measure error pages; its figures mean nothing.
    if failed := _NON_2XX.search(output):
        raise SystemExit(f"{contender.name}: {failed.group(1)} answers were not 2xx:\n{output}")
    if errors := _SOCKET_ERRORS.search(output):
        print(f"  note: {contender.name}: {errors.group(0)}")
    latencies = {q: float(v) * _TO_MS[unit] for q, v, unit in _LATENCY.findall(output)}
    rate = _RATE.search(output)
    if rate is None or set(latencies) != {"50", "99"}:
        raise SystemExit(f"Could not read wrk's output:\n{output}")
    cpu_ms = None
    if server is not None and cpu_before is not None and (done := _COUNT.search(output)):
        cpu_ms = (server_cpu_seconds(server) - cpu_before) * 1000 / max(1, int(done.group(1)))
    return LoadResult(float(rate.group(1)), latencies["50"], latencies["99"], cpu_ms)


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest rank; with 40 samples the p99 is the slowest one."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


# --- Report ---------------------------------------------------------------------------------


def span(values: list[float], digits: int = 0) -> str:
    """``low-high`` of a figure over rounds, or the one value when they agree."""
    low, high = (f"{value:.{digits}f}" for value in (min(values), max(values)))
    return low if low == high else f"{low}-{high}"


def print_round(number: int, results: dict[str, LoadResult], pairs: list[tuple[str, str]]) -> None:
    """One round's figures per contender, then each (atrium, floor) pair's ratios."""
    width = max(len(name) for name in results)
    print(f"\nRound {number}")
    print(f"  {'contender':{width}} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>10}")
    for name, result in results.items():
        cpu = "" if result.cpu_ms_per_request is None else f"{result.cpu_ms_per_request:10.2f}"
        print(
            f"  {name:{width}} {result.requests_per_second:9.0f}"
            f" {result.p50_ms:8.2f} {result.p99_ms:8.2f} {cpu}"
        )
    for atrium, floor in pairs:
        a, f = results[atrium], results[floor]
        print(
            f"  {atrium} / {floor}: req/s {a.requests_per_second / f.requests_per_second:.2f}x,"
            f" p50 {a.p50_ms / f.p50_ms:.2f}x"
        )


def print_summary(rounds: list[dict[str, LoadResult]], pairs: list[tuple[str, str]]) -> None:
    """The spread of every figure and ratio over the rounds."""
    width = max(len(name) for name in rounds[0])
    print(f"\nSummary over {len(rounds)} rounds (low-high)")
    print(f"  {'contender':{width}} {'req/s':>12} {'p50 ms':>12} {'p99 ms':>12} {'CPU ms/req':>12}")
    for name in rounds[0]:
        cpus = [r[name].cpu_ms_per_request for r in rounds]
        cpu = "" if None in cpus else span([c for c in cpus if c is not None], 2)
        print(
            f"  {name:{width}} {span([r[name].requests_per_second for r in rounds]):>12}"
            f" {span([r[name].p50_ms for r in rounds], 2):>12}"
            f" {span([r[name].p99_ms for r in rounds], 2):>12} {cpu:>12}"
        )
    for atrium, floor in pairs:
        rates = [r[atrium].requests_per_second / r[floor].requests_per_second for r in rounds]
        p50s = [r[atrium].p50_ms / r[floor].p50_ms for r in rounds]
        print(f"  {atrium} / {floor}: req/s {span(rates, 2)}x, p50 {span(p50s, 2)}x")


def print_scaling(rounds: list[dict[str, LoadResult]], contenders: list[str]) -> None:
    """Each contender's req/s, and CPU per request, at every concurrency level against its
    own at one connection (named ``"<contender> c<n>"`` in the rounds): how it scales,
    whatever its speed. More CPU per request at 16 connections than at 1 is work that grows
    with contention; the same CPU and fewer requests is waiting."""
    print(f"\nScaling (at n connections / at 1), over {len(rounds)} rounds")
    for name in contenders:

        def ratio(result: dict[str, LoadResult], n: int, field: str, name: str = name) -> float:
            at_n = getattr(result[f"{name} c{n}"], field) or 0.0
            at_1 = getattr(result[f"{name} c1"], field) or 1.0
            return at_n / at_1

        for field, label in (("requests_per_second", "req/s"), ("cpu_ms_per_request", "CPU/req")):
            ratios = "  ".join(
                f"c{n}: {span([ratio(r, n, field) for r in rounds], 2)}x" for n in CONNECTIONS[1:]
            )
            print(f"  {name} {label}: {ratios}")


# --- The sweep every benchmark runs, and the table bench/run.py writes -----------------------

# Where a benchmark appends its rows for bench/run.py's table (JSON lines), when set.
RESULTS = "ATRIUM_BENCH_RESULTS"


@dataclass(frozen=True)
class Endpoint:
    """One endpoint under load: Atrium, its floor and the stock DRF contender (where there
    are); ``script`` gives a fresh wrk Lua script for a contender's run (writes, or
    requests that vary), or None."""

    name: str
    atrium: Contender
    floor: Contender | None = None
    stock: Contender | None = None
    script: Callable[[Contender], Path] | None = None

    def contenders(self) -> list[tuple[str, Contender]]:
        pairs = [("atrium", self.atrium), ("floor", self.floor), ("stock", self.stock)]
        return [(kind, contender) for kind, contender in pairs if contender is not None]


def sweep(
    endpoints: list[Endpoint],
    servers: dict[str, subprocess.Popen],
    *,
    rounds: int,
    duration: int,
    settle: Callable[[], None] = lambda: None,
) -> dict[tuple[str, str, int], list[LoadResult]]:
    """Every endpoint's contenders at 1, 4 and 16 connections, alternated within each round
    (A B C at 1, A B C at 4, ...); ``servers`` maps a contender's base URL to its gunicorn,
    for the CPU per request. ``settle`` runs after each load (to let queued requests drain).
    Results by (endpoint, contender kind, connections), one per round."""
    results: dict[tuple[str, str, int], list[LoadResult]] = {}
    for number in range(1, rounds + 1):
        print(f"\nRound {number}")
        for connections in CONNECTIONS:
            for endpoint in endpoints:
                for kind, contender in endpoint.contenders():
                    script = endpoint.script(contender) if endpoint.script else None
                    result = wrk(
                        contender,
                        duration,
                        script=script,
                        connections=connections,
                        server=servers.get(base_of(contender.url)),
                    )
                    settle()
                    results.setdefault((endpoint.name, kind, connections), []).append(result)
                    print(
                        f"  {endpoint.name:28} {kind:6} c{connections:<2}"
                        f" {result.requests_per_second:8.0f} req/s"
                        f" p50 {result.p50_ms:8.2f} ms p99 {result.p99_ms:8.2f} ms"
                    )
    return results


def base_of(url: str) -> str:
    """``http://host:port`` of a contender's URL."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def report(bench: str, endpoints: list[Endpoint], results, *, busy: bool) -> None:
    """The sweep's table (medians over the rounds), printed and, under bench/run.py,
    appended to its results file."""
    rows = []
    for endpoint in endpoints:
        for kind, _ in endpoint.contenders():

            def median(
                field: str, n: int, key: tuple[str, str] = (endpoint.name, kind)
            ) -> float | None:
                runs = results.get((*key, n))
                return statistics.median(getattr(r, field) for r in runs) if runs else None

            rows.append(
                {
                    "bench": bench,
                    "endpoint": endpoint.name,
                    "contender": kind,
                    "rps": {str(n): median("requests_per_second", n) for n in CONNECTIONS},
                    "p50_ms": median("p50_ms", CONNECTIONS[-1]),
                    "p99_ms": median("p99_ms", CONNECTIONS[-1]),
                    "busy": busy,
                }
            )
    print()
    print(markdown_table(rows))
    if path := os.environ.get(RESULTS):
        with open(path, "a") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")


def markdown_table(rows: list[dict]) -> str:
    """One line per endpoint and contender: req/s at each concurrency, p50 and p99 at the
    highest, and Atrium's req/s against the floor's and stock's at each concurrency."""
    levels = [str(n) for n in CONNECTIONS]
    lines = [
        "| endpoint | contender | "
        + " | ".join(f"req/s c{n}" for n in levels)
        + f" | p50 c{levels[-1]} | p99 c{levels[-1]} | x floor (c{'/c'.join(levels)})"
        + f" | x stock (c{'/c'.join(levels)}) |",
        "|---|---|" + "---:|" * (len(levels) + 2) + "---|---|",
    ]
    by_key = {(row["endpoint"], row["contender"]): row for row in rows}
    for row in rows:
        ratios = []
        for other in ("floor", "stock"):
            against = by_key.get((row["endpoint"], other))
            if row["contender"] != "atrium" or against is None:
                ratios.append("")
                continue
            ratios.append(
                " / ".join(
                    f"{row['rps'][n] / against['rps'][n]:.2f}"
                    if row["rps"][n] and against["rps"][n]
                    else "-"
                    for n in levels
                )
            )
        mark = " (busy)" if row.get("busy") else ""
        lines.append(
            f"| {row['endpoint']}{mark} | {row['contender']} | "
            + " | ".join(_figure(row["rps"][n], ",.0f") for n in levels)
            + f" | {_figure(row['p50_ms'], '.1f', ' ms')} | {_figure(row['p99_ms'], '.1f', ' ms')}"
            + f" | {ratios[0]} | {ratios[1]} |"
        )
    return "\n".join(lines)


def _figure(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"
