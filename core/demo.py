"""Pieces every app's demo data shares: the summary of a run and a stable source of variety.

Each app builds its own demo data through its own services (``<app>/demo.py``);
``manage.py seed_demo`` (config/demo.py) runs them in order.
"""

import random
from collections import Counter
from dataclasses import dataclass, field

from django.db import models

_SEED = "atrium-demo"


def demo_rng(key: str) -> random.Random:
    """Variety for one aggregate of demo data, the same on every database."""
    # A string seed is hashed with SHA-512, not Python's per-process hash, so it is stable.
    # Variety for demo data, never a secret.
    return random.Random(f"{_SEED}:{key}")  # noqa: S311


@dataclass
class DemoSummary:
    """What a run created, and the accounts it promises can sign in."""

    dry_run: bool = False
    # verbose_name_plural → rows created, in the order the data set builds them.
    created: Counter[str] = field(default_factory=Counter)
    logins: list[tuple[str, str]] = field(default_factory=list)  # (email, role)

    def add(self, model: type[models.Model], count: int = 1) -> None:
        if count:
            self.created[str(model._meta.verbose_name_plural)] += count
