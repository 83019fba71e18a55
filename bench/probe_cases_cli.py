"""Probe cases run through the ``bizlm`` command line: keys, broken bundles, awkward input."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from bench.probe_services import CliResult, free_port, run_cli
from bench.probe_setup import broken_copy, tiny_recipe, write_recipe
from bench.probe_verdict import Outcome
from tests.conftest import make_rows, write_csv

Check = Callable[[CliResult], tuple[bool, str]]


def cli_case(
    case: str,
    expected: str,
    args: list[str | bytes],
    accept: set[int],
    limit: float = 60,
    check: Check | None = None,
    cwd: Path | None = None,
) -> Outcome:
    """Run ``bizlm ARGS``; the case matches when the exit code is in ``accept`` (and ``check``)."""
    result = run_cli(args, timeout=limit, cwd=cwd)
    matched = result.code in accept and not result.timed_out
    got = result.summary()
    if check is not None and not result.timed_out:
        passed, note = check(result)
        matched = matched and passed
        got += f" [{note}]"
    return Outcome(
        case, expected, got, matched, [], result.output, result.seconds, limit, result.timed_out
    )


def key_limit_cases(scratch_registry: str) -> list[Outcome]:
    """Rate limits that are not a positive finite number are refused."""
    return [
        cli_case(
            f"4 keys: keys create --rate-limit {value}",
            "exit 2",
            [
                "keys",
                "create",
                "--name",
                f"probe-{index}",
                "--rate-limit",
                value,
                "--registry",
                scratch_registry,
            ],
            {2},
            30,
        )
        for index, value in enumerate(["inf", "nan", "-1"])
    ]


def broken_bundle_cases(bundle: Path, work: Path, registry: str, data: Path) -> list[Outcome]:
    """Register, predict, evaluate and serve bundles with missing config or cut weights."""
    truncated = broken_copy(bundle, work / "broken-truncated", "truncated")
    no_config = broken_copy(bundle, work / "broken-no-config", "no-config")
    outcomes = [
        cli_case(
            "5 bundles: registry add with truncated safetensors",
            "refused (exit 2 or 3)",
            ["registry", "add", "probe-broken", str(truncated), "--registry", registry],
            {2, 3},
            60,
        )
    ]
    for label, broken in (("truncated weights", truncated), ("no model/config.json", no_config)):
        outcomes.append(
            cli_case(
                f"5 bundles: predict, {label}",
                "exit 2",
                ["predict", str(broken), "good flight"],
                {2},
                60,
            )
        )
        outcomes.append(
            cli_case(
                f"5 bundles: evaluate, {label}",
                "exit 2",
                ["evaluate", str(broken), "--data", str(data)],
                {2},
                60,
            )
        )
        outcomes.append(
            cli_case(
                f"5 bundles: serve, {label}",
                "exit 2",
                [
                    "serve",
                    str(broken),
                    "--no-auth",
                    "--port",
                    str(free_port()),
                    "--registry",
                    registry,
                ],
                {2},
                40,
            )
        )
    return outcomes


def _no_control_echo(result: CliResult) -> tuple[bool, str]:
    raw = any(char in result.output for char in "\x1b\x07")
    return not raw, "control characters echoed raw" if raw else "no raw control characters"


def _names_gb18030(result: CliResult) -> tuple[bool, str]:
    text = result.output.lower()
    named = "gb18030" in text and "latin-1" not in text and "latin1" not in text
    return named, "hint names gb18030" if named else "hint does not name gb18030 (or names latin-1)"


def _rows_kept(folder: Path, before: set[Path], texts: list[str]) -> Check:
    def check(result: CliResult) -> tuple[bool, str]:
        written = sorted(p.name for p in set(folder.iterdir()) - before)
        printed = all(text in result.stdout for text in texts)
        note = f"new files {written}" if written else "no new file"
        return bool(written) or printed, f"{note}; rows {'printed' if printed else 'not printed'}"

    return check


def input_cases(bundle: Path, model: Path, work: Path) -> list[Outcome]:
    """Recipe encodings, argv bytes, --set control characters, ports, CSV encodings, big text."""
    recipe = tiny_recipe(model, work, work / "from-utf16")
    utf16 = write_recipe(work / "recipe-utf16.yaml", recipe, "utf-16")
    plain = write_recipe(work / "recipe.yaml", tiny_recipe(model, work, work / "from-set"))
    gbk = work / "gbk.csv"
    gbk.write_bytes("id,text\n1,服务很好\n2,航班延误太糟糕\n".encode("gbk"))
    rows = make_rows(5, seed=3)
    folder = work / "keep-rows"
    folder.mkdir()
    source = write_csv(folder / "input.csv", rows)
    before = set(folder.iterdir())
    return [
        cli_case(
            "6 cli: train a recipe saved as UTF-16 with a BOM",
            "exit 0 (read) or exit 2",
            ["train", str(utf16), "--quiet"],
            {0, 2},
            120,
        ),
        cli_case(
            "6 cli: predict with non-UTF-8 argv bytes",
            "exit 0 or exit 2",
            ["predict", str(bundle), b"good \xff\xfe flight \xc3"],
            {0, 2},
            60,
        ),
        cli_case(
            "6 cli: --set value with control characters",
            "exit 2, nothing echoed raw",
            ["train", str(plain), "--quiet", "--set", "train.epochs=1\x1b[2J\x07"],
            {2},
            60,
            _no_control_echo,
        ),
        cli_case(
            "6 cli: serve --port 99999",
            "exit 2",
            ["serve", str(bundle), "--no-auth", "--port", "99999"],
            {2},
            40,
        ),
        cli_case(
            "6 cli: predict --input on a GBK CSV",
            "exit 2, hint names gb18030",
            ["predict", str(bundle), "--input", str(gbk)],
            {2},
            60,
            _names_gb18030,
        ),
        cli_case(
            "6 cli: predict --input without --output",
            "exit 0, rows printed or written",
            ["predict", str(bundle), "--input", str(source)],
            {0},
            60,
            _rows_kept(folder, before, [r["text"] for r in rows]),
            cwd=folder,
        ),
        cli_case(
            "6 cli: predict a 100 KB text (table view)",
            "exit 0 within 20 s",
            ["predict", str(bundle), "good " * 20_000],
            {0},
            20,
        ),
    ]


def stale_tmp_case(model: Path, work: Path) -> Outcome:
    """A ``.NAME.tmp-*`` folder left by a killed write is removed by the next write of NAME."""
    parent = work / "stale"
    parent.mkdir()
    stale = parent / ".bundle.tmp-killed"
    stale.mkdir()
    (stale / "half-written.bin").write_bytes(b"\0" * 1024)
    old = time.time() - 2 * 86400
    os.utime(stale, (old, old))
    recipe = write_recipe(work / "recipe-stale.yaml", tiny_recipe(model, work, parent / "bundle"))

    def cleaned(result: CliResult) -> tuple[bool, str]:
        return (
            not stale.exists(),
            "stale folder removed" if not stale.exists() else "stale folder left",
        )

    return cli_case(
        "6 cli: stale .NAME.tmp-* folder on the next write",
        "exit 0, stale folder removed",
        ["train", str(recipe), "--quiet"],
        {0},
        120,
        cleaned,
    )


def private_mode_cases(files: dict[str, Path]) -> list[Outcome]:
    """Audit logs and registry databases are readable by their owner only."""
    outcomes = []
    for label, path in files.items():
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
        got = f"{mode:04o}" if mode is not None else "missing"
        outcomes.append(Outcome(f"6 cli: {label} file mode", "0600", got, mode == 0o600))
    return outcomes
