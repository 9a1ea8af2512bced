"""Progress of long management commands, drawn by rich on stderr.

Shown only to a person: when stderr is a terminal and the command was not given
``--no-progress``. Otherwise (cron, CI, a pipe, a log file) nothing is drawn, and the command's
own summary on stdout is all there is. A command mixes in ``ProgressCommandMixin`` and opens
``self.progress()`` around its long work; the loaders and services it calls report through
the two callbacks it hands them:

- ``line(text)``: where the work is, for steps without a count (a dump, an index build);
- ``count(label, done, total)``: a bar per label, for steps that know their size.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO, cast

from django.core.management.base import OutputWrapper
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class CommandProgress:
    """What a command reports while it works; silent when ``enabled`` is false."""

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self.enabled = enabled
        self._bars: dict[str, TaskID] = {}
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=stream, force_terminal=enabled),
            disable=not enabled,
        )

    def line(self, text: str) -> None:
        """Where the work is now, printed above the bars."""
        if self.enabled:
            self._progress.console.print(text.rstrip(), highlight=False, markup=False)

    def count(self, label: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if label not in self._bars:
            self._bars[label] = self._progress.add_task(label, total=total)
        self._progress.update(self._bars[label], completed=done, total=total)

    def __enter__(self) -> CommandProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()


class ProgressCommandMixin:
    """``--no-progress`` on a management command, and ``self.progress()`` for its work."""

    stderr: OutputWrapper

    def add_progress_argument(self, parser) -> None:
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help="Draw no progress on stderr (it is drawn only on a terminal anyway).",
        )

    @contextmanager
    def progress(self, options: dict) -> Iterator[CommandProgress]:
        enabled = self.stderr.isatty() and not options.get("no_progress", False)
        # Django's OutputWrapper ends every write with a newline; rich draws in place.
        stream = cast(TextIO, self.stderr._out)
        with CommandProgress(stream, enabled=enabled) as progress:
            yield progress
