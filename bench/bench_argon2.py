"""How long one argon2id verify takes with each candidate parameter set (login cost).

Run: .venv/bin/python bench/bench_argon2.py
Prints the median and p95 of single verifies, and verifies per second on one core.
"""

import statistics
import time

from argon2 import PasswordHasher
from argon2.low_level import Type

# (label, time_cost, memory_cost KiB, parallelism); the OWASP profiles are equivalent
# in strength, the last is Django's own default.
CANDIDATES = [
    ("OWASP m=46MiB t=1 p=1", 1, 46 * 1024, 1),
    ("OWASP m=19MiB t=2 p=1 (Atrium)", 2, 19 * 1024, 1),
    ("OWASP m=12MiB t=3 p=1", 3, 12 * 1024, 1),
    ("Django default m=100MiB t=2 p=8", 2, 100 * 1024, 8),
]
ROUNDS = 30


def measure(time_cost: int, memory_cost: int, parallelism: int) -> list[float]:
    hasher = PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
    )
    encoded = hasher.hash("correct horse battery staple")
    timings = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        hasher.verify(encoded, "correct horse battery staple")
        timings.append((time.perf_counter() - start) * 1000)
    return sorted(timings)


def main() -> None:
    print(f"{'parameters':34} {'p50 ms':>8} {'p95 ms':>8} {'verifies/s/core':>16}")
    for label, t, m, p in CANDIDATES:
        timings = measure(t, m, p)
        p50 = statistics.median(timings)
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(f"{label:34} {p50:8.1f} {p95:8.1f} {1000 / p50:16.0f}")


if __name__ == "__main__":
    main()
