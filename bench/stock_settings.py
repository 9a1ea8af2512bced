"""Settings of the stock contender (bench/stock_chat.py): Atrium's bench settings, with the
stock views as the only URLs."""

from config.settings.bench import *  # noqa: F403

ROOT_URLCONF = "bench.stock_chat"
