"""Progress reporting for training and prediction: rich bars in the terminal, or silence."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Reporter:
    """Silent reporter; subclasses draw something."""

    def start(self, description: str, total: int) -> None:
        """Begin a phase of ``total`` units."""

    def advance(self, units: int = 1, **fields: float) -> None:
        """Record ``units`` done; ``fields`` (loss, samples_per_s) update the display."""

    def note(self, message: str) -> None:
        """Show a one-line message (an evaluation result, a warning)."""

    def stop(self) -> None:
        """End the current phase."""


class RichReporter(Reporter):
    """Progress bar with loss, samples/s and ETA, drawn on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.started = 0.0

    def start(self, description: str, total: int) -> None:
        """Open a bar for this phase."""
        self.stop()
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[rate]} samples/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task(description, total=total, loss="-", rate="-")
        self.started = time.perf_counter()

    def advance(self, units: int = 1, **fields: float) -> None:
        """Move the bar and refresh loss and throughput."""
        if self.progress is None or self.task is None:
            return
        shown = {k: f"{v:.3f}" if k == "loss" else f"{v:.1f}" for k, v in fields.items()}
        if "samples_per_s" in shown:
            shown["rate"] = shown.pop("samples_per_s")
        self.progress.update(self.task, advance=units, **shown)

    def note(self, message: str) -> None:
        """Print a line above the bar."""
        (self.progress.console if self.progress else self.console).print(message)

    def stop(self) -> None:
        """Close the bar."""
        if self.progress is not None:
            self.progress.stop()
        self.progress = None
        self.task = None
