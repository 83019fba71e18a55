"""``bizlm compare``: the same data, splits and budget for several methods, seeds side by side."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bizlm.atomic import atomic_write_text
from bizlm.compare.leaderboard import (
    mark_pareto,
    scatter_png,
    score_label,
    summarise,
    to_markdown,
)
from bizlm.methods import method_class
from bizlm.progress import Reporter
from bizlm.recipe import load_recipe


def run_one(recipe: str, overrides: list[str]) -> dict[str, Any]:
    """Train and measure one configuration in a fresh process; raise with its last error."""
    arguments = json.dumps({"recipe": recipe, "overrides": overrides})
    done = subprocess.run(
        [sys.executable, "-m", "bizlm.compare.worker", arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    lines = [x for x in done.stderr.strip().splitlines() if x.strip()]
    raise RuntimeError(lines[-1] if lines else f"exit code {done.returncode}")


def compare(
    recipe: str | Path,
    methods: list[str],
    seeds: int = 1,
    output: Path = Path("runs/compare"),
    overrides: list[str] | tuple[str, ...] = (),
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """Train every method with every seed on the same data; write the leaderboard files."""
    reporter = reporter or Reporter()
    for name in methods:
        method_class(name)  # unknown names fail before any training starts
    # A bad recipe fails before any training; method options are checked per method below.
    base = load_recipe(recipe, [o for o in overrides if not o.startswith("method")])
    rows = []
    reporter.start("compare", len(methods) * seeds)
    try:
        for name in methods:
            runs, errors = [], []
            for seed in range(seeds):
                run_overrides = [
                    f"method={name}",
                    *overrides,
                    f"train.seed={base.train.seed + seed}",
                    f"output={output / f'{name}-seed{seed}'}",
                ]
                try:
                    runs.append(run_one(str(recipe), run_overrides))
                except RuntimeError as error:
                    errors.append(str(error))
                reporter.advance(1)
            row = summarise(name, runs, errors)
            rows.append(row)
            label = score_label([row])
            score = f"{label} {100 * row['score']:.2f}" if runs else f"failed: {errors[0]}"
            reporter.note(f"{name}: {score}")
    finally:
        reporter.stop()
    mark_pareto(rows)
    title = f"Methods on {Path(str(recipe)).stem} ({seeds} seed{'s' if seeds > 1 else ''})"
    board = {"recipe": str(recipe), "overrides": list(overrides), "seeds": seeds, "rows": rows}
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output / "leaderboard.json", json.dumps(board, indent=2) + "\n")
    atomic_write_text(output / "leaderboard.md", to_markdown(rows, title))
    scatter_png(rows, str(output / "leaderboard.png"), title)
    return board
