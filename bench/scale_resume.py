"""Scaling benchmark, resume part: what a crash costs when checkpoints are on.

airline-tweets, the default model, 1 epoch with a checkpoint every 5 optimizer steps. Three
runs, one after the other: an unbroken one; one killed with SIGKILL a few seconds after its
second checkpoint; and the resume of the killed one (``bizlm train --resume``). Reports

* ``resume_overhead_s``: killed + resumed wall time minus the unbroken wall time (everything the
  crash cost: start-up again, restoring states and the steps redone);
* ``resume_lost_s``: wall time between the last checkpoint and the kill (work thrown away);
* ``resume_matches_unbroken``: the resumed bundle's weights equal the unbroken one's.

Writes (updates) bench/results/scale.json. Run: python bench/scale_resume.py
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402
from bench.scale import RECIPE, RESULTS, largest_difference, write_results  # noqa: E402

CHECKPOINT_EVERY = 5
KILL_AFTER_STEP = 2 * CHECKPOINT_EVERY
LINGER_S = 3.0  # how long the killed run keeps training past its last checkpoint


def _command(model: str, examples: int, output: Path, resume: bool) -> list[str]:
    arguments = [
        RECIPE,
        *("--set", f"model={model}"),
        *("--set", f"data.max_train_examples={examples}"),
        *("--set", "data.max_validation_examples=200"),
        *("--set", "train.epochs=1"),
        *("--set", f"train.checkpoint_every={CHECKPOINT_EVERY}"),
        *("--output", str(output)),
    ]
    if resume:
        arguments += ["--resume", str(output)]
    return [sys.executable, "-c", "from bizlm.cli import main; main()", "train", *arguments]


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, cwd=ROOT)
    return time.perf_counter() - started


def _killed(command: list[str], checkpoints: Path) -> tuple[float, float]:
    """Start a run, SIGKILL it ``LINGER_S`` after checkpoint ``KILL_AFTER_STEP`` appears;
    return its wall time and the seconds it trained past that checkpoint."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    target = checkpoints / f"step-{KILL_AFTER_STEP}"
    while not target.is_dir():
        if process.poll() is not None:
            raise RuntimeError("the run ended before its checkpoint; give it more examples")
        time.sleep(0.2)
    saved = time.perf_counter()
    time.sleep(LINGER_S)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return time.perf_counter() - started, time.perf_counter() - saved


def resume_part(model: str, examples: int, folder: Path) -> dict[str, Any]:
    """The unbroken, killed and resumed runs; what the crash cost."""
    unbroken_dir, crashed_dir = folder / "unbroken", folder / "crashed"
    unbroken_s = _timed(_command(model, examples, unbroken_dir, resume=False))
    killed_s, lost_s = _killed(
        _command(model, examples, crashed_dir, resume=False),
        crashed_dir.with_name(crashed_dir.name + ".checkpoints"),
    )
    resumed_s = _timed(_command(model, examples, crashed_dir, resume=True))
    difference = largest_difference(unbroken_dir, crashed_dir)
    return {
        "resume_overhead_s": round(killed_s + resumed_s - unbroken_s, 2),
        "resume_lost_s": round(lost_s, 2),
        "resume_matches_unbroken": difference == 0.0,
        "resume_settings": {
            "model": model,
            "train_examples": examples,
            "checkpoint_every": CHECKPOINT_EVERY,
            "killed_after_checkpoint": KILL_AFTER_STEP,
            "unbroken_s": round(unbroken_s, 2),
            "killed_s": round(killed_s, 2),
            "resumed_s": round(resumed_s, 2),
            "largest_weight_difference": difference,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="default", help="Backbone (alias or folder).")
    parser.add_argument("--examples", type=int, default=640, help="Training examples.")
    parser.add_argument("--output", type=Path, default=RESULTS, help="Results JSON to update.")
    args = parser.parse_args()
    figures = resume_part(args.model, args.examples, ROOT / "runs" / "bench-resume")
    write_results(args.output, {**figures, "resume_machine": describe_machine()})
    print(
        f"crash cost {figures['resume_overhead_s']:.1f} s in all "
        f"({figures['resume_lost_s']:.1f} s of training thrown away); "
        f"same weights as unbroken: {figures['resume_matches_unbroken']}"
    )


if __name__ == "__main__":
    main()
