"""Training in several processes on one machine: ``bizlm train RECIPE --processes N``.

The parent checks the process count and runs torch's elastic launcher (what ``torchrun`` runs)
inside its own process; every worker runs this module. The main worker writes ``result.json``
into the ``--outcome`` folder; a worker stopped by a user error writes ``error-<rank>.json``
there, and the parent raises that same error. The module is also a target for launching by
hand, where the worker prints the error or the bundle itself::

    torchrun --nproc-per-node 2 -m bizlm.training.launch recipes/airline-full.yaml
    accelerate launch --config_file recipes/accelerate/ddp.yaml -m bizlm.training.launch RECIPE
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from accelerate.utils import patch_environment
from rich.console import Console

from bizlm import errors
from bizlm.atomic import atomic_write_text
from bizlm.errors import BizlmError
from bizlm.progress import Reporter, RichReporter
from bizlm.recipe import Recipe
from bizlm.training.distributed import check_setup, defer_interrupts, is_main_process
from bizlm.training.run import TrainResult, train

SOURCE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the bizlm package
WORKER = "bizlm.training.launch"  # this module, as the workers run it


class TrainingFailed(BizlmError):
    """A training process ended without a result: it crashed or was killed."""

    exit_code = 1


def check_process_count(processes: int) -> None:
    """Refuse more processes than this machine can run: one per GPU, or per CPU core."""
    if torch.cuda.is_available():
        available, what = torch.cuda.device_count(), "GPU(s)"
    else:
        available, what = os.cpu_count() or 1, "CPU core(s) and no GPU"
    if processes > available:
        raise BizlmError(
            f"--processes {processes} is more than this machine can run: it has {available} "
            f"{what}.",
            hint=f"Use --processes {available} or fewer.",
        )


def launch_training(
    recipe: Recipe, processes: int, resume: bool | str | Path = False, quiet: bool = False
) -> TrainResult:
    """Train ``recipe`` in ``processes`` processes on this machine; return the main one's result.

    ``train.batch_size`` is per process. ``resume`` is as in :func:`bizlm.training.run.train`;
    ``quiet`` hides the progress bars. Errors are raised here as in a one-process run.
    """
    check_process_count(processes)
    check_setup(recipe.train)
    with tempfile.TemporaryDirectory(prefix="bizlm-launch-") as scratch:
        folder = Path(scratch)
        resolved = recipe.resolved()
        resolved["output"] = str(recipe.output or Path("runs/model"))  # train()'s default
        (folder / "recipe.json").write_text(json.dumps(resolved), encoding="utf-8")
        worker_args = [str(folder / "recipe.json"), "--outcome", scratch]
        if resume:
            worker_args += ["--resume"] if resume is True else ["--resume", str(resume)]
        if quiet:
            worker_args.append("--quiet")
        failures = _run_workers(processes, worker_args, folder)
        return _outcome(folder, failures)


class _ForwardInterrupts:
    """Ctrl-C while the workers run: they are in sessions of their own, so the first press is
    passed on to them (they stop together after a batch and the main one writes the bundle);
    a second press stops them at once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pressed = False

    def __call__(self, signum: int, frame: object) -> None:
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True
        for pid_file in self.folder.glob("pid-*"):
            with contextlib.suppress(OSError, ValueError):  # gone already, or half written
                os.kill(int(pid_file.read_text()), signal.SIGINT)
        print(
            "stopping after the current batch; the best weights so far go to the bundle "
            "(Ctrl-C again to abort)",
            file=sys.stderr,
        )


def _run_workers(processes: int, worker_args: list[str], folder: Path) -> dict[int, Any]:
    """Run the workers under torch's elastic agent; return the failed ones by rank."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    signals = "SIGTERM,SIGHUP,SIGQUIT"  # not SIGINT: see _ForwardInterrupts
    argv = [
        "--standalone",
        f"--nproc-per-node={processes}",
        f"--signals-to-handle={signals}",
        "--module",
        WORKER,
        *worker_args,
    ]
    threads = os.environ.get("OMP_NUM_THREADS") or max(1, (os.cpu_count() or 1) // processes)
    path = os.pathsep.join(filter(None, [str(SOURCE_ROOT), os.environ.get("PYTHONPATH")]))
    env = {
        "OMP_NUM_THREADS": threads,
        "PYTHONPATH": path,
        "TORCHELASTIC_SIGNALS_TO_HANDLE": signals,  # the launcher sets it; restored after
    }
    if not torch.cuda.is_available():
        env["ACCELERATE_USE_CPU"] = "true"
    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
    saved = {number: signal.getsignal(number) for number in handled}
    signal.signal(signal.SIGINT, _ForwardInterrupts(folder))
    logging.disable(logging.ERROR)  # the launcher's failure log; the error raised says more
    try:
        with patch_environment(**env):
            run(parse_args(argv))
    except ChildFailedError as exc:
        return dict(exc.failures)
    except SignalException as exc:
        raise TrainingFailed(f"Training was stopped by {exc.sigval.name}.") from None
    finally:
        logging.disable(logging.NOTSET)
        for number, handler in saved.items():
            signal.signal(number, handler)
    return {}


def _outcome(folder: Path, failures: dict[int, Any]) -> TrainResult:
    """The main worker's result (the bundle is complete once it is there), or the error that
    stopped the workers."""
    reports = sorted(folder.glob("error-*.json"), key=lambda p: int(p.stem.removeprefix("error-")))
    if reports:
        raise _as_error(json.loads(reports[0].read_text(encoding="utf-8")))
    result = folder / "result.json"
    if not result.is_file():  # a crash, or a kill
        rank, code = min((r, f.exitcode) for r, f in failures.items()) if failures else (0, 0)
        raise TrainingFailed(
            f"Training process {rank} ended (exit code {code}) before the bundle was written; "
            "its messages are above.",
            hint="Fix the cause shown above and train again (with train.checkpoint_every set, "
            "--resume RUN_DIR continues from the last checkpoint).",
        )
    record = json.loads(result.read_text(encoding="utf-8"))
    return TrainResult(
        bundle=Path(record["bundle"]), metrics=record["metrics"], info=record["info"]
    )


def _as_error(report: dict[str, Any]) -> BizlmError:
    """The error a worker reported, as the same class with the same message and hint."""
    kind = getattr(errors, report["type"], BizlmError)
    if not (isinstance(kind, type) and issubclass(kind, BizlmError)):
        kind = BizlmError
    return kind(report["message"], hint=report["hint"])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bizlm.training.launch",
        description="One training process of a launched run (torchrun, accelerate launch).",
    )
    parser.add_argument("recipe", help="Recipe YAML (or JSON) file.")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="a.b=value")
    parser.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=False,
        metavar="RUN_DIR",
        help="Continue from the latest checkpoint (of RUN_DIR, else of the recipe's output).",
    )
    parser.add_argument("--quiet", action="store_true", help="No progress bars.")
    parser.add_argument("--outcome", type=Path, help="Folder for result.json / error-<rank>.json.")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one training process; return its exit code (user errors: 2)."""
    args = _parser().parse_args(argv)
    defer_interrupts()
    rank = os.environ.get("RANK", "0")
    if args.outcome is not None:  # where the launcher finds this process to pass Ctrl-C on
        atomic_write_text(args.outcome / f"pid-{rank}", str(os.getpid()))
    console = Console(stderr=True)
    reporter = Reporter() if args.quiet else RichReporter(console)
    try:
        result = train(args.recipe, args.overrides, reporter, resume=args.resume)
    except BizlmError as exc:
        if args.outcome is not None:
            report = {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint}
            atomic_write_text(args.outcome / f"error-{rank}.json", json.dumps(report))
        elif is_main_process():
            console.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
        return exc.exit_code
    if not is_main_process():
        return 0
    if args.outcome is not None:
        record = {"bundle": str(result.bundle), "metrics": result.metrics, "info": result.info}
        atomic_write_text(args.outcome / "result.json", json.dumps(record, default=str))
    else:
        print(f"bundle: {result.bundle}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
