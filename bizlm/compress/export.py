"""``bizlm export``: prune, quantise and convert a bundle, check parity, write a new bundle."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizlm.bundle import write_bundle
from bizlm.bundle_info import BundleInfo
from bizlm.compress.artifacts import describe_model_files, write_model
from bizlm.compress.export_docs import write_documents
from bizlm.compress.finetune import labelled_features, recover
from bizlm.compress.gguf_export import export_gguf
from bizlm.compress.gguf_parity import gguf_rejection
from bizlm.compress.options import DEFAULT_CALIBRATION, ExportOptions, check_options
from bizlm.compress.parity import measure_parity, rejection
from bizlm.compress.prune import (
    describe_pruning,
    magnitude_prune,
    make_permanent,
    prune_heads,
)
from bizlm.compress.runtimes import open_runtime
from bizlm.compress.source import SourceModel, bundle_data, load_source, sample_rows
from bizlm.errors import BizlmError
from bizlm.metrics.classification import classification_metrics
from bizlm.ngram_model import NGRAM_DIR
from bizlm.predictor import Predictor, load
from bizlm.progress import Reporter
from bizlm.training.prepare import PreparedData

IMPORTANCE_SAMPLE = 1000  # validation texts used to rank attention heads
KEPT_KEYS = {
    "task",
    "labels",
    "recipe",
    "backbone",
    "data",
    "training",
    "merged",
    "calibration",
    "blend",
}


@dataclass
class ExportResult:
    """Where the exported bundle went and what its ``bizlm.json`` says."""

    bundle: Path
    info: BundleInfo

    @property
    def parity(self) -> dict[str, Any]:
        """The parity numbers (agreement, probability difference, macro-F1 change)."""
        return self.info.parity or {}


def default_output(source: Path, options: ExportOptions) -> Path:
    """``<source>-<format>[-<quantize>][-<prune>...]`` beside the source bundle (gguf:
    always with its type, f16 by default)."""
    parts = [source.name, options.format]
    if options.quantize != "none":
        parts.append(options.quantize)
    elif options.format == "gguf":
        parts.append("f16")
    parts += [f"{step.kind}{step.amount:g}" for step in options.prune]
    return source.parent / "-".join(parts)


def export_bundle(
    source: str | Path,
    options: ExportOptions,
    reporter: Reporter | None = None,
    raise_on_reject: bool = True,
) -> ExportResult:
    """Export ``source`` as ``options`` say and write the new bundle.

    When validation macro-F1 drops more than ``options.max_drop`` points the bundle is still
    written, marked ``rejected``, and :class:`~bizlm.compress.parity.ParityError` (exit code 3)
    is raised unless ``raise_on_reject`` is false. ``--format gguf`` writes a generate bundle
    as a GGUF file instead (:mod:`bizlm.compress.gguf_export`), rejected when too few greedy
    answers agree.
    """
    check_options(options)
    reporter = reporter or Reporter()
    source_path = Path(source)
    output = Path(options.output) if options.output else default_output(source_path, options)
    if output.resolve() == source_path.resolve():
        raise BizlmError(
            f"--output {output} is the source bundle itself.", hint="Write to a new folder."
        )
    if options.format == "gguf":
        info = export_gguf(source_path, output, options, reporter)
        if info.rejected and raise_on_reject:
            raise gguf_rejection(info.parity or {}, output)
        return ExportResult(output, info)
    model = load_source(source_path, options.quantize)
    data = bundle_data(model.info)
    calibration = _calibration_texts(options, data, source_path)
    compression = {
        "source": str(source_path),
        "format": options.format,
        "quantize": options.quantize,
        "prune": [step.describe() for step in options.prune],
        "merged_adapter": model.merged_adapter,
        **_prune(model, data, options, reporter),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{output.name}.work-", dir=output.parent) as tmp:
        work, scratch = Path(tmp) / "bundle", Path(tmp) / "scratch"
        scratch.mkdir(parents=True)
        reporter.note(f"writing the {options.format} model")
        heads_pruned = bool(compression["pruned_heads"])
        runtime = write_model(model, options, heads_pruned, calibration, work, scratch)
        if (source_path / NGRAM_DIR).is_dir():  # the n-gram model the source blends in
            shutil.copytree(source_path / NGRAM_DIR, work / NGRAM_DIR)
        info = BundleInfo.model_validate(
            model.info.model_dump(exclude_unset=True, include=KEPT_KEYS)
            | {
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "parent": str(source_path),
                "runtime": runtime,
                "compression": {**compression, "files": describe_model_files(work)},
            }
        )
        candidate = open_runtime(work, info)
        parity = measure_parity(
            load(source_path),
            candidate,
            sample_rows(data.splits["validation"], options.parity_sample),
            options.max_drop,
        )
        info.metrics = _score(candidate, data)
        info.parity = parity
        info.rejected = parity["rejected"]

        def write_contents(staging: Path) -> None:
            for entry in work.iterdir():
                shutil.move(entry, staging / entry.name)
            write_documents(staging, info, source_path, output.name)

        write_bundle(output, info, write_contents)
    if parity["rejected"] and raise_on_reject:
        raise rejection(parity, output, bool(options.prune))
    return ExportResult(output, info)


def _calibration_texts(options: ExportOptions, data: PreparedData, source: Path) -> list[str]:
    if options.quantize != "static-int8":
        return []
    train = data.splits["train"]
    if options.calibration_size is None:
        return sample_rows(train, DEFAULT_CALIBRATION, seed=2).texts
    if options.calibration_size > len(train.texts):
        raise BizlmError(
            f"--calibration-size {options.calibration_size} is larger than the training data "
            f"of {source}'s recipe ({len(train.texts)} texts).",
            hint=f"Use --calibration-size {len(train.texts)} or less.",
        )
    return sample_rows(train, options.calibration_size, seed=2).texts


def _prune(
    source: SourceModel, data: PreparedData, options: ExportOptions, reporter: Reporter
) -> dict[str, Any]:
    """Apply the pruning steps (and the recovery fine-tune) to ``source.model`` in place."""
    earlier = source.info.compression.get("pruned_heads", {})
    pruned = {int(layer): list(heads) for layer, heads in earlier.items()}
    recovery = None
    for step in options.prune:
        reporter.note(f"pruning {step.describe()}")
        if step.kind == "heads":
            rows = sample_rows(data.splits["validation"], IMPORTANCE_SAMPLE, seed=1)
            features = labelled_features(source.tokenizer, rows, data.labels, source.max_length)
            pad_id = int(source.tokenizer.pad_token_id or 0)
            pruned = prune_heads(source.model, features, pad_id, step.amount, pruned)
        else:
            magnitude_prune(source.model, step.amount)
    if options.recover_epochs:
        reporter.note(f"recovery fine-tune: {options.recover_epochs} epoch(s)")
        loop = recover(
            source.model,
            source.tokenizer,
            data,
            source.info,
            options.recover_epochs,
            options.recover_learning_rate,
            reporter,
        )
        recovery = {
            "epochs": options.recover_epochs,
            "learning_rate": options.recover_learning_rate,
            "best": loop.best,
            "history": loop.history,
            "train_seconds": round(loop.train_seconds, 2),
        }
    make_permanent(source.model)
    source.model.eval()
    return {**describe_pruning(source.model, pruned), "recovery": recovery}


def _score(predictor: Predictor, data: PreparedData) -> dict[str, Any]:
    """Metrics of the exported model on the test split (validation when there is none)."""
    split = "test" if data.splits.get("test") and data.splits["test"].texts else "validation"
    rows = data.splits[split]
    gold = [predictor.labels.index(str(label)) for label in rows.targets]
    probabilities = predictor.predict_proba(rows.texts)
    chosen = predictor.choose(probabilities)
    metrics = classification_metrics(gold, probabilities, predictor.labels, chosen)
    return {**metrics, "evaluated_on": split}
