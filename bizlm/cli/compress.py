"""The ``bizlm export``, ``bizlm distill`` and ``bizlm bench`` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bizlm.bundle import read_bundle_info
from bizlm.cli.options import JsonOption
from bizlm.cli.output import err, out
from bizlm.compress.bench_bundles import bench_bundles, bench_table
from bizlm.compress.distill import DistillOptions
from bizlm.compress.distill import distill as run_distillation
from bizlm.compress.export import ExportResult, export_bundle
from bizlm.compress.gguf_parity import gguf_parity_line, gguf_rejection
from bizlm.compress.options import ExportOptions, parse_prune
from bizlm.compress.parity import parity_line, rejection
from bizlm.progress import Reporter, RichReporter

QuietOption = Annotated[bool, typer.Option(help="No progress bars.")]


def _reporter(quiet: bool):

    return Reporter() if quiet else RichReporter(err)


def export(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory to export.")],
    format_: Annotated[
        str,
        typer.Option(
            "--format", help="torch, onnx, or gguf (generate bundles, for llama.cpp and Ollama)."
        ),
    ],
    quantize: Annotated[
        str,
        typer.Option(
            help="none, dynamic-int8, static-int8 (onnx) or bf16 (torch); "
            "gguf: f16 (none), f32, q8_0 or q4_k_m (needs llama-cpp-python)."
        ),
    ] = "none",
    prune: Annotated[
        list[str] | None,
        typer.Option(help="heads=FRACTION, heads=COUNT (per layer) or magnitude=FRACTION."),
    ] = None,
    recover_epochs: Annotated[int, typer.Option(min=0, help="Fine-tune epochs after pruning.")] = 0,
    recover_lr: Annotated[float, typer.Option(help="Learning rate of the recovery.")] = 3e-5,
    calibration_size: Annotated[
        int | None, typer.Option(help="Training texts that calibrate static-int8 [default: 200].")
    ] = None,
    parity_size: Annotated[
        int | None,
        typer.Option(help="Validation texts of the parity check (default 500; gguf: 32 prompts)."),
    ] = None,
    prompt: Annotated[
        list[str] | None,
        typer.Option(help="gguf: a prompt of the parity check (repeatable; default: validation)."),
    ] = None,
    max_drop: Annotated[
        float, typer.Option(help="Largest allowed validation macro-F1 drop, in points.")
    ] = 1.0,
    output: Annotated[Path | None, typer.Option(help="Bundle directory to write.")] = None,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Prune, quantise and convert a bundle into a new one, checked against the original."""
    options = ExportOptions(
        format=format_,  # type: ignore[arg-type]
        quantize=quantize,  # type: ignore[arg-type]
        prune=tuple(parse_prune(spec) for spec in prune or []),
        recover_epochs=recover_epochs,
        recover_learning_rate=recover_lr,
        calibration_size=calibration_size,
        parity_size=parity_size,
        max_drop=max_drop,
        output=output,
        prompts=tuple(prompt or []),
    )
    result = export_bundle(bundle, options, _reporter(quiet or as_json), raise_on_reject=False)
    if options.format == "gguf":
        _print_gguf(result, as_json)
        return
    info = result.info
    metrics = info.metrics
    if as_json:
        keys = {"runtime", "compression", "parity", "rejected"}
        payload = {"bundle": str(result.bundle), **info.model_dump(include=keys)}
        payload["metrics"] = {k: metrics[k] for k in ("evaluated_on", "accuracy", "macro_f1")}
        out.print_json(json.dumps(payload, default=str))
    else:
        out.print(f"bundle: {result.bundle} (runtime {info.runtime})")
        out.print(parity_line(result.parity))
        out.print(
            f"{metrics['evaluated_on']}: accuracy {metrics['accuracy']:.4f}  "
            f"macro-F1 {metrics['macro_f1']:.4f}  (n={metrics['n']})"
        )
    if info.rejected:
        raise rejection(result.parity, result.bundle, bool(info.compression["prune"]))


def _print_gguf(result: ExportResult, as_json: bool) -> None:
    info = result.info
    if as_json:
        keys = {"runtime", "compression", "parity", "rejected"}
        payload = {"bundle": str(result.bundle), **info.model_dump(include=keys)}
        out.print_json(json.dumps(payload, default=str))
    else:
        gguf = info.compression["gguf"]
        size = info.compression["files"][gguf["file"]] / 1e6
        out.print(f"bundle: {result.bundle} (runtime {info.runtime})")
        out.print(
            f"{gguf['file']}: {info.compression['quantize']}, {size:.1f} MB, "
            f"pre-tokenizer {gguf['pre_tokenizer']}; Ollama: cd {result.bundle} && "
            "ollama create NAME -f Modelfile"
        )
        out.print(gguf_parity_line(result.parity))
    if info.rejected:
        raise gguf_rejection(result.parity, result.bundle)


def distill(
    teacher: Annotated[Path, typer.Argument(help="Teacher bundle directory.")],
    output: Annotated[Path, typer.Option(help="Student bundle directory to write.")],
    student_layers: Annotated[
        int | None, typer.Option(help="Keep the first N layers (of the teacher or --student).")
    ] = None,
    student: Annotated[
        str | None, typer.Option(help="Student backbone: alias, folder or hub id.")
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs.")] = 3,
    temperature: Annotated[float, typer.Option(help="Softening temperature T.")] = 2.0,
    alpha: Annotated[float, typer.Option(help="Weight of the soft-label loss (0..1).")] = 0.5,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate.")] = 1e-4,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Batch size (default: the recipe's).")
    ] = None,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Train a smaller student on a teacher bundle's soft labels; write a normal bundle."""
    options = DistillOptions(
        student_layers=student_layers,
        student=student,
        epochs=epochs,
        temperature=temperature,
        alpha=alpha,
        learning_rate=learning_rate,
        batch_size=batch_size,
    )
    bundle = run_distillation(teacher, output, options, _reporter(quiet or as_json))
    info = read_bundle_info(bundle)
    metrics = info.metrics
    if as_json:
        payload = {"bundle": str(bundle), "distillation": info.distillation}
        payload["metrics"] = {k: metrics[k] for k in ("evaluated_on", "accuracy", "macro_f1")}
        out.print_json(json.dumps(payload, default=str))
        return
    layers = (info.distillation or {})["student_layers"]
    out.print(f"bundle: {bundle} ({layers}-layer student of {teacher})")
    out.print(
        f"{metrics['evaluated_on']}: accuracy {metrics['accuracy']:.4f}  "
        f"macro-F1 {metrics['macro_f1']:.4f}  (n={metrics['n']})"
    )


def bench(
    bundles: Annotated[list[Path], typer.Argument(help="Bundle directories to compare.")],
    data: Annotated[
        Path | None, typer.Option(help="Labelled file to score on (default: the test split).")
    ] = None,
    latency_texts: Annotated[
        int, typer.Option(min=1, help="Single-text predictions timed for latency.")
    ] = 100,
    repeats: Annotated[int, typer.Option(min=1, help="Timing rounds; the best is kept.")] = 1,
    as_json: JsonOption = False,
) -> None:
    """Size, load time, latency, throughput, peak memory and macro-F1 of bundles, side by side."""
    results = bench_bundles(bundles, data, latency_texts, repeats)
    if as_json:
        out.print_json(json.dumps(results))
        return
    out.print(bench_table(results))
