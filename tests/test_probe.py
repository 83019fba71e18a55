"""The probe's verdicts: how a replayed case's answer is classified (no live services)."""

from __future__ import annotations

import json

import pytest

from bench.probe_verdict import Outcome, summarise, table, verdict

TRACE = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad\n'


def outcome(**changes: object) -> Outcome:
    base = {"case": "c", "expected": "4xx", "got": "404", "matched": True, "statuses": [404]}
    return Outcome(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "clean"),
        ({"statuses": [], "output": "error: no such bundle\n"}, "clean"),
        ({"matched": False, "statuses": [200]}, "wrong"),
        ({"statuses": [401, 503], "matched": False}, "5xx"),
        ({"statuses": [500]}, "5xx"),
        ({"output": "INFO: started\n" + TRACE}, "traceback"),
        ({"output": TRACE, "statuses": [500]}, "traceback"),
        ({"timed_out": True, "matched": False, "statuses": []}, "timeout"),
        ({"seconds": 12.0, "limit_s": 10.0}, "timeout"),
        ({"statuses": [599]}, "5xx"),
        ({"statuses": [499]}, "clean"),
    ],
)
def test_verdict_ranks_traceback_then_5xx_then_timeout_then_match(changes, expected):
    assert verdict(outcome(**changes)) == expected


def test_summary_counts_each_verdict_and_is_json():
    outcomes = [
        outcome(),
        outcome(statuses=[502]),
        outcome(output=TRACE),
        outcome(output=TRACE),
        outcome(matched=False),
    ]
    summary = summarise(outcomes)
    assert json.loads(json.dumps(summary)) == summary
    assert (summary["probe_cases"], summary["probe_clean"], summary["probe_5xx"]) == (5, 1, 1)
    assert (summary["probe_tracebacks"], summary["probe_wrong"]) == (2, 1)
    assert [row["verdict"] for row in summary["cases"]] == [
        "clean",
        "5xx",
        "traceback",
        "traceback",
        "wrong",
    ]


def test_table_has_one_line_per_case_and_cuts_long_cells():
    rows = summarise([outcome(got="x" * 500), outcome(case="two")])["cases"]
    lines = table(rows, width=40).splitlines()
    assert len(lines) == 4
    assert lines[0].split(" | ")[0].strip() == "case"
    assert all(len(line) < 200 for line in lines)
    assert "…" in lines[2]


def test_cli_summary_keeps_the_error_message_not_the_last_line():
    from bench.probe_services import CliResult

    output = "loading\nerror: config.json is missing.\nCopy the bundle again.\n"
    assert CliResult(2, "", output, 1.0, False).summary() == (
        "exit 2: error: config.json is missing. Copy the bundle again."
    )
    assert CliResult(0, "done\n", "", 1.0, False).summary() == "exit 0: done"
    assert CliResult(-1, "", "", 40.0, True).summary() == "still running after 40 s"


def test_status_in_reads_the_error_code_of_json_and_plain_answers():
    import httpx

    from bench.probe_http import status_in

    error = {"error": {"code": "not_found", "message": "No alert."}}
    assert status_in(httpx.Response(404, json=error), {404}) == (
        True,
        "404 not_found: No alert.",
        [404],
    )
    assert status_in(httpx.Response(500, text="Internal Server Error"), range(400, 500)) == (
        False,
        "500 'Internal Server Error'",
        [500],
    )
