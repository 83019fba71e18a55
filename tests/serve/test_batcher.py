"""The micro-batcher groups concurrent jobs, respects the batch size, skips cancelled jobs."""

from __future__ import annotations

import threading
import time

import pytest

from bizlm.serve.batcher import Job, MicroBatcher


class Recorder:
    """A handler that records batch sizes and can hold the worker until released."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, jobs: list[Job]) -> list[list[str]]:
        self.gate.wait(5)
        self.batches.append([t for job in jobs for t in job.texts])
        return [[t.upper() for t in job.texts] for job in jobs]


def test_concurrent_jobs_share_a_batch_and_get_their_own_answers() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    batcher = MicroBatcher("m", recorder, max_batch_size=8, max_wait_s=0.05)
    first = batcher.submit(["a"])  # taken at once; the worker then waits at the gate
    time.sleep(0.1)
    rest = [batcher.submit([c]) for c in "bcd"]
    assert batcher.depth() == 3
    recorder.gate.set()
    assert first.result(5) == ["A"]
    assert [f.result(5) for f in rest] == [["B"], ["C"], ["D"]]
    assert recorder.batches == [["a"], ["b", "c", "d"]]
    batcher.close()
    assert not batcher.alive()


def test_batches_never_exceed_the_maximum_unless_one_job_is_larger() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    batcher = MicroBatcher("m", recorder, max_batch_size=3, max_wait_s=0.05)
    futures = [batcher.submit(["x"]) for _ in range(1)]
    time.sleep(0.1)
    futures += [batcher.submit(["y", "y"]), batcher.submit(["z"]), batcher.submit(list("wwww"))]
    recorder.gate.set()
    for future in futures:
        future.result(5)
    assert [len(b) for b in recorder.batches] == [1, 3, 4]
    batcher.close()


def test_cancelled_jobs_are_skipped_and_errors_reach_every_job() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    batcher = MicroBatcher("m", recorder, max_batch_size=8, max_wait_s=0.0)
    batcher.submit(["first"])
    time.sleep(0.1)
    cancelled = batcher.submit(["gone"])
    assert cancelled.cancel()
    kept = batcher.submit(["kept"])
    recorder.gate.set()
    assert kept.result(5) == ["KEPT"]
    assert ["gone"] not in recorder.batches and all("gone" not in b for b in recorder.batches)

    def broken(jobs: list[Job]) -> list[str]:
        raise RuntimeError("model failed")

    failing = MicroBatcher("f", broken, max_batch_size=8, max_wait_s=0.0)
    with pytest.raises(RuntimeError, match="model failed"):
        failing.submit(["a"]).result(5)
    assert failing.alive()  # the worker survives
    batcher.close()
    failing.close()


def test_observer_sees_each_batch() -> None:
    seen: list[tuple[int, float]] = []
    batcher = MicroBatcher(
        "m", Recorder(), max_batch_size=8, max_wait_s=0.0, observer=lambda n, s: seen.append((n, s))
    )
    batcher.submit(["a", "b"]).result(5)
    batcher.close()
    assert seen[0][0] == 2 and seen[0][1] >= 0
