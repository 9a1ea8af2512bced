"""``make rehearsal``: Atrium scaled out on this machine, production settings, every
invariant checked across processes, then everything torn down.

Starts a scratch primary, a hot standby made with pg_basebackup, PgBouncer in transaction
mode in front of the primary and two gunicorn processes on config.settings.production
(DATABASE_URL at PgBouncer, DATABASE_DIRECT_URL at the primary, DATABASE_REPLICA_URL at the
standby), migrates and seeds the demo data, drives both processes at once with each check of
rehearsal/invariants.py, prints one line per invariant and a summary, and exits non-zero if
any failed. Installs PgBouncer first when it is missing (apt-get, as .ci/run does).

    .venv/bin/python -m rehearsal [--ports PRIMARY,PGBOUNCER,FIRST_APP] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

from rehearsal.client import Tokens
from rehearsal.invariants import INVARIANTS, Outcome
from rehearsal.topology import (
    App,
    Plan,
    Ports,
    RehearsalError,
    pgbouncer_path,
    production_env,
    running,
)

# Not the tests' (tests/scaleout/conftest.py): both may run on one machine at once.
DEFAULT_PORTS = "5480,6450,8170"
PROCESSES = 2
WORKERS = 2
# The lag past which list reads leave the replica: the default 5 s, doubled so that a
# replay paused on purpose (the read-your-writes check) stays in use on a busy machine.
MAX_LAG_SECONDS = "10"


def ensure_pgbouncer() -> None:
    if pgbouncer_path() is not None:
        return
    print("PgBouncer is missing: installing the Debian package (apt-get install pgbouncer).")
    as_root = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if shutil.which("apt-get") is None:
        raise RehearsalError("PgBouncer is not installed and there is no apt-get: install it.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "pgbouncer"]):
        done = subprocess.run(  # noqa: S603 - fixed commands
            [*as_root, *command], capture_output=True, text=True, env=env, check=False
        )
        if done.returncode != 0:
            raise RehearsalError(
                f"Could not install PgBouncer ({' '.join(command)}: "
                f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}); install it and retry."
            )


def run_checks(plan: Plan, started: float) -> list[tuple[str, Outcome]]:
    def progress(step: str) -> None:
        print(f"  [{time.monotonic() - started:3.0f} s] {step}", flush=True)

    results = []
    with running(plan, progress=progress) as topology:
        tokens = Tokens(topology.app_ports[0])
        for invariant in INVARIANTS:
            name = invariant.__name__.replace("_", " ")
            try:
                outcome = invariant(topology, tokens)
            except Exception as error:  # a check that broke is a failed check, said in one line
                outcome = Outcome(False, f"{type(error).__name__}: {error}".splitlines()[0])
            results.append((name, outcome))
            print(f"{'PASS' if outcome.passed else 'FAIL'}  {name}: {outcome.figure}", flush=True)
        progress("stopping everything")
    progress("stopped")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports", default=DEFAULT_PORTS, help=f"default {DEFAULT_PORTS}")
    parser.add_argument(
        "--redis-url",
        default="",
        help="the shared cache (throttles, read-your-writes marks); default: the database cache",
    )
    args = parser.parse_args()
    started = time.monotonic()
    try:
        ports = Ports.parse(args.ports)
        ensure_pgbouncer()
        env = {
            "DATABASE_REPLICA_MAX_LAG": MAX_LAG_SECONDS,
            **({"REDIS_URL": args.redis_url} if args.redis_url else {}),
        }
        plan = Plan(
            ports,
            tuple(App(ports.first_app + i, workers=WORKERS) for i in range(PROCESSES)),
            settings="config.settings.production",
            env={**production_env(), **env},
        )
        print(
            f"Rehearsal: {PROCESSES} gunicorn processes x {WORKERS} workers"
            f" (config.settings.production) -> PgBouncer {ports.pgbouncer} -> primary"
            f" {ports.primary}, replica {ports.replica};"
            f" cache: {'Redis' if args.redis_url else 'database'}",
            flush=True,
        )
        results = run_checks(plan, started)
    except RehearsalError as error:
        print(f"rehearsal: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rehearsal: interrupted; everything it started is stopped.", file=sys.stderr)
        return 130
    failed = [name for name, outcome in results if not outcome.passed]
    elapsed = time.monotonic() - started
    print(
        f"{'FAIL' if failed else 'PASS'}  {len(results) - len(failed)}/{len(results)} invariants"
        f" hold{' (failed: ' + ', '.join(failed) + ')' if failed else ''};"
        f" {elapsed:.0f} s, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
