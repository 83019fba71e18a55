"""How the probe judges one replayed case: clean, 5xx, traceback, timeout or wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TRACEBACK = "Traceback (most recent call last)"
VERDICTS = ("clean", "wrong", "timeout", "5xx", "traceback")


@dataclass
class Outcome:
    """What one case answered.

    ``matched`` says whether the answer is the expected one (a 4xx, exit code 2, or the
    documented success); ``statuses`` are every HTTP status the case received; ``output`` is
    the CLI's stdout and stderr, or what the server logged while the case ran.
    """

    case: str
    expected: str
    got: str
    matched: bool
    statuses: list[int] = field(default_factory=list)
    output: str = ""
    seconds: float = 0.0
    limit_s: float = 30.0
    timed_out: bool = False


def verdict(outcome: Outcome) -> str:
    """The worst thing the outcome shows, in this order: traceback, 5xx, timeout, wrong, clean."""
    if TRACEBACK in outcome.output:
        return "traceback"
    if any(500 <= status < 600 for status in outcome.statuses):
        return "5xx"
    if outcome.timed_out or outcome.seconds > outcome.limit_s:
        return "timeout"
    return "clean" if outcome.matched else "wrong"


def as_row(outcome: Outcome) -> dict[str, Any]:
    """The outcome as a JSON-ready row with its verdict."""
    return {
        "case": outcome.case,
        "expected": outcome.expected,
        "got": outcome.got,
        "verdict": verdict(outcome),
        "seconds": round(outcome.seconds, 2),
        "limit_s": outcome.limit_s,
        "statuses": sorted(set(outcome.statuses)),
    }


def summarise(outcomes: list[Outcome]) -> dict[str, Any]:
    """Counts by verdict (``probe_cases``, ``probe_clean``, ``probe_5xx``, ...) and the rows."""
    rows = [as_row(o) for o in outcomes]
    counts = {name: sum(r["verdict"] == name for r in rows) for name in VERDICTS}
    return {
        "probe_cases": len(rows),
        "probe_clean": counts["clean"],
        "probe_5xx": counts["5xx"],
        "probe_tracebacks": counts["traceback"],
        "probe_timeouts": counts["timeout"],
        "probe_wrong": counts["wrong"],
        "cases": rows,
    }


def table(rows: list[dict[str, Any]], width: int = 60) -> str:
    """A plain-text table: case, expected, got, verdict (long cells cut to ``width``)."""

    def cut(text: str) -> str:
        text = " ".join(str(text).split())
        return text if len(text) <= width else text[: width - 1] + "…"

    header = ("case", "expected", "got", "verdict")
    lines = [header] + [
        (cut(r["case"]), cut(r["expected"]), cut(r["got"]), r["verdict"]) for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    text = [
        " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
    ]
    text.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(text)
